"""The delinquency snapshot agrees with an independent Python implementation of §3-4, loan by loan and date by date.

A seeded portfolio with partial payments, prepayments, reversals, backdated deliveries,
redelivered events, corrected schedule rows, restructures, write-offs and closures is written
to raw.*; the real dbt project builds several business dates in order, and every row of
marts.fct_loan_delinquency_daily must equal tests/reference_dpd.py's answer for that date.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.support.raw_deliveries import RawDeliveries, random_portfolio
from tests.support.reference_dpd import LoanState, snapshot

START = date(2026, 3, 1)
DAYS = 40
# Spread over the delivery window: month ends, instalment due dates, the nights after late deliveries.
# A night whose D-1 is not built recomputes every loan; the eight consecutive nights around the month
# end carry forward every loan that cannot have changed (int_loans_to_recompute), so both paths are
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
    "next_due_date",
    "oldest_unsettled_due_date",
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
        recomputed = conn.execute("select count(*) from intermediate.int_loans_to_recompute").fetchone()[0]
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


@pytest.mark.slow
def test_money_delivered_before_its_value_date_changes_the_carried_snapshot_on_that_date(
    conn: psycopg.Connection,
) -> None:
    """Nothing else happens to the loan on the value date, so only the scope's value-date rule recomputes it."""
    from arrears.transform import build

    raw = RawDeliveries()
    raw.loan(START, "AHEAD", date(2026, 1, 1))
    raw.installment(START, "AHEAD", 1, START, "100.00", effective_from=date(2026, 1, 1))
    raw.installment(START, "AHEAD", 2, START + timedelta(days=30), "100.00", effective_from=date(2026, 1, 1))
    value_day = START + timedelta(days=5)
    raw.payment(START + timedelta(days=2), "P-AHEAD", "AHEAD", value_day, "100.00")
    raw.insert(conn)

    dpd_and_paid, recomputed = {}, {}
    for offset in range(1, 7):
        day = START + timedelta(days=offset)
        build(day, select=["+fct_loan_delinquency_daily"])
        dpd_and_paid[day] = conn.execute(
            "select dpd, net_paid from marts.fct_loan_delinquency_daily where loan_id = 'AHEAD' and business_date = %s",
            (day,),
        ).fetchone()
        recomputed[day] = conn.execute("select count(*) from intermediate.int_loans_to_recompute").fetchone()[0]

    # Installment 1 (due on START) is late from the next day until the money counts, on its value date.
    day_before = value_day - timedelta(days=1)
    assert dpd_and_paid[day_before] == ((day_before - START).days, Decimal("0.00"))
    assert dpd_and_paid[value_day] == (0, Decimal("100.00"))
    assert dpd_and_paid[value_day + timedelta(days=1)] == (0, Decimal("100.00"))
    # The nights around it carried the loan forward: the value-date rule alone recomputed it.
    assert recomputed[day_before] == 0
    assert recomputed[value_day] == 1


@pytest.mark.slow
def test_yesterdays_loan_versions_are_recomputed_again_only_for_a_closure_without_its_date(
    conn: psycopg.Connection,
) -> None:
    """D-1's snapshot holds every loan version delivered on D-1; only a closure without its date changes the
    loan again on D (it closes on its delivery day and leaves the day after, §4). So the first delivery is
    computed on night 1 and carried on night 2."""
    from arrears.transform import build

    raw = RawDeliveries()
    far_due = START + timedelta(days=20)
    for loan_id in ("CLOSES", "AMENDED", "QUIET"):
        raw.loan(START, loan_id, date(2026, 1, 1))
        raw.installment(START, loan_id, 1, far_due, "100.00", effective_from=date(2026, 1, 1))
    change_day = START + timedelta(days=2)
    raw.loan(change_day, "CLOSES", date(2026, 1, 1), status="closed")
    raw.loan(change_day, "AMENDED", date(2026, 1, 1), principal="1300.00")
    raw.insert(conn)

    in_snapshot: dict[date, set[str]] = {}
    recomputed: dict[date, set[str]] = {}
    for offset in range(4):
        day = START + timedelta(days=offset)
        build(day, select=["+fct_loan_delinquency_daily"])
        in_snapshot[day] = {
            r[0]
            for r in conn.execute(
                "select loan_id from marts.fct_loan_delinquency_daily where business_date = %s", (day,)
            )
        }
        recomputed[day] = {r[0] for r in conn.execute("select loan_id from intermediate.int_loans_to_recompute")}

    assert recomputed[START] == {"CLOSES", "AMENDED", "QUIET"}
    assert recomputed[START + timedelta(days=1)] == set()
    assert recomputed[change_day] == {"CLOSES", "AMENDED"}
    # The closure counts from its delivery day: in that day's snapshot, gone the next, recomputed for it.
    assert "CLOSES" in in_snapshot[change_day]
    assert recomputed[change_day + timedelta(days=1)] == {"CLOSES"}
    assert in_snapshot[change_day + timedelta(days=1)] == {"AMENDED", "QUIET"}


@pytest.mark.slow
def test_an_installment_falling_due_recomputes_its_loan_only_when_it_leaves_a_remainder(
    conn: psycopg.Connection,
) -> None:
    """Paid in full, it changes nothing; short by less than the tolerance, it is paid but its remainder
    joins the overdue split; unpaid, the loan enters the pre-due window carried, then is recomputed."""
    from arrears.transform import build

    raw = RawDeliveries()
    first_due, unpaid_due = START + timedelta(days=3), START + timedelta(days=6)
    for loan_id, due in (("PAID", first_due), ("SHORT", first_due), ("UNPAID", unpaid_due)):
        raw.loan(START, loan_id, date(2026, 1, 1))
        raw.installment(START, loan_id, 1, due, "100.00", effective_from=date(2026, 1, 1))
        raw.installment(START, loan_id, 2, due + timedelta(days=30), "100.00", effective_from=date(2026, 1, 1))
    raw.payment(START + timedelta(days=1), "P-PAID", "PAID", START + timedelta(days=1), "100.00")
    raw.payment(START + timedelta(days=1), "P-SHORT", "SHORT", START + timedelta(days=1), "99.50")
    raw.insert(conn)

    rows: dict[tuple[str, date], tuple[Any, ...]] = {}
    recomputed: dict[date, set[str]] = {}
    for offset in range(1, 9):
        day = START + timedelta(days=offset)
        build(day, select=["+fct_loan_delinquency_daily"])
        for loan_id, *state in conn.execute(
            "select loan_id, dpd, stage, overdue_amount from marts.fct_loan_delinquency_daily where business_date = %s",
            (day,),
        ):
            rows[loan_id, day] = tuple(state)
        recomputed[day] = {r[0] for r in conn.execute("select loan_id from intermediate.int_loans_to_recompute")}

    def day(offset: int) -> date:
        return START + timedelta(days=offset)

    # Due on day 3: the short loan owes its 0.50 from day 4 on (paid within the tolerance: DPD 0),
    # and that night recomputes it alone; the loan paid in full is carried with nothing overdue.
    assert rows["SHORT", day(3)] == (0, "current", Decimal("0.00"))
    assert rows["SHORT", day(4)] == rows["SHORT", day(5)] == (0, "current", Decimal("0.50"))
    assert rows["PAID", day(4)] == (0, "current", Decimal("0.00"))
    assert recomputed[day(3)] == set()
    assert recomputed[day(4)] == {"SHORT"}
    # Unpaid, due on day 6: pre-due from day 3 (carried, nothing recomputed), current on its due date
    # (recomputed: the installment due on D leaves the window), 1 DPD the day after.
    assert rows["UNPAID", day(2)] == (0, "current", Decimal("0.00"))
    assert rows["UNPAID", day(3)] == rows["UNPAID", day(5)] == (0, "pre_due", Decimal("0.00"))
    assert rows["UNPAID", day(6)] == (0, "current", Decimal("0.00"))
    assert rows["UNPAID", day(7)] == (1, "early", Decimal("100.00"))
    assert recomputed[day(5)] == set()
    assert recomputed[day(6)] == recomputed[day(7)] == {"UNPAID"}


@pytest.mark.slow
def test_stored_installments_are_the_versions_known_at_each_night(conn: psycopg.Connection) -> None:
    """stored_installments merges only the versions delivered since its last night and equals the staging
    view (every delivered version, §1) on every night: a later version replaces, a stale one delivered
    later does not, an equal updated_at delivered later does, a skipped night is caught up, and a
    rerun of an earlier night rebuilds it as known then."""
    from arrears.transform import build

    nights = [START + timedelta(days=n) for n in range(4)]
    original = date(2026, 1, 1)
    raw = RawDeliveries()
    raw.loan(nights[0], "L1", original)
    raw.loan(nights[0], "L2", original)
    raw.installment(nights[0], "L1", 1, date(2026, 4, 1), "100.00", effective_from=original)
    raw.installment(nights[0], "L1", 2, date(2026, 5, 1), "100.00", effective_from=original)
    first_l2 = raw.installment(nights[0], "L2", 1, date(2026, 4, 1), "300.00", effective_from=original)
    raw.installment(nights[1], "L1", 2, date(2026, 5, 1), "120.00", effective_from=original)  # corrected
    stale = {"updated_at": first_l2["updated_at"] - timedelta(days=30)}
    raw.installment(nights[1], "L2", 1, date(2026, 4, 1), "999.00", effective_from=original, **stale)
    raw.installment(nights[2], "L1", 1, date(2026, 4, 15), "200.00", version=2, effective_from=nights[3])
    same_time = {"updated_at": first_l2["updated_at"]}
    raw.installment(nights[3], "L2", 1, date(2026, 4, 1), "310.00", effective_from=original, **same_time)
    raw.insert(conn)

    columns = "loan_id, schedule_version, installment_no, due_date, principal_due, effective_from"

    def stored() -> list[tuple[Any, ...]]:
        return conn.execute(f"select {columns} from stored.stored_installments order by 1, 2, 3").fetchall()

    def row_version(loan_id: str) -> str:
        found = conn.execute("select xmin::text from stored.stored_installments where loan_id = %s", [loan_id])
        return str(found.fetchone()[0])

    seen: dict[date, list[tuple[Any, ...]]] = {}
    for night in (nights[0], nights[1], nights[3], nights[1]):  # nights[2] skipped, then a rerun of nights[1]
        l2_before = row_version("L2") if night != nights[0] else None
        build(night, select=["+stored_installments", "stg_installments"])
        known = conn.execute(f"select {columns} from staging.stg_installments order by 1, 2, 3").fetchall()
        assert stored() == known, f"stored installments differ from the staging view on {night}"
        if night == nights[1] and night not in seen:
            assert row_version("L2") == l2_before, "the night rewrote an installment only a stale version came for"
        seen.setdefault(night, stored())

    april, may = date(2026, 4, 1), date(2026, 5, 1)
    assert seen[nights[1]] == [
        ("L1", 1, 1, april, Decimal("100.00"), original),
        ("L1", 1, 2, may, Decimal("120.00"), original),
        ("L2", 1, 1, april, Decimal("300.00"), original),
    ]
    assert seen[nights[3]] == [
        ("L1", 1, 1, april, Decimal("100.00"), original),
        ("L1", 1, 2, may, Decimal("120.00"), original),
        ("L1", 2, 1, date(2026, 4, 15), Decimal("200.00"), nights[3]),
        ("L2", 1, 1, april, Decimal("310.00"), original),
    ]
    assert stored() == seen[nights[1]]  # the rerun of an earlier night rebuilt it as known then
