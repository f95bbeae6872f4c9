"""A hand-written delivery of values at the edges of the landing contract (tests/test_spark_engine.py).

The contract's spellings of each type, quoting, line breaks inside fields, a gzipped and a Parquet file, an
event redelivered with other content: between them they hit every quarantine reason in EDGE_REASONS, so
both engines' landings are compared on each reason, not only on the ones the simulator injects.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

from tests.support.ingest_files import Delivery, row

EDGE_REASONS = {
    "bad_type",
    "duplicate_key_in_file",
    "event_conflict",
    "invalid_encoding",
    "invalid_national_id",
    "invalid_phone",
    "key_too_long",
    "malformed_row",
    "missing_required",
    "not_allowed",
    "out_of_range",
}


def clean_payments(landing: Path, day: dt.date) -> list[dict[str, str]]:
    """Two payments the simulator delivered on `day` and did not make faulty (to redeliver on the edge day)."""
    truth = Path(str(landing) + "_truth") / "faults.csv"
    with truth.open(encoding="utf-8") as handle:
        faulty = {
            int(f["line_no"])
            for f in csv.DictReader(handle)
            if f["entity"] == "payments" and f["business_date"] == day.isoformat()
        }
    with (landing / day.isoformat() / "payments.csv").open(encoding="utf-8", errors="replace", newline="") as handle:
        clean = [payment for line, payment in enumerate(csv.DictReader(handle), start=2) if line not in faulty]
    assert len(clean) >= 2, f"too few clean payments on {day}"
    return clean[:2]


def write_edge_day(landing: Path, day: dt.date, earlier_payments: list[dict[str, str]]) -> None:
    """A day of values at the edges of the contract's rules, one entity file each (`earlier_payments`: two
    payments delivered before: one redelivered unchanged, one with another amount)."""
    delivery = Delivery(landing, day)
    updated = "2026-11-03T10:00:00+08:00"
    delivery.add(
        "borrowers",
        [
            row("borrowers", updated_at=updated),
            row("borrowers", borrower_id="B2", national_id="110105194912310021"),
            row("borrowers", borrower_id="B3", mobile_phone="13912345678\n"),
            row("borrowers", borrower_id="B4", birth_date="2026-02-29"),
            row("borrowers", borrower_id="B5", birth_date="0000-01-01"),
            row("borrowers", borrower_id="B6", full_name='Li, "Lee"', updated_at="2026\\11"),
            row("borrowers", borrower_id="B" * 201),
            row("borrowers", borrower_id="B8", full_name=""),
            row("borrowers", borrower_id="B8"),
            row("borrowers", borrower_id="B9", address="line one\r\nline two", updated_at="2026-11-03 10:00"),
            row("borrowers", borrower_id="B10", updated_at="2026-11-03T10:00:00.123456Z"),
            row("borrowers", borrower_id="B11", updated_at="2026-11-03T10:00:00+0530"),
            row("borrowers", borrower_id="B12", updated_at="2026-11-03T10:00-08"),
            row("borrowers", borrower_id="B13", updated_at="2026-11-03T25:00:00"),
            row("borrowers", borrower_id="B14", national_id=""),
        ],
    )
    is_valid = [" TRUE ", "on", "of", "o", "yes", "0", "maybe", "T", "n"]
    contact_points = [row("contact_points", contact_point_id=f"C{n}", is_valid=v) for n, v in enumerate(is_valid)]
    contact_points.append(row("contact_points", contact_point_id="C99", kind="Own_mobile"))
    delivery.add("contact_points", contact_points)
    principals = ["0", "-5.00", "1,000.00", "12.345", "00012.5", "99999999999999999", "9999999999999999.99"]
    rates = ["-.5", ".5", "0.1234567", "1e3", "5-", "999999.9999995"]
    terms = ["1.5", "007", "2147483648", "-0", "+3"]
    loans = [row("loans", loan_id=f"L{n}", principal=v) for n, v in enumerate(principals)]
    loans += [row("loans", loan_id=f"R{n}", annual_rate=v) for n, v in enumerate(rates)]
    loans += [row("loans", loan_id=f"T{n}", term_months=v) for n, v in enumerate(terms)]
    loans.append(row("loans", loan_id="S1", status="ACTIVE"))
    delivery.add("loans", loans, fmt="csv.gz")
    same, changed = earlier_payments
    redelivered = {**changed, "amount": str(Decimal(changed["amount"]) + 1)}
    delivery.add(
        "payments",
        [
            same,  # the same event again: a harmless duplicate, loaded
            redelivered,
            row("payments", payment_id="P2", received_at="2026-11-03T09:30:00+08", amount="0.01"),
            row("payments", payment_id="P3", amount="0.00"),
        ],
        header=list(same),
    )
    teams = ["agency:north", "agency:", "agency:a\nb", "late", "legal"]
    actions = [row("collection_actions", action_id=f"A{n}", team_id=v) for n, v in enumerate(teams)]
    actions.append(row("collection_actions", action_id="A9", collectors_present="-1"))
    delivery.add("collection_actions", actions)
    delivery.add(
        "legal_cases", [row("legal_cases"), row("legal_cases", case_id="K2", claim_amount="-1")], fmt="parquet"
    )
    header = b"restriction_id,borrower_id,kind,channel,effective_from,effective_to,updated_at"
    stamp = updated.encode()
    lines = [
        b"X1,B1,do_not_contact,sms,2026-11-01,," + stamp,
        b'X2,B1,do_not_contact,"sms,call",2026-11-01,,' + stamp + b",extra",
        b"X3,B1,do_not_contact,sms,2026-11-01",
        b"X4,B\xff\xfe1,dispute,,2026-11-01,," + stamp,
        b"X5,B1,dispute,,2026-11-01,," + stamp,
    ]
    content = b"".join(line + b"\r\n" for line in [header, *lines])
    delivery.add_bytes("restrictions", "restrictions.csv", content, len(lines))
    delivery.write_manifest()
