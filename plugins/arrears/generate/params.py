"""The simulator's behaviour parameters, read from `behaviour.yml` (one place a reader can tune them)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path(__file__).with_name("behaviour.yml")


@cache
def load_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """Parse `behaviour.yml` (cached)."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data
