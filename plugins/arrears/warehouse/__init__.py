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


def warehouse_url(start: bool = True) -> str:
    """The libpq URL every component uses (loader, dbt profile, GX, exports)."""
    configured = external_url()
    if configured:
        return configured
    return embedded.start(paths()) if start else embedded.url(paths())


# Warehouses this process has already brought to the current schema (init is idempotent but not free).
_initialised: set[str] = set()


def connect(autocommit: bool = False) -> psycopg.Connection:
    """A new connection to the warehouse, starting the embedded one and creating the schema if needed.

    So every command works on a brand-new warehouse without a separate `arrears db init`.
    """
    import psycopg

    from arrears.errors import ArrearsError

    target = warehouse_url()
    try:
        conn = psycopg.connect(target, autocommit=autocommit, application_name="arrears")
    except psycopg.OperationalError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ArrearsError(f"cannot connect to the warehouse: {first_line}") from err
    if target not in _initialised:
        from arrears.warehouse.schema import init_schema

        init_schema(conn)
        _initialised.add(target)
    return conn
