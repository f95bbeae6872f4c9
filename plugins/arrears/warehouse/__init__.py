"""The warehouse: the embedded PostgreSQL by default, or any PostgreSQL named by ARREARS_WAREHOUSE_URL."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from arrears.settings import paths
from arrears.warehouse import embedded

if TYPE_CHECKING:
    import psycopg


def external_url() -> str | None:
    """ARREARS_WAREHOUSE_URL when set: then the embedded server is never started."""
    return os.environ.get("ARREARS_WAREHOUSE_URL") or None


def require_warehouse() -> None:
    """Commands that only read never create a warehouse: refuse when this home has none (and none is configured)."""
    if external_url():
        return
    home = paths()
    if not embedded.exists(home):
        from arrears.errors import ArrearsError

        raise ArrearsError(f"no warehouse at {home.warehouse_dir}; run `arrears db init` or set ARREARS_HOME")


def warehouse_url(start: bool = True) -> str:
    """The libpq URL every component uses (loader, dbt profile, GX, exports).

    On the embedded default that is the arrears_pipeline role, never the superuser: with `start`,
    the server is started and (once per process) initialised as the superuser — roles, schema,
    grants — so the role exists before anyone connects as it.
    """
    configured = external_url()
    if configured:
        return configured
    home = paths()
    if start:
        embedded.start(home)
        initialise()
    return embedded.pipeline_url(home)


def admin_url(start: bool = True) -> str:
    """A URL allowed to create roles and databases: the embedded superuser, or ARREARS_WAREHOUSE_URL."""
    configured = external_url()
    if configured:
        return configured
    return embedded.start(paths()) if start else embedded.url(paths())


# Warehouses this process has already brought to the current schema (init is idempotent but not free).
_initialised: set[str] = set()


def initialise(force: bool = False) -> None:
    """Bring the warehouse to the current schema (roles, tables, grants), connected as its administrator.

    Once per process and warehouse unless `force` (`arrears db init`), and only when the schema the
    warehouse records differs from this code's: DDL run beside a running night can deadlock with it.
    """
    from arrears.warehouse.schema import ensure_schema, init_schema

    target = warehouse_url(start=False)
    if target in _initialised and not force:
        return
    with _open(admin_url(start=False), autocommit=True) as conn:
        if force:
            init_schema(conn)
        else:
            ensure_schema(conn)
    _initialised.add(target)


def _open(url: str, autocommit: bool) -> psycopg.Connection:
    """psycopg.connect with a one-line error instead of a driver traceback."""
    import psycopg

    from arrears.errors import ArrearsError

    try:
        return psycopg.connect(url, autocommit=autocommit, application_name="arrears")
    except psycopg.OperationalError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ArrearsError(f"cannot connect to the warehouse: {first_line}") from err


def connect(autocommit: bool = False) -> psycopg.Connection:
    """A new connection to the warehouse, starting the embedded one and creating the schema if needed.

    So every command works on a brand-new warehouse without a separate `arrears db init`.
    """
    target = warehouse_url()
    initialise()
    return _open(target, autocommit)
