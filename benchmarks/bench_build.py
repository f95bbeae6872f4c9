"""dbt build benchmark: a night's incremental build against a full refresh, on a simulated portfolio.

    python -m benchmarks.bench_build --loans 1000000 --days 60

In a throw-away $ARREARS_HOME (its own embedded warehouse): simulates `--days` deliveries
(`arrears generate`), ingests them all, then builds every night in order with the nightly build
(`arrears.transform.build`, incremental, no unit tests), timing each night; finally rebuilds the
last night as a full refresh (which replays every night from the first delivery, in order: the
snapshots are point in time). Prints the night of day 5, the night of the last day, their ratio,
the full refresh and its ratio to the last night, and the most expensive nodes of both nights
(dbt's per-node seconds; two threads, so they overlap). Not a test: figures only.

    python -m benchmarks.bench_build --loans 1000000 --days 61 --full-refresh-first

The same comparison in half the machine time (a 1 M run then fits one working session): the nightly
loop is skipped; the full refresh of the day before the last (replaying its 60 nights) is timed, then
the last night is built incrementally on the history it left. Its ratio is a lower bound of the
same-night ratio: a full refresh of the last day would replay one night more.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

START = dt.date(2026, 1, 1)


def _timed(label: str, action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    print(f"  {label}: {seconds:.1f} s", flush=True)
    return seconds


def _print_top_nodes(label: str, result: Any, wall: float, top: int = 8) -> None:
    """The `top` slowest nodes of one night's build, with its wall time and the summed node seconds."""
    nodes = sorted(result.nodes, key=lambda n: n.seconds, reverse=True)
    models = sum(n.seconds for n in result.nodes if n.resource_type not in ("test", "unit_test"))
    tests = sum(n.seconds for n in result.nodes if n.resource_type in ("test", "unit_test"))
    print(f"{label}: wall {wall:.1f} s; node seconds: models/seeds {models:.1f}, tests {tests:.1f}", flush=True)
    for node in nodes[:top]:
        print(f"    {node.seconds:7.2f} s  {node.resource_type:<9} {node.name}", flush=True)


def _already_done(connect: Callable[..., Any]) -> tuple[set[dt.date], set[dt.date]]:
    """The business dates already ingested and already built in this home (for --reuse)."""
    with connect(autocommit=True) as conn:
        loaded = {row[0] for row in conn.execute("select business_date from audit.batches where status = 'loaded'")}
        exists = conn.execute("select to_regclass('marts.fct_loan_delinquency_daily') is not null").fetchone()
        built: set[dt.date] = set()
        if exists and exists[0]:
            built = {r[0] for r in conn.execute("select distinct business_date from marts.fct_loan_delinquency_daily")}
    return loaded, built


def _record_nodes(path: Path, night: dt.date, wall: float, result: Any) -> None:
    """Add one night's wall time and per-node seconds to the JSON file (kept across `--reuse` runs)."""
    per_night = json.loads(path.read_text()) if path.exists() else {}
    per_night[night.isoformat()] = {"wall": wall, "nodes": {node.name: node.seconds for node in result.nodes}}
    path.write_text(json.dumps(per_night, indent=1))


def _full_refresh_then_one_night(nights: list[dt.date], build: Callable[..., Any]) -> None:
    """Time the full refresh of nights[-2] (it replays every night up to it), then nights[-1] incrementally."""
    replayed = len(nights) - 1
    print(f"full refresh of day {replayed} ({nights[-2]}), replaying its {replayed} nights:", flush=True)
    started = time.perf_counter()
    refreshed = build(nights[-2], full_refresh=True)
    refresh = time.perf_counter() - started
    print(f"  full refresh: {refresh:.1f} s, load {os.getloadavg()[0]:.1f} ({refreshed.summary()})", flush=True)
    started = time.perf_counter()
    result = build(nights[-1])
    night = time.perf_counter() - started
    print(f"  night {len(nights)} {nights[-1]}: {night:.1f} s, load {os.getloadavg()[0]:.1f} ({result.summary()})")
    print(
        f"full refresh of day {replayed} / incremental night {len(nights)}: {refresh / night:.1f}x "
        f"(target >= 10x; a lower bound: the same night's full refresh replays one night more)"
    )
    _print_top_nodes(f"slowest nodes, night of day {len(nights)}", result, night)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", help="ARREARS_HOME to use (default: a new temporary folder)")
    parser.add_argument("--skip-full-refresh", action="store_true", help="time only the incremental nights")
    parser.add_argument(
        "--full-refresh-first",
        action="store_true",
        help="skip the nightly loop: time the full refresh of the day before the last, then the last night",
    )
    parser.add_argument(
        "--nodes-json",
        help="also write every night's per-node seconds to this JSON file (after each night; --reuse adds to it)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep what --home already holds: simulate only if its landing folder is empty, ingest only the "
        "dates not loaded yet, build only the nights after the last one built (resume an interrupted run)",
    )
    args = parser.parse_args()

    home = Path(args.home or tempfile.mkdtemp(prefix="arrears_bench_build_"))
    os.environ["ARREARS_HOME"] = str(home)
    os.environ.pop("ARREARS_WAREHOUSE_URL", None)

    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.transform import build
    from arrears.warehouse import connect
    from arrears.warehouse.schema import init_schema

    with connect(autocommit=True) as conn:
        init_schema(conn)
    landing = home / "landing"
    nights = [START + dt.timedelta(days=n) for n in range(args.days)]
    print(f"portfolio: {args.loans:,} loans, {args.days} days from {START} (home {home})", flush=True)
    loaded: set[dt.date] = set()
    built: set[dt.date] = set()
    if args.reuse:
        loaded, built = _already_done(connect)
    if not (args.reuse and any(landing.glob("*/_manifest.json"))):
        _timed(
            "simulate",
            lambda: generate(
                loans=args.loans, start=START, days=args.days, seed=args.seed, out=landing, inject_faults=0.0
            ),
        )
    _timed("ingest every day", lambda: [ingest_delivery(night, landing) for night in nights if night not in loaded])

    if args.full_refresh_first:
        _full_refresh_then_one_night(nights, build)
        return

    night_seconds: list[float] = []
    results: list[Any] = []
    for number, night in enumerate(nights, start=1):
        if night in built:
            continue
        started = time.perf_counter()
        result = build(night)
        night_seconds.append(time.perf_counter() - started)
        results.append(result)
        load = os.getloadavg()[0]  # a shared machine: say what ran beside each night
        line = f"  night {number:>3} {night}: {night_seconds[-1]:.1f} s, load {load:.1f} ({result.summary()})"
        print(line, flush=True)
        if args.nodes_json:  # after every night: an interrupted run keeps what it measured
            _record_nodes(Path(args.nodes_json), night, night_seconds[-1], result)

    with connect(autocommit=True) as conn:
        snapshot_rows = conn.execute("select count(*) from marts.fct_loan_delinquency_daily").fetchone()
    if not results:
        print("every night is already built (--reuse): nothing to time")
        return
    # Day 5's night, or the first night built in this run when resuming past it.
    fifth = next((i for i, r in enumerate(results) if r.business_dates[0] == nights[min(4, len(nights) - 1)]), 0)
    last = night_seconds[-1]
    early = night_seconds[fifth]
    print()
    print(f"rows in marts.fct_loan_delinquency_daily: {snapshot_rows[0] if snapshot_rows else 0:,}")
    ratio = last / early
    print(
        f"night of {results[fifth].business_dates[0]}: {early:.1f} s; night of day {args.days}: {last:.1f} s; "
        f"ratio {ratio:.2f}x (target <= 1.3x)"
    )
    if len(night_seconds) >= fifth + 10:
        # One night is noisy on a shared 2-core machine: compare five nights around day 5 with the last five.
        around_fifth = statistics.median(night_seconds[max(fifth - 2, 0) : fifth + 3])
        last_five = statistics.median(night_seconds[-5:])
        print(
            f"median of nights 3-7: {around_fifth:.1f} s; median of the last 5 nights: {last_five:.1f} s; "
            f"ratio {last_five / around_fifth:.2f}x"
        )
    print(f"median night: {statistics.median(night_seconds):.1f} s (target at 1,000,000 loans: <= 180 s, stretch 60 s)")
    _print_top_nodes(f"slowest nodes, night of {results[fifth].business_dates[0]}", results[fifth], early)
    _print_top_nodes(f"slowest nodes, night of day {args.days}", results[-1], last)
    if not args.skip_full_refresh:
        refresh = _timed(f"full refresh of day {args.days}", lambda: build(nights[-1], full_refresh=True))
        print(f"full refresh / incremental night: {refresh / last:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
