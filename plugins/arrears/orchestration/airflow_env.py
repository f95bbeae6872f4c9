"""Airflow's configuration for an arrears home: its own AIRFLOW_HOME and SQLite metadata DB under $ARREARS_HOME,
our dags/ and plugins/, no examples. Set before Airflow is imported (Airflow reads it at import)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from arrears.errors import ArrearsError
from arrears.settings import REPO_ROOT, Paths, paths

DAGS_DIR = REPO_ROOT / "dags"
PLUGINS_DIR = REPO_ROOT / "plugins"


def airflow_environment(home: Paths | None = None) -> dict[str, str]:
    """Environment variables that point Airflow at this home (only the unset ones are applied)."""
    home = home or paths()
    airflow_home = home.airflow_home
    return {
        "ARREARS_HOME": str(home.home),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
    }


def apply_airflow_environment(home: Paths | None = None) -> dict[str, str]:
    """Put this home's Airflow settings into os.environ (explicit user settings win)."""
    env = airflow_environment(home)
    for key, value in env.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in env}


def ensure_airflow_db(home: Paths | None = None) -> Path:
    """Create/upgrade the metadata DB once per home (`airflow db migrate`, ~5 s); returns its path."""
    env = {**os.environ, **apply_airflow_environment(home)}
    airflow_home = Path(env["AIRFLOW_HOME"])
    marker = airflow_home / ".migrated"
    if marker.exists():
        return airflow_home
    airflow_home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ArrearsError(f"airflow db migrate failed: {tail[0]}")
    marker.write_text("ok\n")
    return airflow_home
