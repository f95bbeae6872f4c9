"""The delinquency snapshot agrees with an independent Python implementation of §3-4, loan by loan and date by date.

A seeded portfolio with partial payments, prepayments, reversals, backdated deliveries,
redelivered events, corrected schedule rows, restructures, write-offs and closures is written
to raw.*; the real dbt project builds several business dates in order, and every row of
marts.fct_loan_delinquency_daily must equal tests/reference_dpd.py's answer for that date.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import psycopg
import pytest

from tests.reference_dpd import LoanState, snapshot
from tests.test_delinquency_support import random_portfolio

START = date(2026, 3, 1)
DAYS = 40
# Spread over the delivery window: month ends, instalment due dates, the nights after late deliveries.
# A night whose D-1 is not built recomputes every loan; the eight consecutive nights around the month
# end carry forward every loan that cannot have changed (stg_loans_to_recompute), so both paths are
# checked against the reference.
CONSECUTIVE_NIGHTS = [START + timedelta(days=day) for day in range(24, 32)]
BUILD_DATES = [START, START + timedelta(days=9), *CONSECUTIVE_NIGHTS, START + timedelta(days=39)]
COLUMNS = [
    "loan_id",
    "dpd",
    "bucket",
    "stage",
    "regulatory_class",
    "overdue_principal",
    "overdue_interest",
    "overdue_fee",
    "overdue_amount",
    "outstanding_principal",
    "oldest_unpaid_due_date",
]


def _mart_rows(conn: psycopg.Connection, day: date) -> dict[str, tuple[Any, ...]]:
    rows = conn.execute(
        f"select {', '.join(COLUMNS)} from marts.fct_loan_delinquency_daily where business_date = %s", (day,)
    ).fetchall()
    return {row[0]: tuple(row) for row in rows}


def _expected_rows(expected: dict[str, LoanState]) -> dict[str, tuple[Any, ...]]:
    return {loan_id: tuple(getattr(state, c) for c in COLUMNS) for loan_id, state in expected.items()}


@pytest.mark.slow
def test_snapshot_matches_reference_on_every_loan_and_date(conn: psycopg.Connection) -> None:
    from arrears.transform import build

    raw = random_portfolio(seed=20260301, loans=60, start=START, days=DAYS)
    raw.insert(conn)

    carried_nights = 0
    for day in BUILD_DATES:
        build(day, select=["+fct_loan_delinquency_daily"])
        expected = _expected_rows(snapshot(raw.loans, raw.installments, raw.payments, day))
        actual = _mart_rows(conn, day)
        recomputed = conn.execute("select count(*) from staging.stg_loans_to_recompute").fetchone()[0]
        carried_nights += recomputed < len(actual)
        assert actual.keys() == expected.keys(), f"loans differ on {day}"
        mismatches = {k: (actual[k], expected[k]) for k in expected if actual[k] != expected[k]}
        assert not mismatches, f"{len(mismatches)} loans differ on {day}: {list(mismatches.items())[:3]}"

    # The consecutive nights really carried loans forward (and the others recomputed every loan).
    assert carried_nights == len(CONSECUTIVE_NIGHTS) - 1
    # The portfolio really exercises the rules (a vacuous agreement would prove nothing).
    stages = {row[0] for row in conn.execute("select distinct stage from marts.fct_loan_delinquency_daily")}
    assert {"current", "early", "written_off"} <= stages, stages
    assert conn.execute("select max(dpd) from marts.fct_loan_delinquency_daily").fetchone()[0] > 30


@pytest.mark.slow
def test_rebuilding_a_past_date_after_later_deliveries_gives_the_same_rows(conn: psycopg.Connection) -> None:
    from arrears.transform import build

    raw = random_portfolio(seed=7, loans=40, start=START, days=DAYS)
    raw.insert(conn)
    past = START + timedelta(days=9)
    build(past, select=["+fct_loan_delinquency_daily"])
    first_night = _mart_rows(conn, past)
    build(START + timedelta(days=30), select=["+fct_loan_delinquency_daily"])
    build(past, select=["+fct_loan_delinquency_daily"])
    assert _mart_rows(conn, past) == first_night
    # Later deliveries did change later snapshots (otherwise the check above is empty).
    late = [p for p in raw.payments if p["_business_date"] > past and p["value_date"] <= past]
    assert late, "the portfolio should contain payments backdated before the past date"
