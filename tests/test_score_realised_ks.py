"""The scorecard's realised KS per month (business rules §10, docs/scorecard.md) equals an independent
computation from the stored snapshot and scores, night after night, and a rebuilt night changes nothing.

A simulated book is scored from its first night by a hand-written scorecard and built night by night with a
short label horizon (3 days instead of 30: the dbt var, so that a few nights mature labels in two months).
The label is recomputed here in Python from `int_loan_delinquency_daily` (a current loan reaching DPD >= 30,
a delinquent one rolling into a worse bucket, on a night within the horizon) and the KS from its definition
(the largest gap between the cumulative shares of events and non-events, riskiest score first). The mart is
carried from night to night (each night counts only the nights matured that night); the test compares it
with the full computation after every night, then rebuilds a past night and the nights after it, and reruns
the latest night, and requires the stored counts and the mart to be what they were.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.slow

FIRST = dt.date(2026, 1, 26)
LAST = dt.date(2026, 2, 5)
HORIZON = 3
LOANS = 1500
VERSION = "hand-written.ks"
MART = "marts.agg_score_realised_ks_monthly"
COUNTS = "intermediate.int_score_outcome_counts"


def _nights(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _build(night: dt.date) -> None:
    """The score chain of one night, with the short horizon (what `arrears build --select` runs, plus the var)."""
    from arrears.transform.invoke import dbt_invoke

    variables = json.dumps({"experiment_arms": [], "score_horizon_days": HORIZON})
    result = dbt_invoke(
        [
            "build",
            "--vars",
            variables,
            "--select",
            "+agg_score_realised_ks_monthly",
            "+agg_score_stability_daily",
            "--exclude-resource-type",
            "unit_test",
            "--exclude-resource-type",
            "test",
        ],
        business_date=night,
    )
    assert result.success, f"dbt build for {night} failed"


def _expected(
    conn: psycopg.Connection, last_built: dt.date
) -> dict[tuple[str, str], tuple[int, Fraction, Fraction, Fraction]]:
    """Per (month, version): loan-days, event rate, mean predicted probability and KS, from the rules."""
    snapshot: dict[str, dict[dt.date, tuple[int, int]]] = defaultdict(dict)
    for loan_id, night, dpd, bucket in conn.execute(
        "select loan_id, business_date, dpd, bucket_order from intermediate.int_loan_delinquency_daily"
    ):
        snapshot[loan_id][night] = (dpd, bucket)
    per_month: dict[tuple[str, str], list[tuple[Decimal, int, Decimal]]] = defaultdict(list)
    matured = last_built - dt.timedelta(days=HORIZON)
    for night, loan_id, version, logit, probability in conn.execute(
        "select business_date, loan_id, scorecard_version, score_logit, score_probability "
        "from intermediate.int_loan_scores_daily where business_date <= %s",
        (matured,),
    ):
        dpd, bucket = snapshot[loan_id][night]
        ahead = [
            snapshot[loan_id][later]
            for later in (night + dt.timedelta(days=k) for k in range(1, HORIZON + 1))
            if later in snapshot[loan_id]
        ]
        if dpd == 0:
            label = int(any(later_dpd >= 30 for later_dpd, _ in ahead))
        else:
            label = int(any(later_bucket > bucket for _, later_bucket in ahead))
        per_month[(night.replace(day=1).isoformat(), version)].append((logit, label, probability))

    expected = {}
    for key, rows in per_month.items():
        events = sum(label for _, label, _ in rows)
        non_events = len(rows) - events
        by_score: dict[Decimal, list[int]] = defaultdict(lambda: [0, 0])
        for logit, label, _ in rows:
            by_score[logit][0 if label else 1] += 1
        gap, cumulative_events, cumulative_non_events = Fraction(0), 0, 0
        for logit in sorted(by_score, reverse=True):
            cumulative_events += by_score[logit][0]
            cumulative_non_events += by_score[logit][1]
            gap = max(gap, abs(Fraction(cumulative_events, events) - Fraction(cumulative_non_events, non_events)))
        mean_predicted = sum((Fraction(probability) for _, _, probability in rows), Fraction(0)) / len(rows)
        expected[key] = (len(rows), Fraction(events, len(rows)), mean_predicted, gap)
    return expected


def _stored(conn: psycopg.Connection, relation: str) -> list[str]:
    return [r[0] for r in conn.execute(f"select cast(t as text) from {relation} as t order by cast(t as text)")]


def test_realised_ks_carried_night_by_night_equals_the_rules_and_survives_a_rebuild(
    warehouse_url: str, arrears_home: Path
) -> None:
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.score import activate
    from arrears.score.train import _store
    from tests.support.scorecards import hand_written_scorecard

    landing = arrears_home / "landing"
    nights = _nights(FIRST, LAST)
    generate(loans=LOANS, start=FIRST, days=len(nights), seed=31, out=landing)
    report, card = hand_written_scorecard(VERSION, FIRST)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        _store(conn, report, card)
    activate(VERSION, effective_from=FIRST, activated_by="realised KS test")
    for night in nights:
        ingest_delivery(night, landing)

    compared = 0
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for night in nights:
            _build(night)
            stored = {
                (month.isoformat(), version): (loan_days, event_rate, mean_predicted, ks)
                for month, version, loan_days, event_rate, mean_predicted, ks in conn.execute(
                    f"select score_month, scorecard_version, loan_days, event_rate, mean_predicted, realised_ks "
                    f"from {MART}"
                )
            }
            expected = _expected(conn, night)
            assert stored.keys() == expected.keys(), night
            for key, (loan_days, event_rate, mean_predicted, ks) in expected.items():
                got = stored[key]
                assert got[0] == loan_days, (night, key)
                for value, exact in zip(got[1:], (event_rate, mean_predicted, ks), strict=True):
                    assert abs(Fraction(value) - exact) <= Fraction(1, 2_000_000), (night, key, value, float(exact))
            compared += len(expected)
        months = {month for month, _ in expected}
        (events,) = conn.execute(f"select sum(events) from {COUNTS}").fetchone() or (0,)
        assert months == {"2026-01-01", "2026-02-01"} and events > 0, "the book must mature events in two months"
        assert compared >= len(nights) - HORIZON  # every night from the first matured one

        before = {relation: _stored(conn, relation) for relation in (COUNTS, MART)}
        for night in _nights(LAST - dt.timedelta(days=2), LAST):  # a backfill of a past night, then the later ones
            _build(night)
        _build(LAST)  # and a plain rerun of the latest
        after = {relation: _stored(conn, relation) for relation in (COUNTS, MART)}
    for relation in before:
        assert after[relation] == before[relation], f"{relation} moved on a rebuild"
