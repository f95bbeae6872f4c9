"""Delinquency episodes, roll rates and vintages built night by night by the real dbt project (§6)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest

from tests.support.raw_deliveries import RawDeliveries, random_portfolio
from tests.support.reference_dpd import snapshot

MARCH = date(2026, 3, 1)


def _day(n: int) -> date:
    return MARCH + timedelta(days=n - 1)


def _scripted_loans() -> RawDeliveries:
    """Five loans, each ending an episode a different way (see the test's assertions)."""
    raw = RawDeliveries()
    for loan_id in ("CURED", "WRITTEN_OFF", "PAID_OFF", "RESTRUCTURED"):
        raw.loan(_day(1), loan_id, date(2026, 1, 1))
        raw.installment(_day(1), loan_id, 1, _day(1), "100.00", effective_from=date(2026, 1, 1))
        raw.installment(_day(1), loan_id, 2, _day(4), "100.00", effective_from=date(2026, 1, 1))
    # CURED: installment 1 paid on day 3 (episode 1: days 2-3); on day 5 that payment bounces, so
    # installment 1 (due day 1) is unpaid again and episode 2 starts at DPD 4. The bounced money was
    # collected in episode 1: episode 2 collected nothing (not -100).
    raw.payment(_day(3), "P-CURED", "CURED", _day(3), "100.00")
    raw.payment(_day(5), "R-CURED", "CURED", _day(5), "100.00", reversal_of="P-CURED")
    # WRITTEN_OFF: written off on day 3.
    raw.loan(_day(3), "WRITTEN_OFF", date(2026, 1, 1), status="written_off", written_off_on=_day(3))
    # PAID_OFF: pays everything and is closed on day 3.
    raw.payment(_day(3), "P-PAID_OFF", "PAID_OFF", _day(3), "200.00")
    raw.loan(_day(3), "PAID_OFF", date(2026, 1, 1), status="closed", closed_on=_day(3))
    # RESTRUCTURED: a new schedule from day 4 still owes an installment due day 4 (late on day 5).
    raw.installment(_day(4), "RESTRUCTURED", 1, _day(4), "200.00", version=2, effective_from=_day(4))
    return raw


@pytest.mark.slow
def test_episodes_start_and_end_for_each_reason(conn: psycopg.Connection) -> None:
    from arrears.transform import build

    _scripted_loans().insert(conn)
    for n in range(1, 6):
        build(_day(n), select=["+fct_delinquency_episodes"])

    episodes = {
        (row[0], row[1]): row[2:]
        for row in conn.execute(
            "select loan_id, episode_no, started_on, ended_on, end_reason, max_dpd, max_bucket, collected_amount"
            " from marts.fct_delinquency_episodes"
        )
    }
    assert episodes == {
        ("CURED", 1): (_day(2), _day(3), "cured", 1, "M1", Decimal("100.00")),
        ("CURED", 2): (_day(5), None, None, 4, "M1", Decimal("0.00")),
        ("WRITTEN_OFF", 1): (_day(2), _day(3), "written_off", 2, "M1", Decimal("0.00")),
        ("PAID_OFF", 1): (_day(2), _day(3), "paid_off", 1, "M1", Decimal("200.00")),
        ("RESTRUCTURED", 1): (_day(2), _day(4), "restructured", 2, "M1", Decimal("0.00")),
        ("RESTRUCTURED", 2): (_day(5), None, None, 1, "M1", Decimal("0.00")),
    }


@pytest.mark.slow
def test_roll_rates_match_the_reference_snapshots_of_two_month_ends(conn: psycopg.Connection) -> None:
    from arrears.transform import build

    raw = random_portfolio(seed=11, loans=60, start=date(2026, 2, 20), days=45)
    raw.insert(conn)
    previous_end, month_end = date(2026, 2, 28), date(2026, 3, 31)
    build(previous_end)
    build(month_end)

    before = snapshot(raw.loans, raw.installments, raw.payments, previous_end)
    after = snapshot(raw.loans, raw.installments, raw.payments, month_end)
    expected: dict[tuple[str, str], int] = {}
    for loan_id, state in before.items():
        to_bucket = after[loan_id].bucket if loan_id in after else "closed"
        expected[(state.bucket, to_bucket)] = expected.get((state.bucket, to_bucket), 0) + 1

    rows = conn.execute(
        "select from_bucket, to_bucket, loans, loans_share from marts.agg_roll_rates_monthly where month_end = %s",
        (month_end,),
    ).fetchall()
    assert {(r[0], r[1]): r[2] for r in rows} == expected
    for from_bucket in {r[0] for r in rows}:
        assert sum(r[3] for r in rows if r[0] == from_bucket) == pytest.approx(Decimal(1), abs=Decimal("0.00001"))

    # Vintage curves: shares are cumulative (never fall with months on book) and nested (90 <= 60 <= 30).
    curves = conn.execute(
        "select cohort_month, months_on_book, ever_30_share, ever_60_share, ever_90_share"
        " from marts.agg_vintage_curves order by cohort_month, months_on_book"
    ).fetchall()
    assert curves
    for cohort in {c[0] for c in curves}:
        series = [c for c in curves if c[0] == cohort]
        for earlier, later in zip(series, series[1:], strict=False):
            assert later[2] >= earlier[2] and later[3] >= earlier[3] and later[4] >= earlier[4]
        assert all(c[4] <= c[3] <= c[2] <= 1 for c in series)
    assert any(c[2] > 0 for c in curves), "some cohort should reach DPD 30"
