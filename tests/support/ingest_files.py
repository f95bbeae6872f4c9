"""Building small landing deliveries inside ingestion tests: files plus a correct manifest.

Independent of the simulator on purpose: each test states exactly the bytes it delivers.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
from pathlib import Path

DAY = dt.date(2026, 11, 21)

# One valid row per entity (national IDs are the GB 11643 standard's own worked examples).
GOOD_ROWS: dict[str, dict[str, str]] = {
    "borrowers": {
        "borrower_id": "B1",
        "full_name": "张三",
        "national_id": "11010519491231002X",
        "mobile_phone": "13912345678",
        "email": "zhang@example.com",
        "province": "北京",
        "city": "北京",
        "address": "朝阳区 1 号",
        "birth_date": "1949-12-31",
        "updated_at": "2026-11-21T10:00:00+08:00",
    },
    "contact_points": {
        "contact_point_id": "C1",
        "borrower_id": "B1",
        "kind": "own_mobile",
        "relationship": "",
        "phone": "13912345678",
        "is_valid": "true",
        "updated_at": "2026-11-21T10:00:00+08:00",
    },
    "loans": {
        "loan_id": "L1",
        "borrower_id": "B1",
        "product_code": "cash_loan",
        "principal": "12000.00",
        "currency": "CNY",
        "annual_rate": "0.1800",
        "term_months": "12",
        "disbursed_on": "2026-01-15",
        "status": "active",
        "closed_on": "",
        "written_off_on": "",
        "updated_at": "2026-11-21T10:00:00+08:00",
    },
    "installments": {
        "loan_id": "L1",
        "schedule_version": "1",
        "effective_from": "2026-01-15",
        "installment_no": "1",
        "due_date": "2026-02-15",
        "principal_due": "1000.00",
        "interest_due": "180.00",
        "fee_due": "0",
        "updated_at": "2026-11-21T10:00:00+08:00",
    },
    "payments": {
        "payment_id": "P1",
        "loan_id": "L1",
        "received_at": "2026-11-21 09:30:00",
        "value_date": "2026-11-21",
        "amount": "1180.5",
        "channel": "alipay",
        "reversal_of": "",
    },
    "collection_actions": {
        "action_id": "A1",
        "loan_id": "L1",
        "borrower_id": "B1",
        "contact_point_id": "C1",
        "action_at": "2026-11-21T11:00:00+08:00",
        "channel": "call",
        "direction": "outbound",
        "team_id": "early",
        "agent_id": "agent-7",
        "outcome": "promise_to_pay",
        "promised_amount": "500.00",
        "promised_date": "2026-11-25",
        "collectors_present": "",
    },
    "arrangements": {
        "arrangement_id": "R1",
        "loan_id": "L1",
        "kind": "repayment_plan",
        "agreed_on": "2026-11-20",
        "status": "active",
        "new_schedule_version": "",
        "updated_at": "2026-11-21T10:00:00+08:00",
    },
    "restrictions": {
        "restriction_id": "X1",
        "borrower_id": "B1",
        "kind": "do_not_contact",
        "channel": "sms",
        "effective_from": "2026-11-01",
        "effective_to": "",
        "updated_at": "2026-11-21T10:00:00+08:00",
    },
    "legal_cases": {
        "case_id": "K1",
        "loan_id": "L1",
        "status": "referred",
        "opened_on": "2026-11-10",
        "court": "",
        "claim_amount": "11000.00",
        "judgment_amount": "",
        "updated_at": "2026-11-21T10:00:00+08:00",
    },
}


def row(entity: str, **changes: str) -> dict[str, str]:
    """A valid row of the entity with some fields changed."""
    return {**GOOD_ROWS[entity], **changes}


def csv_bytes(rows: list[dict[str, str]], header: list[str]) -> bytes:
    """RFC 4180 CSV with a header, as a source system would write it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for record in rows:
        writer.writerow([record.get(name, "") for name in header])
    return buffer.getvalue().encode("utf-8")


def parquet_bytes(rows: list[dict[str, str]], header: list[str]) -> bytes:
    """A Parquet file of string columns (empty strings as nulls)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({name: pa.array([r.get(name) or None for r in rows], pa.string()) for name in header})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


class Delivery:
    """One business date's folder under a landing root, written file by file, manifest last."""

    def __init__(self, landing: Path, business_date: dt.date = DAY) -> None:
        self.landing = landing
        self.business_date = business_date
        self.folder = landing / business_date.isoformat()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.entries: list[dict[str, object]] = []

    def add(
        self,
        entity: str,
        rows: list[dict[str, str]],
        fmt: str = "csv",
        header: list[str] | None = None,
    ) -> Delivery:
        """Write the entity's file from rows (header = the good row's columns) and list it."""
        columns = header or list(GOOD_ROWS[entity])
        if fmt == "parquet":
            content = parquet_bytes(rows, columns)
        else:
            content = csv_bytes(rows, columns)
            if fmt == "csv.gz":
                content = gzip.compress(content)
        return self.add_bytes(entity, f"{entity}.{fmt}", content, len(rows))

    def add_bytes(self, entity: str, name: str, content: bytes, rows: int) -> Delivery:
        """Write exact bytes and list them with their true checksum and the stated row count."""
        (self.folder / name).write_bytes(content)
        self.entries.append(
            {"entity": entity, "file": name, "rows": rows, "sha256": hashlib.sha256(content).hexdigest()}
        )
        return self

    def write_manifest(self, **overrides: object) -> Path:
        """Write `_manifest.json` (last, as the contract says); overrides replace top-level keys."""
        document = {
            "business_date": self.business_date.isoformat(),
            "source_system": "core-lending",
            "extracted_at": "2026-11-22T01:05:00+08:00",
            "files": self.entries,
            **overrides,
        }
        path = self.folder / "_manifest.json"
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        return path
