"""Quality gate on a simulated book, night by night: does every night pass, and what fails when not.

    python -m benchmarks.bench_gate --loans 1000000 --days 10

In a throw-away $ARREARS_HOME (its own embedded warehouse): simulates `--days` deliveries, then for
each date in order ingests, builds and checks it with the functions `arrears backfill` calls (exports
and the report add nothing to the gate). Prints one line per night: pass/fail, seconds per step, the
machine's load, and for a failed night each failed expectation with the start of its observed value.
Ends with the nights that failed, and the rows the reconciliation explained as closed with a balance
(marts.fct_loans_closed_with_balance, decision 014). Not a test: figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

START = dt.date(2026, 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", help="ARREARS_HOME to use (default: a new temporary folder)")
    args = parser.parse_args()

    home = Path(args.home or tempfile.mkdtemp(prefix="arrears_bench_gate_"))
    os.environ["ARREARS_HOME"] = str(home)
    os.environ.pop("ARREARS_WAREHOUSE_URL", None)

    from arrears.checks import run_checks
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.transform import build
    from arrears.warehouse import connect
    from arrears.warehouse.schema import init_schema

    with connect(autocommit=True) as conn:
        init_schema(conn)
    landing = home / "landing"
    print(f"portfolio: {args.loans:,} loans, {args.days} days from {START} (home {home})", flush=True)
    started = time.perf_counter()
    generate(loans=args.loans, start=START, days=args.days, seed=args.seed, out=landing, inject_faults=0.0)
    print(f"  simulate: {time.perf_counter() - started:.1f} s", flush=True)

    failed_nights: list[int] = []
    for number in range(1, args.days + 1):
        night = START + dt.timedelta(days=number - 1)
        seconds = [time.perf_counter()]
        ingest_delivery(night, landing)
        seconds.append(time.perf_counter())
        build(night)
        seconds.append(time.perf_counter())
        outcome = run_checks(night)
        seconds.append(time.perf_counter())
        seconds = [after - before for before, after in zip(seconds, seconds[1:], strict=False)]
        failed = [r for r in outcome.results if not r.success]
        verdict = "pass" if outcome.success else f"FAIL ({len(failed)} expectations)"
        print(
            f"  night {number:>3} {night}: {verdict}; ingest {seconds[0]:.1f} s, build {seconds[1]:.1f} s, "
            f"checks {seconds[2]:.1f} s, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        for result in failed:
            print(f"      {result.suite}.{result.expectation}: {str(result.observed_value)[:300]}", flush=True)
        if not outcome.success:
            failed_nights.append(number)

    with connect(autocommit=True) as conn:
        explained = conn.execute(
            "select business_date, count(*), sum(outstanding_principal) from marts.fct_loans_closed_with_balance "
            "group by business_date order by business_date"
        ).fetchall()
    print(f"nights failed: {failed_nights or 'none'}")
    print(f"closed with a balance (explained): {explained or 'none'}")


if __name__ == "__main__":
    main()
