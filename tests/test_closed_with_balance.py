"""A loan the source closes while principal is still owed (docs/decisions/014), on a real warehouse.

The delivery of day 2 closes a loan that has paid nothing towards its balance. The loan stays in day 2's
snapshot (closed, owing its principal), leaves the book on day 3, and day 3's reconciliation counts the
amount as the explained movement closed_with_balance: the gate passes and
marts.fct_loans_closed_with_balance lists the loan with the amount.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

START = dt.date(2026, 5, 1)
DAY2, DAY3 = START + dt.timedelta(days=1), START + dt.timedelta(days=2)


def _loan_ids(folder: Path, entity: str) -> set[str]:
    with (folder / f"{entity}.csv").open(encoding="utf-8", newline="") as handle:
        return {row["loan_id"] for row in csv.DictReader(handle)}


def _close_in_delivery(folder: Path, loan_row: dict[str, str]) -> None:
    """Append a version of the loan saying `closed` to the delivery's loans.csv and fix its manifest."""
    path = folder / "loans.csv"
    header = path.read_bytes().split(b"\r\n", 1)[0].decode().split(",")
    closed = {**loan_row, "status": "closed", "closed_on": DAY2.isoformat(), "updated_at": f"{DAY2}T20:00:00+08:00"}
    line = io.StringIO()
    csv.writer(line, lineterminator="\r\n").writerow([closed[name] for name in header])
    with path.open("ab") as handle:
        handle.write(line.getvalue().encode())
    manifest_path = folder / "_manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        if entry["entity"] == "loans":
            entry["rows"] += 1
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")


@pytest.mark.slow
def test_a_loan_closed_owing_principal_is_an_explained_exception(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.checks import run_checks
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.transform import build

    landing = arrears_home / "landing"
    generate(loans=300, start=START, days=3, seed=14, out=landing, inject_faults=0.0)
    ingest_delivery(START, landing)
    build(START)
    # A current loan untouched by days 2 and 3 (no payment, no new version): its balance stays as on day 1.
    busy = set().union(*(_loan_ids(landing / str(day), e) for day in (DAY2, DAY3) for e in ("loans", "payments")))
    candidates = conn.execute(
        "select loan_id, outstanding_principal from marts.fct_loan_delinquency_daily "
        "where business_date = %s and loan_status = 'active' and stage = 'current' and outstanding_principal > 0 "
        "order by loan_id",
        (START,),
    ).fetchall()
    loan_id, owed = next((loan, amount) for loan, amount in candidates if loan not in busy)
    with (landing / str(START) / "loans.csv").open(encoding="utf-8", newline="") as handle:
        loan_row = next(row for row in csv.DictReader(handle) if row["loan_id"] == loan_id)
    _close_in_delivery(landing / str(DAY2), loan_row)

    outcomes = {}
    for night in (DAY2, DAY3):
        ingest_delivery(night, landing)
        build(night)
        outcomes[night] = run_checks(night)

    assert conn.execute(
        "select loan_status, outstanding_principal from marts.fct_loan_delinquency_daily "
        "where business_date = %s and loan_id = %s",
        (DAY2, loan_id),
    ).fetchone() == ("closed", owed)
    assert conn.execute(
        "select count(*) from marts.fct_loan_delinquency_daily where business_date = %s and loan_id = %s",
        (DAY3, loan_id),
    ).fetchone() == (0,)
    listed = conn.execute(
        "select business_date, loan_id, movement, closed_on, closure_delivered_on, outstanding_principal "
        "from marts.fct_loans_closed_with_balance"
    ).fetchall()
    assert listed == [(DAY3, loan_id, "closed_with_balance", DAY2, DAY2, owed)]
    assert owed > Decimal("0")
    for night, outcome in outcomes.items():
        assert outcome.success, (night, outcome.summary())
    # The explanation is the movement the gate counted: without it day 3 would be off by exactly `owed`.
    reconciled = conn.execute(
        "select success from audit.dq_results where business_date = %s and expectation = 'principal_reconciles'",
        (DAY3,),
    ).fetchall()
    assert reconciled == [(True,)]
