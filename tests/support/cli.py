"""Running the `arrears` command the way a user does: a real subprocess, its output captured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, env: dict[str, str] | None = None, check: bool = False, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run the installed `arrears` command as a user would, in a subprocess."""
    result = subprocess.run(
        [sys.executable, "-m", "arrears.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO_ROOT,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"arrears {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result
