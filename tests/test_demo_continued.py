"""The demo's book continued 15 days past the demo: every night's gate passes.

The demo (orchestration/demo.py) simulates 3,000 loans for 8 days; a user who continues it with
`arrears generate` must get nights as clean as the demo's. Each date is ingested, built and checked in
order through the functions `arrears backfill` calls (exports and the report add nothing to the gate).
Long: 23 nights of dbt builds and checks, most of each night the dbt build (its cost: README, "make test").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from arrears.orchestration.demo import DEMO_DAYS, DEMO_LOANS, DEMO_SEED, DEMO_START

EXTRA_DAYS = 15


@pytest.mark.slow
def test_demo_continued_15_days_passes_every_gate(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.checks import run_checks
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.orchestration.chain import dates_between
    from arrears.transform import build

    landing = arrears_home / "landing"
    days = DEMO_DAYS + EXTRA_DAYS
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
