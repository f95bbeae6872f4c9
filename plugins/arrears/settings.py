"""Where things live. Every path derives from $ARREARS_HOME so that two homes never share state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = Path(os.environ.get("ARREARS_DBT_PROJECT_DIR", REPO_ROOT / "dbt_project"))
EXPECTATIONS_DIR = Path(os.environ.get("ARREARS_EXPECTATIONS_DIR", REPO_ROOT / "expectations"))
CONFIG_DIR = Path(__file__).resolve().parent / "config"

DEFAULT_SOURCE_TIMEZONE = "Asia/Shanghai"

# The nightly's DAGs, in the order their Assets link them (dags/collections_*.py). `arrears nightly` runs
# them in this order; the run report links to each.
NIGHTLY_DAG_CHAIN = ("collections_nightly", "collections_transform", "collections_check", "collections_export")


@dataclass(frozen=True)
class Paths:
    """The folders of one arrears home."""

    home: Path

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def landing(self) -> Path:
        return Path(os.environ.get("ARREARS_LANDING", self.home / "landing"))

    @property
    def exports(self) -> Path:
        return self.home / "exports"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def gx_dir(self) -> Path:
        return self.home / "gx"

    @property
    def dbt_target(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def dbt_logs(self) -> Path:
        return self.home / "dbt" / "logs"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def hash_key_file(self) -> Path:
        """The export hashing key when ARREARS_HASH_KEY is unset (the demo writes one; docs/security.md)."""
        return self.home / "hash-key"


DEFAULT_HOME = REPO_ROOT / ".arrears"  # the same folder `make` uses, whatever the current folder


def arrears_home() -> Path:
    """$ARREARS_HOME (made absolute so child processes agree on it), default <repository>/.arrears."""
    configured = os.environ.get("ARREARS_HOME")
    return Path(configured).resolve() if configured else DEFAULT_HOME


def paths() -> Paths:
    """The paths of the current home."""
    return Paths(arrears_home())


def source_timezone() -> str:
    """Time zone of timestamps delivered without an offset (landing contract: Encoding)."""
    return os.environ.get("ARREARS_SOURCE_TZ", DEFAULT_SOURCE_TIMEZONE)
