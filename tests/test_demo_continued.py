"""The demo's book continued past the demo until the gate's volume band compares: every night's gate passes.

The demo (orchestration/demo.py) simulates 3,000 loans for 8 days; a user who continues it with
`arrears generate` must get nights as clean as the demo's. Each date is ingested, built and checked in
order through the functions `arrears backfill` calls (exports and the report add nothing to the gate).
The book runs until the first night on which every expectation is live: the volume band skips a book's
first `warmup_nights` nights and needs `min_history_days` compared nights before it (checks.yml), so with
14 and 3 the last night is night 18 (decision 037: nights 19-23 repeated the same checks).
Long: a night of dbt build and checks per date, most of each night the dbt build (its cost: README, "make test").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from arrears.orchestration.demo import DEMO_DAYS, DEMO_LOANS, DEMO_SEED, DEMO_START


def _volume_band() -> dict[str, int]:
    """checks.yml's volume band settings (lower and upper aside)."""
    from arrears.checks.suites import check_settings

    band = check_settings()["volume_band"]
    names = ("trailing_days", "min_history_days", "min_average_rows", "warmup_nights")
    return {name: int(band[name]) for name in names}


@pytest.mark.slow
def test_demo_continued_until_the_volume_band_compares_passes_every_gate(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    from arrears.checks import run_checks
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.orchestration.chain import dates_between
    from arrears.transform import build

    landing = arrears_home / "landing"
    band = _volume_band()
    # The first night whose band has min_history_days nights past the warm-up to compare with.
    days = max(band["warmup_nights"] + band["min_history_days"] + 1, DEMO_DAYS + 1)
    generate(loans=DEMO_LOANS, start=DEMO_START, days=days, seed=DEMO_SEED, out=landing, inject_faults=0.0)
    failed: dict[dt.date, list[str]] = {}
    last = DEMO_START + dt.timedelta(days=days - 1)
    for night in dates_between(DEMO_START, last):
        ingest_delivery(night, landing)
        build(night)
        outcome = run_checks(night)
        failed_here = [f"{r.suite}.{r.expectation}" for r in outcome.results if not r.success]
        if failed_here:
            failed[night] = failed_here

    assert failed == {}
    nights = conn.execute("select count(distinct business_date) from audit.dq_results").fetchone()
    assert nights == (days,)
    # The simulator closes a loan only once its money is delivered: no loan leaves the book owing principal.
    assert conn.execute("select count(*) from marts.fct_loans_closed_with_balance").fetchone() == (0,)
    # Guard: on the last night the band really compared, i.e. some team had the history and the rows it needs.
    compared = conn.execute(
        """select count(*) from (
               select team, avg(n) as average, count(*) as history_days
               from (select business_date, split_part(team_id, ':', 1) as team, sum(row_count) as n
                     from marts.agg_row_counts_daily
                     where relation_name = 'fct_work_queue' and business_date < %(last)s
                         and business_date >= %(last)s - %(trailing)s and business_date >= %(first)s + %(warmup)s
                     group by 1, 2) as nightly
               group by team) as teams
           where history_days >= %(history)s and average >= %(rows)s""",
        {
            "last": last,
            "first": DEMO_START,
            "trailing": band["trailing_days"],
            "warmup": band["warmup_nights"],
            "history": band["min_history_days"],
            "rows": band["min_average_rows"],
        },
    ).fetchone()
    assert compared is not None and compared[0] >= 1, "no team's volume was compared on the last night"
