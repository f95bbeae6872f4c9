"""docs/landing-contract.md, generated from landing.yml (a test keeps the committed file in step).

Regenerate: .venv/bin/python -m arrears.contract.docs
"""

from __future__ import annotations

from pathlib import Path

from arrears.contract import CHECKS, Column, Entity, load_contract
from arrears.settings import REPO_ROOT

DOC_FILE = REPO_ROOT / "docs" / "landing-contract.md"


def _rules(column: Column) -> str:
    rules = []
    if column.required:
        rules.append("required")
    if column.allowed:
        rules.append("one of " + ", ".join(f"`{value}`" for value in column.allowed))
    if column.check:
        rules.append(f"{column.check}: {CHECKS.get(column.check, '')}".rstrip(": "))
    if column.default:
        rules.append(f"default `{column.default}`")
    if column.pii:
        rules.append("PII")
    if column.optional:
        rules.append("optional: added later, older sources leave it out of the header (loads as NULL)")
    return "; ".join(rules)


def _entity(entity: Entity) -> list[str]:
    key = ", ".join(f"`{name}`" for name in entity.key)
    lines = [
        f"### {entity.name} ({entity.kind}, key {key})",
        "",
        entity.description,
        "",
        f"Loaded into `{entity.raw_table}`.",
        "",
        "| column | type | rules | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| {c.name} | {c.type} | {_rules(c)} | {c.doc} |" for c in entity.columns]
    return [*lines, ""]


def render_landing_contract_md() -> str:
    """The Markdown reference of the landing contract as the loader enforces it."""
    contract = load_contract()
    lines = [
        "# Landing contract (generated)",
        "",
        "<!-- GENERATED from plugins/arrears/contract/landing.yml by arrears.contract.docs: do not edit. -->",
        "",
        "What each nightly delivery may contain, as the loader (`arrears ingest`) enforces it. The prose",
        "contract with the source systems is [specs/landing-contract.md](specs/landing-contract.md); the",
        "reasons a row is quarantined are listed by `arrears.ingest.REASONS`.",
        "",
        f"- Contract version {contract.version}; timestamps without an offset are in `{contract.source_timezone}`;",
        f"  default currency `{contract.default_currency}`.",
        "- `team_id`: " + ", ".join(f"`{team}`" for team in contract.team_ids) + ", or `agency:<name>`.",
        "- Amounts: `-?digits[.d[d]]`, no thousands separators. Dates `YYYY-MM-DD`. Empty field = NULL.",
        "- Every typed table also carries `_business_date`, `_file`, `_line` and `_loaded_at`, and is",
        "  partitioned by `_business_date` (one partition per delivered date).",
        "",
        "## Entities",
        "",
    ]
    for entity in contract.entities.values():
        lines += _entity(entity)
    return "\n".join(lines)


def write_landing_contract_md(path: Path = DOC_FILE) -> Path:
    """Write the generated reference."""
    path.write_text(render_landing_contract_md(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write_landing_contract_md()}")
