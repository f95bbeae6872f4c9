"""The collection score is point in time (business rules §10): D's features and scores use only what was
delivered up to D, so a later delivery that carries changes about the past does not move them.

A simulated book is built for nights D-1 and D with an active (hand-written) scorecard. D's rows of the
features, the scores and the work queue's score columns are recorded. Then D+1's delivery lands, carrying,
besides the simulator's own rows, changes dated before D that were not known at D: a back-dated payment on a
past-due loan, a reversal of a payment D counted, a right-party contact and a promise to pay made on D-1 and
a call made on D (both delivered late), a loan version that changes the product, a borrower version, the
borrower's own numbers marked invalid, and a do-not-contact restriction in force since D-2. D+1 is built and
D is rerun the way the nightly reruns a date (its own delivery ingested again, then built): D's rows must be
identical, as stored text, to what they were. D+1's rows must show the changes (else the test proves nothing).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.slow

FIRST = dt.date(2026, 3, 1)
D = dt.date(2026, 3, 6)  # the night whose features and scores must not move
LATER = D + dt.timedelta(days=1)  # the delivery that carries changes about the past
LOANS = 300
VERSION = "hand-written.1"

FEATURES = "intermediate.int_score_features_daily"
SCORES = "intermediate.int_loan_scores_daily"
QUEUE_SCORE_COLUMNS = "business_date, loan_id, team_id, scorecard_version, score_probability"


def _stored_rows(conn: psycopg.Connection, relation: str, columns: str = "*") -> list[str]:
    """D's rows as the warehouse's own text (numeric scale included), in loan order."""
    query = (
        f"select cast(night as text) from (select {columns} from {relation} "
        "where business_date = %s) as night order by loan_id"
    )
    return [row[0] for row in conn.execute(query, (D,)).fetchall()]


def _night_of_d(conn: psycopg.Connection) -> dict[str, list[str]]:
    return {
        "features": _stored_rows(conn, FEATURES),
        "scores": _stored_rows(conn, SCORES),
        "queue": _stored_rows(conn, "marts.fct_work_queue", QUEUE_SCORE_COLUMNS),
    }


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _latest(landing: Path, entity: str, key: str, value: str) -> dict[str, str]:
    """The latest delivered row of a record (by updated_at) in the landing folders up to D."""
    found = [
        row
        for folder in sorted(landing.iterdir())
        if folder.name <= D.isoformat()
        for row in _read(folder / f"{entity}.csv")[1]
        if row[key] == value
    ]
    assert found, f"no {entity} row {value} delivered by {D}"
    return max(found, key=lambda row: row["updated_at"])


def _append(folder: Path, additions: dict[str, list[dict[str, str]]]) -> None:
    """Append rows to the delivery's files and rewrite its manifest (row counts and checksums)."""
    manifest_path = folder / "_manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        rows = additions.get(entry["entity"])
        if not rows:
            continue
        path = folder / entry["file"]
        header, existing = _read(path)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(existing + [{name: row.get(name, "") for name in header} for row in rows])
        content = buffer.getvalue().encode("utf-8")
        path.write_bytes(content)
        entry["rows"] = len(existing) + len(rows)
        entry["sha256"] = hashlib.sha256(content).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _at(day: dt.date, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00+08:00"


def _changes_about_the_past(conn: psycopg.Connection, landing: Path) -> tuple[dict[str, list[dict]], dict[str, str]]:
    """Rows for D+1's delivery that change what D's loans looked like before D, and the loans they touch."""
    in_d = f"select loan_id, borrower_id from {FEATURES} where business_date = %s"
    past_due = conn.execute(f"{in_d} and dpd > 0 order by loan_id limit 1", (D,)).fetchone()
    current = conn.execute(f"{in_d} and dpd = 0 and is_lost_contact = 0 order by loan_id", (D,)).fetchall()
    paid = conn.execute(
        "select payments.payment_id, payments.loan_id, payments.amount from stored.stored_payments as payments"
        f" inner join {FEATURES} as features on features.loan_id = payments.loan_id and features.business_date = %s"
        " where payments.delivered_on <= %s and payments.reversal_of is null and payments.value_date < %s"
        " and features.loan_id <> %s order by payments.value_date desc, payments.payment_id",
        (D, D, D, past_due[0] if past_due else ""),
    ).fetchall()
    # A loan the simulator's own D+1 delivery does not pay, so the reversal alone moves its net paid.
    paid_later = {row["loan_id"] for row in _read(landing / LATER.isoformat() / "payments.csv")[1]}
    paid = next((row for row in paid if row[1] not in paid_later), None)
    assert past_due is not None and len(current) >= 3 and paid is not None, "the book is too small to test"
    overdue = conn.execute(
        "select overdue_amount from intermediate.int_loan_delinquency_daily where business_date = %s and loan_id = %s",
        (D, past_due[0]),
    ).fetchone()
    contacted, product_changed, unreachable = current[0], current[1], current[2]
    number = _own_number(landing, contacted[1])
    loan = _latest(landing, "loans", "loan_id", product_changed[0])
    other_product = "cash_loan" if loan["product_code"] != "cash_loan" else "installment_purchase"
    borrower = _latest(landing, "borrowers", "borrower_id", unreachable[1])
    own_numbers = [
        _latest(landing, "contact_points", "contact_point_id", point_id)
        for point_id in _own_numbers(landing, unreachable[1])
    ]
    before_d = D - dt.timedelta(days=1)
    call = {
        "loan_id": contacted[0], "borrower_id": contacted[1], "contact_point_id": number, "channel": "call",
        "direction": "outbound", "team_id": "early", "agent_id": "AG-LATE",
    }  # fmt: skip
    additions: dict[str, list[dict]] = {
        "payments": [
            {"payment_id": "LATE-PAYMENT", "loan_id": past_due[0], "received_at": _at(before_d, 10),
             "value_date": before_d.isoformat(), "amount": str(overdue[0] if overdue else "100.00"),
             "channel": "bank_transfer"},
            {"payment_id": "LATE-REVERSAL", "loan_id": paid[1], "received_at": _at(before_d, 11),
             "value_date": before_d.isoformat(), "amount": str(paid[2]), "channel": "bank_transfer",
             "reversal_of": paid[0]},
        ],
        "collection_actions": [
            {**call, "action_id": "LATE-RPC", "action_at": _at(before_d, 10), "outcome": "right_party_contact"},
            {**call, "action_id": "LATE-PTP", "action_at": _at(before_d, 11), "outcome": "promise_to_pay",
             "promised_amount": "50.00", "promised_date": (D + dt.timedelta(days=3)).isoformat()},
            {**call, "action_id": "LATE-CALL-ON-D", "action_at": _at(D, 15), "outcome": "right_party_contact"},
        ],
        "loans": [{**loan, "product_code": other_product, "updated_at": _at(before_d, 9)}],
        "borrowers": [{**borrower, "address": "a later address", "updated_at": _at(before_d, 9)}],
        "contact_points": [{**point, "is_valid": "false", "updated_at": _at(before_d, 9)} for point in own_numbers],
        "restrictions": [
            {"restriction_id": "LATE-DNC", "borrower_id": contacted[1], "kind": "do_not_contact",
             "effective_from": (D - dt.timedelta(days=2)).isoformat(), "updated_at": _at(before_d, 9)},
        ],
    }  # fmt: skip
    touched = {
        "paid": past_due[0],
        "reversed": paid[1],
        "contacted": contacted[0],
        "product_changed": product_changed[0],
        "unreachable": unreachable[0],
        "other_product": other_product,
    }
    return additions, touched


def _own_numbers(landing: Path, borrower_id: str) -> list[str]:
    return sorted(
        {
            row["contact_point_id"]
            for folder in sorted(landing.iterdir())
            if folder.name <= D.isoformat()
            for row in _read(folder / "contact_points.csv")[1]
            if row["borrower_id"] == borrower_id and row["kind"].startswith("own_")
        }
    )


def _own_number(landing: Path, borrower_id: str) -> str:
    numbers = _own_numbers(landing, borrower_id)
    assert numbers, f"borrower {borrower_id} has no own number"
    return numbers[0]


def _feature_row(conn: psycopg.Connection, night: dt.date, loan_id: str) -> dict[str, object]:
    cursor = conn.execute(f"select * from {FEATURES} where business_date = %s and loan_id = %s", (night, loan_id))
    row = cursor.fetchone()
    assert row is not None, f"{loan_id} not in the features of {night}"
    return dict(zip([column.name for column in cursor.description or []], row, strict=True))


def test_a_later_delivery_about_the_past_does_not_move_d_features_or_scores(
    warehouse_url: str, arrears_home: Path
) -> None:
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.score import activate
    from arrears.score.train import _store
    from arrears.transform import build
    from tests.support.scorecards import hand_written_scorecard

    landing = arrears_home / "landing"
    generate(loans=LOANS, start=FIRST, days=(LATER - FIRST).days + 1, seed=24, out=landing)
    report, card = hand_written_scorecard(VERSION, FIRST)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        _store(conn, report, card)
    activate(VERSION, effective_from=FIRST, activated_by="point-in-time test")
    for day in range((D - FIRST).days + 1):
        ingest_delivery(FIRST + dt.timedelta(days=day), landing)
    build(D - dt.timedelta(days=1))
    build(D)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        before = _night_of_d(conn)
        additions, touched = _changes_about_the_past(conn, landing)
        as_at_d = {name: _feature_row(conn, D, loan_id) for name, loan_id in touched.items() if name != "other_product"}
    assert len(before["scores"]) == len(before["features"]) > LOANS // 2
    assert len(before["queue"]) > 0 and all(VERSION in row for row in before["queue"])

    _append(landing / LATER.isoformat(), additions)
    ingest_delivery(LATER, landing)
    build(LATER)
    ingest_delivery(D, landing)  # the nightly's rerun of D: its own delivery again, then the build
    build(D)

    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        after = _night_of_d(conn)
        at_later = {name: _feature_row(conn, LATER, touched[name]) for name in as_at_d}
        wrong = conn.execute(
            f"select count(*) from {SCORES} where business_date = %s and scorecard_version <> %s", (LATER, VERSION)
        ).fetchone()
    # The guard: D+1 knows the changes, so a leak into D would show.
    assert wrong == (0,)
    assert at_later["paid"]["net_paid"] > as_at_d["paid"]["net_paid"]
    assert at_later["reversed"]["net_paid"] < as_at_d["reversed"]["net_paid"]
    assert at_later["contacted"]["promises_made"] == as_at_d["contacted"]["promises_made"] + 1
    assert at_later["contacted"]["rpc_30d"] >= as_at_d["contacted"]["rpc_30d"] + 2
    assert at_later["contacted"]["last_rpc_on"] == D
    assert at_later["product_changed"]["product_code"] == touched["other_product"]
    assert at_later["unreachable"]["is_lost_contact"] == 1 and as_at_d["unreachable"]["is_lost_contact"] == 0
    # The rule: D's rows are what they were, to the last digit.
    for name in ("features", "scores", "queue"):
        changed = sorted(set(before[name]) ^ set(after[name]))
        assert after[name] == before[name], f"{name} of {D} moved: {changed[:6]}"
