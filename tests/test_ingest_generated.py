"""Files generated from the landing contract are committed in step with it."""

from __future__ import annotations

import yaml

from arrears.contract import load_contract
from arrears.contract.docs import DOC_FILE, render_landing_contract_md
from arrears.ingest.sources_yml import SOURCES_FILE, render_sources_yml


def test_dbt_sources_file_is_generated_from_the_contract() -> None:
    assert SOURCES_FILE.read_text(encoding="utf-8") == render_sources_yml(), (
        "regenerate: .venv/bin/python -m arrears.ingest.sources_yml"
    )


def test_dbt_sources_cover_every_entity_with_freshness() -> None:
    sources = {source["name"]: source for source in yaml.safe_load(render_sources_yml())["sources"]}
    assert set(sources) == {"raw", "pii"}
    for entity in load_contract().entities.values():
        source = sources[entity.raw_schema]
        assert source["schema"] == entity.raw_schema
        assert source["config"]["loaded_at_field"] == "_loaded_at"
        assert source["config"]["freshness"]["warn_after"] == {"count": 30, "period": "hour"}
        assert source["config"]["freshness"]["error_after"] == {"count": 48, "period": "hour"}
        table = next(table for table in source["tables"] if table["name"] == entity.name)
        columns = {column["name"]: column["description"] for column in table["columns"]}
        assert set(entity.column_names) | {"_business_date", "_file", "_line", "_loaded_at"} <= set(columns)
        assert all(columns[name] for name in entity.column_names)
    assert "PII" in next(t for t in sources["pii"]["tables"] if t["name"] == "borrowers")["columns"][1]["description"]


def test_landing_contract_doc_is_generated_from_the_contract() -> None:
    assert DOC_FILE.read_text(encoding="utf-8") == render_landing_contract_md(), (
        "regenerate: .venv/bin/python -m arrears.contract.docs"
    )
    for entity in load_contract().entities:
        assert f"### {entity} (" in DOC_FILE.read_text(encoding="utf-8")
