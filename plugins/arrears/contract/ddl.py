"""DDL derived from the contract: the typed landing tables the loader writes and dbt reads.

Each `raw.<entity>` / `pii.<entity>` is partitioned by `_business_date`, one partition per delivered
date (`<schema>.<entity>__<yyyymmdd>`). The loader creates a date's partition as a plain table in
its own transaction, loads it without indexes (with `wal_level=minimal` a relation created or
truncated in the transaction skips the WAL), builds its key index and attaches it; a reload
truncates the partition instead of deleting its rows. See docs/decisions/011-ingest-fast-path.md.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from arrears.contract import LINEAGE_COLUMNS, Entity, load_contract

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)


def column_definitions(entity: Entity) -> list[str]:
    """The typed table's columns: the contract's, then the lineage columns."""
    columns = [f"{column.name} {column.sql_type}" for column in entity.columns]
    columns += [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS.items()]
    return columns


def raw_table_ddl(entity: Entity) -> list[str]:
    """CREATE statement of the (partitioned) typed table of one entity, and the contract's later columns
    added to a table created before them (idempotent)."""
    columns = column_definitions(entity)
    added = ", ".join(f"add column if not exists {column.name} {column.sql_type}" for column in entity.columns)
    return [
        f"create table if not exists {entity.raw_table} (\n    "
        + ",\n    ".join(columns)
        + "\n) partition by list (_business_date)",
        f"alter table {entity.raw_table} {added}",
    ]


def all_raw_ddl() -> list[str]:
    """DDL for every entity of the contract, in contract order."""
    statements: list[str] = []
    for entity in load_contract().entities.values():
        statements += raw_table_ddl(entity)
    return statements


def partition_name(entity: Entity, business_date: dt.date) -> str:
    """The unqualified name of an entity's partition for one business date."""
    return f"{entity.name}__{business_date:%Y%m%d}"


def partition_table(entity: Entity, business_date: dt.date) -> str:
    """The schema-qualified partition of one business date."""
    return f"{entity.raw_schema}.{partition_name(entity, business_date)}"


def key_index_name(entity: Entity, business_date: dt.date) -> str:
    return f"{partition_name(entity, business_date)}_key"


def create_partition_ddl(entity: Entity, business_date: dt.date) -> str:
    """A date's partition as a stand-alone table (attached after it is loaded and indexed).

    The CHECK constraint, valid from the start on the empty table, proves the partition bound, so
    ATTACH does not scan the rows; the defaults fill the lineage columns COPY does not send.
    """
    day = f"'{business_date.isoformat()}'::date"
    return (
        f"create table {partition_table(entity, business_date)} (like {entity.raw_table} including defaults, "
        f"constraint {partition_name(entity, business_date)}_date check (_business_date = {day}))"
    )


def key_index_ddl(entity: Entity, business_date: dt.date, unique: bool) -> str:
    """The partition's key index (unique when the loader knows the keys are canonical and distinct)."""
    kind = "unique index" if unique else "index"
    return (
        f"create {kind} {key_index_name(entity, business_date)} "
        f"on {partition_table(entity, business_date)} ({', '.join(entity.key)})"
    )


def attach_partition_ddl(entity: Entity, business_date: dt.date) -> str:
    """ATTACH takes only a SHARE UPDATE EXCLUSIVE lock on the parent: readers are not blocked."""
    return (
        f"alter table {entity.raw_table} attach partition {partition_table(entity, business_date)} "
        f"for values in ('{business_date.isoformat()}')"
    )


def migrate_to_partitions(conn: psycopg.Connection) -> list[str]:
    """Turn typed tables created before partitioning (plain tables) into partitioned ones, keeping
    every row; returns the migrated tables. Runs inside `arrears db init`'s transaction."""
    migrated: list[str] = []
    for entity in load_contract().entities.values():
        found = conn.execute(
            "select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relname = %s",
            (entity.raw_schema, entity.name),
        ).fetchone()
        if found is None or found[0] != "r":
            continue
        old = f"{entity.raw_schema}.{entity.name}__unpartitioned"
        conn.execute(f"alter table {entity.raw_table} rename to {entity.name}__unpartitioned")
        for suffix in ("business_date_idx", "key_idx"):  # index names are per schema: free them
            conn.execute(f"drop index if exists {entity.raw_schema}.{entity.name}_{suffix}")
        for statement in raw_table_ddl(entity):
            conn.execute(statement)
        names = ", ".join([*entity.column_names, *LINEAGE_COLUMNS])
        dates = [row[0] for row in conn.execute(f"select distinct _business_date from {old} order by 1").fetchall()]
        for business_date in dates:
            conn.execute(create_partition_ddl(entity, business_date))
            conn.execute(
                f"insert into {partition_table(entity, business_date)} ({names}) "
                f"select {names} from {old} where _business_date = %s",
                (business_date,),
            )
            conn.execute(key_index_ddl(entity, business_date, unique=False))
            conn.execute(attach_partition_ddl(entity, business_date))
        # dbt's staging views still read the old table (a view follows its table through a rename):
        # they go with it, and the next `arrears build` recreates them on the partitioned table.
        views = [
            row[0]
            for row in conn.execute(
                "select distinct dependent.oid::regclass::text from pg_depend d "
                "join pg_rewrite r on r.oid = d.objid join pg_class dependent on dependent.oid = r.ev_class "
                "where d.refobjid = %s::regclass and dependent.oid <> d.refobjid order by 1",
                (old,),
            ).fetchall()
        ]
        conn.execute(f"drop table {old} cascade")
        if views:
            log.warning(
                "%s is partitioned now; dropped the views that read the old table (%s) and their dependants: "
                "the next `arrears build` recreates them",
                entity.raw_table,
                ", ".join(views),
            )
        migrated.append(entity.raw_table)
    return migrated


def ensure_partition(conn: psycopg.Connection, entity: Entity | str, business_date: dt.date) -> str:
    """The date's partition, created empty (indexed, attached) when missing; returns its name.

    The loader makes its own partitions; this is for code that writes typed rows directly
    (tests, benchmarks, a hand-made correction).
    """
    if isinstance(entity, str):
        entity = load_contract().entity(entity)
    table = partition_table(entity, business_date)
    found = conn.execute("select to_regclass(%s)", (table,)).fetchone()
    if not (found and found[0]):
        conn.execute(create_partition_ddl(entity, business_date))
        conn.execute(key_index_ddl(entity, business_date, unique=False))
        conn.execute(attach_partition_ddl(entity, business_date))
    return table
