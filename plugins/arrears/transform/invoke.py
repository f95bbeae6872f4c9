"""Run one dbt command in-process against the warehouse, with this home's target and log paths."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from arrears.errors import ArrearsError
from arrears.settings import DBT_PROJECT_DIR, paths

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult

# dbt keeps global state (flags, adapters, the connection env vars): one invocation at a time per process.
_DBT_LOCK = threading.Lock()
# The business date reaches the models through the environment, not --vars: a var that changes nightly
# makes dbt re-parse the whole project (~10 s a night), an environment variable read only while
# executing does not (macro business_date(), decision 003). dbt copies DBT_ENV_CUSTOM_ENV_* variables into
# its artifacts' metadata, so run_results.json still says which date it built.
BUSINESS_DATE_ENV = "DBT_ENV_CUSTOM_ENV_ARREARS_BUSINESS_DATE"


class DbtInvocationError(ArrearsError):
    """dbt itself could not run (bad project, unreachable warehouse), as opposed to a failed model."""


def connection_env(url: str) -> dict[str, str]:
    """The ARREARS_DBT_* variables profiles.yml reads, taken from a libpq URL."""
    parts = urlsplit(url)
    return {
        "ARREARS_DBT_HOST": parts.hostname or "127.0.0.1",
        "ARREARS_DBT_PORT": str(parts.port or 5432),
        "ARREARS_DBT_USER": unquote(parts.username or "postgres"),
        "ARREARS_DBT_PASSWORD": unquote(parts.password or ""),
        "ARREARS_DBT_DBNAME": unquote(parts.path.lstrip("/") or "postgres"),
    }


@contextlib.contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for the duration of one dbt call, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous


def _target_environment(url: str | None) -> dict[str, str]:
    """The profile's variables: the Spark target's under ARREARS_ENGINE=spark, else the PostgreSQL warehouse's."""
    from arrears.spark.session import dbt_environment, engine

    if engine() == "spark":
        return dbt_environment()
    from arrears.warehouse import warehouse_url

    return connection_env(url or warehouse_url())


def project_args() -> list[str]:
    """The arguments every dbt command gets: the project, its profile and this home's target/log paths."""
    home_paths = paths()
    return [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(home_paths.dbt_target),
        "--log-path",
        str(home_paths.dbt_logs),
    ]


def dbt_invoke(args: list[str], url: str | None = None, business_date: date | None = None) -> dbtRunnerResult:
    """Run `dbt <args>` in-process against the warehouse (default: arrears.warehouse.warehouse_url()).

    The project, profiles, target and log paths are added here, so callers pass only the
    command and its own options, e.g. `dbt_invoke(["docs", "generate"])`; business_date, when given,
    is the D the models compute. Returns dbt's result; raises DbtInvocationError when dbt could not
    run at all (its exception, one line).
    """
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import reset_metadata_vars

    home_paths = paths()
    home_paths.dbt_target.mkdir(parents=True, exist_ok=True)
    home_paths.dbt_logs.mkdir(parents=True, exist_ok=True)
    command = [*args, *project_args()]
    environment: dict[str, str | None] = {
        **_target_environment(url),
        BUSINESS_DATE_ENV: business_date.isoformat() if business_date else None,
    }
    with _DBT_LOCK, _environment(environment):
        reset_metadata_vars()  # dbt caches the DBT_ENV_CUSTOM_ENV_* variables once per process
        result = dbtRunner().invoke(command)
    if result.exception is not None:
        first_line = (str(result.exception).strip().splitlines() or [type(result.exception).__name__])[0]
        raise DbtInvocationError(f"dbt {args[0] if args else ''} could not run: {first_line}")
    return result
