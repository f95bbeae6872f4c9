"""The Python layers are kept by import-linter (`.importlinter`, run by `make lint`), not by memory.

Each test copies the package, adds one import a newcomer might write, and expects lint-imports to refuse it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(package_root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_root)}  # the copy shadows the installed package
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(REPO_ROOT / ".importlinter"), "--no-cache"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture()
def package_copy(tmp_path: Path) -> Path:
    source = REPO_ROOT / "plugins" / "arrears"
    shutil.copytree(source, tmp_path / "arrears", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_shipped_code_keeps_every_contract(package_copy: Path) -> None:
    result = _lint_imports(package_copy)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_backward_import_fails_the_lint(package_copy: Path) -> None:
    # The warehouse layer must not know about the jobs above it.
    with open(package_copy / "arrears" / "warehouse" / "locks.py", "a", encoding="utf-8") as module:
        module.write("\nfrom arrears.export import export_all  # noqa: E402,F401\n")
    result = _lint_imports(package_copy)
    assert result.returncode != 0
    assert "arrears.warehouse is not allowed to import arrears.export" in result.stdout


def test_a_new_cycle_between_sibling_modules_fails_the_lint(package_copy: Path) -> None:
    # prefilter is imported by direct_copy; importing it back closes a cycle inside arrears.ingest.
    with open(package_copy / "arrears" / "ingest" / "prefilter.py", "a", encoding="utf-8") as module:
        module.write("\nfrom arrears.ingest import direct_copy  # noqa: E402,F401\n")
    result = _lint_imports(package_copy)
    assert result.returncode != 0
    assert "No cycles are allowed in arrears.ingest" in result.stdout
