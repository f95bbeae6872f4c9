"""The night's dbt cost on a simulated book, for comparing two checkouts on the same deliveries.

    python -m benchmarks.bench_dbt_night --loans 1000000 --days 3 --landing DIR [--home DIR] [--rebuild]

Simulates `--days` deliveries into `--landing` unless it already holds them (so a second checkout builds
exactly the deliveries the first one did: run the first with the older code, whose deliveries both
contracts accept), then in its own $ARREARS_HOME ingests and builds each night in order and prints the
seconds of each step and the machine's load. `--rebuild` only builds the last night again in an existing
home (after `db init`): alternating two checkouts' rebuilds of one night on one warehouse compares their dbt
cost on identical data and state. Not a test: figures only (benchmarks/results.md).
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
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--landing", required=True, type=Path)
    parser.add_argument("--home", help="ARREARS_HOME to use (default: a new temporary folder)")
    parser.add_argument("--rebuild", action="store_true", help="only build the last night again")
    args = parser.parse_args()

    home = Path(args.home or tempfile.mkdtemp(prefix="arrears_bench_night_"))
    os.environ["ARREARS_HOME"] = str(home)
    os.environ.pop("ARREARS_WAREHOUSE_URL", None)

    import arrears
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.transform import build
    from arrears.warehouse import connect
    from arrears.warehouse.schema import init_schema

    print(f"code {Path(arrears.__file__).parent}, home {home}", flush=True)
    with connect(autocommit=True) as conn:
        init_schema(conn)
    last = START + dt.timedelta(days=args.days - 1)
    if args.rebuild:
        started = time.perf_counter()
        build(last)
        print(f"rebuild {last}: build {time.perf_counter() - started:.1f} s, load {os.getloadavg()[0]:.1f}", flush=True)
        return
    if not (args.landing / last.isoformat() / "_manifest.json").exists():
        started = time.perf_counter()
        generate(loans=args.loans, start=START, days=args.days, seed=args.seed, out=args.landing, inject_faults=0.0)
        print(f"simulate {args.loans:,} loans x {args.days} days: {time.perf_counter() - started:.1f} s", flush=True)
    for number in range(1, args.days + 1):
        night = START + dt.timedelta(days=number - 1)
        started = time.perf_counter()
        ingest_delivery(night, args.landing)
        ingested = time.perf_counter()
        build(night)
        built = time.perf_counter()
        print(
            f"night {number} {night}: ingest {ingested - started:.1f} s, build {built - ingested:.1f} s, "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
