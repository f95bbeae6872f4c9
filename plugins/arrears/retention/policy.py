"""The retention periods, read from config/retention.yml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from arrears.errors import ArrearsError
from arrears.settings import CONFIG_DIR

RETENTION_FILE = CONFIG_DIR / "retention.yml"


@dataclass(frozen=True)
class RetentionPolicy:
    """How long personal data of closed loans (years) and export folders (days) are kept."""

    closed_loan_years: int
    export_days: int


def _positive(data: dict[str, object], key: str, path: Path) -> int:
    value = data.get(key)
    # bool is an int in Python: `closed_loan_years: yes` is a typo, not one year.
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ArrearsError(f"{path.name}: {key} must be a whole number > 0, got {value!r}")
    return value


def load_retention_policy(path: Path = RETENTION_FILE) -> RetentionPolicy:
    """The retention policy of retention.yml; a missing or non-positive period is a clear error."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ArrearsError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict):
        raise ArrearsError(f"{path.name}: expected a mapping of settings")
    return RetentionPolicy(
        closed_loan_years=_positive(data, "closed_loan_years", path),
        export_days=_positive(data, "export_days", path),
    )
