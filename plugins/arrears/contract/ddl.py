"""DDL derived from the contract: the typed landing tables the loader writes and dbt reads."""

from __future__ import annotations

from arrears.contract import LINEAGE_COLUMNS, Entity, load_contract


def raw_table_ddl(entity: Entity) -> list[str]:
    """CREATE statements for the typed table of one entity and its indexes (idempotent)."""
    columns = [f"{column.name} {column.sql_type}" for column in entity.columns]
    columns += [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS.items()]
    if entity.is_event:
        # md5 of the delivered fields (lineage); the loader compares typed values for conflicts.
        columns.append("_content_hash text not null")
    key = ", ".join(entity.key)
    return [
        f"create table if not exists {entity.raw_table} (\n    " + ",\n    ".join(columns) + "\n)",
        f"create index if not exists {entity.name}_business_date_idx on {entity.raw_table} (_business_date)",
        f"create index if not exists {entity.name}_key_idx on {entity.raw_table} ({key})",
    ]


def all_raw_ddl() -> list[str]:
    """DDL for every entity of the contract, in contract order."""
    statements: list[str] = []
    for entity in load_contract().entities.values():
        statements += raw_table_ddl(entity)
    return statements
