"""dbt's `__sources.yml`, generated from the landing contract (never hand-edited).

Sources `raw` and `pii` (schemas of the same names), one table per entity with its column
descriptions, and freshness on the load timestamp `_loaded_at`. A test asserts the committed
file equals `render_sources_yml()`; regenerate with `python -m arrears.ingest.sources_yml`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from arrears.contract import Column, Entity, load_contract
from arrears.settings import DBT_PROJECT_DIR

SOURCES_FILE = DBT_PROJECT_DIR / "models" / "staging" / "__sources.yml"
FRESHNESS = {"warn_after": {"count": 30, "period": "hour"}, "error_after": {"count": 48, "period": "hour"}}
SOURCE_DESCRIPTIONS = {
    "raw": "Typed landing tables: every delivered row that passed validation, every version kept, with lineage.",
    "pii": "Typed landing tables of entities carrying personal data (least privilege: only the pii role reads them).",
}
LINEAGE_DOCS = {
    "_business_date": "Business date of the delivery that brought the row.",
    "_file": "Delivered file the row came from.",
    "_line": "Line of the record in that file (the header is line 1).",
    "_loaded_at": "When the loader committed the row (freshness is measured on it).",
}
HEADER = (
    "# GENERATED from plugins/arrears/contract/landing.yml by arrears.ingest.sources_yml: do not edit.\n"
    "# Regenerate: .venv/bin/python -m arrears.ingest.sources_yml\n"
)


def _column_description(column: Column) -> str:
    facts = [column.type]
    if column.required:
        facts.append("required")
    if column.allowed:
        facts.append("one of " + ", ".join(column.allowed))
    if column.pii:
        facts.append("PII")
    return f"{column.doc} [{'; '.join(facts)}]".strip()


def _table(entity: Entity) -> dict[str, Any]:
    key = ", ".join(entity.key)
    columns = [{"name": column.name, "description": _column_description(column)} for column in entity.columns]
    columns += [{"name": name, "description": description} for name, description in LINEAGE_DOCS.items()]
    return {
        "name": entity.name,
        "description": f"{entity.description} {entity.kind.capitalize()} entity, key ({key}).",
        "columns": columns,
    }


def render_sources_yml() -> str:
    """The text of dbt_project/models/staging/__sources.yml for the current contract."""
    contract = load_contract()
    sources = []
    for schema in ("raw", "pii"):
        tables = [_table(entity) for entity in contract.entities.values() if entity.raw_schema == schema]
        sources.append(
            {
                "name": schema,
                "schema": schema,
                "description": SOURCE_DESCRIPTIONS[schema],
                # A copy per source: a shared dict would be written as a YAML anchor and alias.
                "config": {"loaded_at_field": "_loaded_at", "freshness": copy.deepcopy(FRESHNESS)},
                "tables": tables,
            }
        )
    body = yaml.safe_dump(
        {"version": 2, "sources": sources}, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False
    )
    return HEADER + body


def write_sources_yml(path: Path = SOURCES_FILE) -> Path:
    """Write the generated file (used after changing the contract)."""
    path.write_text(render_sources_yml(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write_sources_yml()}")
