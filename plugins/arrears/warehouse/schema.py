"""`arrears db init`: the schemas and tables the pipeline owns. Idempotent; other commands re-apply it
only when its fingerprint changed (decision 038)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from arrears.contract.ddl import all_raw_ddl, migrate_to_partitions
from arrears.warehouse import roles
from arrears.warehouse.roles import SCHEMAS, apply_access_policies
from arrears.warehouse.score_tables import SCORE_DDL

if TYPE_CHECKING:
    import psycopg

# SQL functions the loader's validation statement calls (national-ID checksum, CSV quoting).
INGEST_FUNCTIONS_SQL = Path(__file__).resolve().parents[1] / "ingest" / "functions.sql"

AUDIT_DDL = [
    """create table if not exists audit.batches (
        business_date date primary key,
        status text not null,
        manifest jsonb not null,
        rows_loaded bigint not null,
        rows_quarantined bigint not null,
        loaded_at timestamptz not null default now()
    )""",
    """create table if not exists audit.quarantine (
        business_date date not null,
        entity text not null,
        file text not null,
        line_no integer not null,
        raw_row text,
        reason text not null,   -- a code from arrears.ingest.REASONS, e.g. bad_type
        detail text,            -- the column and value that failed, for the source team
        loaded_at timestamptz not null default now()
    )""",
    "create index if not exists quarantine_business_date_idx on audit.quarantine (business_date, entity)",
    """create table if not exists audit.dq_results (
        run_id text not null,
        business_date date not null,
        suite text not null,
        expectation text not null,
        success boolean not null,
        observed_value text,
        checked_at timestamptz not null default now()
    )""",
    "create index if not exists dq_results_business_date_idx on audit.dq_results (business_date, suite)",
    """create table if not exists audit.exports (
        recipient text not null,
        business_date date not null,
        file text not null,
        rows bigint not null,
        sha256 text not null,
        dq_run_id text,
        exported_at timestamptz not null default now(),
        primary key (recipient, business_date, file)
    )""",
    # The business date each carried-forward dbt model (int_promises_to_pay, int_contact_point_recent_calls)
    # was last built for, written in the model's own transaction (macro record_night_built): a rerun or a
    # backfill of an older date carries forward from it instead of recomputing every row (decision 016).
    """create table if not exists audit.carried_forward_nights (
        model text primary key,
        business_date date not null
    )""",
    # Nights that are not normal: 'missing' (the gate was asked to pass a date with no loaded delivery) or
    # 'retracted' (a published date taken back by `arrears retract`). The report and `arrears audit` read it;
    # a date with no row here is an ordinary night.
    """create table if not exists audit.night_status (
        business_date date primary key,
        status text not null check (status in ('missing', 'retracted')),
        detail text not null,
        marked_at timestamptz not null default now()
    )""",
    # The SFTP delivery ledger (arrears.deliver): one row per file version pushed; never the same twice.
    """create table if not exists audit.deliveries (
        recipient text not null,
        business_date date not null,
        file text not null,
        sha256 text not null,
        target text not null,
        redelivery boolean not null default false,  -- a changed file for a date already delivered
        delivered_at timestamptz not null default now(),
        primary key (recipient, business_date, file, sha256)
    )""",
]


# What init_schema last applied: a fingerprint of everything it would apply, so a command starting
# while a night runs only reads it instead of re-running DDL and grants beside the night's locks.
SCHEMA_STATE_DDL = """create table if not exists audit.schema_state (
    fingerprint text not null,
    applied_at timestamptz not null default now()
)"""


def schema_fingerprint() -> str:
    """A hash of the DDL, the loader's functions, the team roles and the grant code init_schema applies."""
    parts = [*all_raw_ddl(), *AUDIT_DDL, *SCORE_DDL, SCHEMA_STATE_DDL, INGEST_FUNCTIONS_SQL.read_text(encoding="utf-8")]
    parts.append(repr(roles.load_team_roles()))
    parts.append(Path(roles.__file__).read_text(encoding="utf-8"))
    return hashlib.sha256("\n\x00".join(parts).encode()).hexdigest()


def schema_is_current(conn: psycopg.Connection) -> bool:
    """True when init_schema has applied exactly what it would apply now (reads only, takes no locks)."""
    if conn.execute("select to_regclass('audit.schema_state') is null").fetchone()[0]:  # type: ignore[index]
        return False
    row = conn.execute("select fingerprint from audit.schema_state").fetchone()
    return row is not None and row[0] == schema_fingerprint()


def ensure_schema(conn: psycopg.Connection) -> None:
    """init_schema, unless the warehouse already records exactly this code's schema."""
    if not schema_is_current(conn):
        init_schema(conn)


def init_schema(conn: psycopg.Connection) -> None:
    """Create every schema and table the pipeline needs; safe to run any number of times."""
    with conn.transaction():
        # Serialise concurrent initialisations (two CLI commands starting at once).
        conn.execute("select pg_advisory_xact_lock(hashtext('arrears.init_schema'))")
        for schema in SCHEMAS:
            conn.execute(f"create schema if not exists {schema}")
        # Typed tables from before partitioning by business date become partitioned (rows kept).
        migrate_to_partitions(conn)
        for statement in all_raw_ddl() + AUDIT_DDL + SCORE_DDL:
            conn.execute(statement)
        conn.execute(INGEST_FUNCTIONS_SQL.read_text(encoding="utf-8"))
        conn.execute(SCHEMA_STATE_DDL)
        apply_access_policies(conn)
        conn.execute("delete from audit.schema_state")
        conn.execute("insert into audit.schema_state (fingerprint) values (%s)", (schema_fingerprint(),))
