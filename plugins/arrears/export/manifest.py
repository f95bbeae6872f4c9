"""`_manifest.json`: written last, so its presence means every file it lists is complete."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from arrears.export.config import Recipient
from arrears.export.files import write_atomically
from arrears.export.writers import FileWritten

MANIFEST_NAME = "_manifest.json"


def manifest_document(
    recipient: Recipient,
    business_date: dt.date,
    files: list[FileWritten],
    control_totals: list[tuple[str, int, Decimal]],
    dq_run_id: str,
) -> dict[str, Any]:
    """The manifest's content. No wall-clock time in it: re-exporting a date gives the same bytes."""
    return {
        "recipient": recipient.name,
        "business_date": business_date.isoformat(),
        "schema_version": recipient.schema_version,
        "format": recipient.format,
        "encoding": "utf-8-sig" if recipient.format == "csv" else None,
        "header_language": recipient.header_language,
        "columns": [
            {"name": column.spec.name, "header": column.header(recipient.header_language), "policy": column.policy}
            for column in recipient.columns
        ],
        "files": [{"file": item.path.name, "rows": item.rows, "sha256": item.sha256} for item in files],
        "control_totals": {
            "rows": sum(count for _, count, _ in control_totals),
            "overdue_amount": str(sum((amount for _, _, amount in control_totals), Decimal("0.00"))),
            "rows_per_team": {team: count for team, count, _ in control_totals},
            "overdue_amount_per_team": {team: str(amount) for team, _, amount in control_totals},
        },
        "dq_run_id": dq_run_id,
        "suites": list(recipient.suites),
    }


def write_manifest(folder: Path, document: dict[str, Any]) -> str:
    """Write the manifest atomically (after the data files); returns its SHA-256."""
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return write_atomically(folder / MANIFEST_NAME, text.encode("utf-8"))


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of an export folder, or None when the export never completed."""
    path = folder / MANIFEST_NAME
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
