"""Where the gate's seconds go, on a warehouse that is already built: each expectation's SQL, and GX's run.

    ARREARS_HOME=<home> python -m benchmarks.bench_gate_sql --date 2026-01-22 [--suites a b] [--explain] [--gx 3]

Renders every suite of expectations/ for the date (as `arrears check` does), then runs each
`unexpected_rows_query` with its `{batch}` in place as `select count(*) from (…)`, one at a time on one
connection, and prints the seconds per expectation (slowest first) and per suite. Without GX and without
concurrency, so the figures say which SQL costs what. `--explain` prints each query's EXPLAIN ANALYZE
summary (execution time, and every scan: relation, method, rows). `--gx N` then runs the gate itself
(`run_checks`) N times and prints its wall clock, GX's steps (setup, validation, Data Docs) and each
suite's validation seconds. Not a test: figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import time
from typing import Any

_JOIN = re.compile(r"\bjoin\b", re.IGNORECASE)


def _with_batch(query: str, batch_query: str) -> str:
    """The query as GX runs it: a query with a JOIN aliases `{batch}` itself, others get `AS subselect`."""
    batch = f"({batch_query})" if _JOIN.search(query) else f"({batch_query}) as subselect"
    return query.replace("{batch}", batch)


def _scans(plan: dict[str, Any]) -> list[str]:
    """Every scan node of a JSON plan: 'method relation rows (loops)'."""
    found = []
    if "Relation Name" in plan:
        loops = int(plan.get("Actual Loops", 1))
        rows = int(plan.get("Actual Rows", 0)) * loops
        repeated = f" ({loops:,} loops)" if loops > 1 else ""
        found.append(f"{plan['Node Type']} {plan['Relation Name']} {rows:,}{repeated}")
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


def _explain(conn: Any, sql: str) -> str:
    (plan,) = conn.execute(f"explain (analyze, format json) {sql}").fetchone()
    top = (plan if isinstance(plan, list) else json.loads(plan))[0]
    return f"{top['Execution Time'] / 1000:.3f} s: " + "; ".join(_scans(top["Plan"]))


def _time_sql(date: dt.date, names: list[str] | None, explain: bool) -> None:
    from arrears.checks.suites import load_suites, render_suite, template_values
    from arrears.warehouse import connect

    values = template_values(date)
    suites = load_suites()
    timings: list[tuple[float, str, int]] = []
    with connect(autocommit=True) as conn:
        for name in names or list(suites):
            suite = render_suite(suites[name], values)
            for item in suite.expectations:
                query = str(item.kwargs.get("unexpected_rows_query", ""))
                if not query:
                    continue
                sql = _with_batch(query, suite.batch_query)
                started = time.perf_counter()
                (found,) = conn.execute(f"select count(*) from ({sql}) as unexpected").fetchone() or (0,)
                timings.append((time.perf_counter() - started, f"{name}.{item.name}", int(found)))
                if explain:
                    print(f"  {name}.{item.name}: {_explain(conn, sql)}", flush=True)
    per_suite: dict[str, float] = {}
    for seconds, name, _ in timings:
        per_suite[name.split(".")[0]] = per_suite.get(name.split(".")[0], 0.0) + seconds
    total = sum(seconds for seconds, _, _ in timings)
    print(f"{date}: {total:.2f} s of SQL for {len(timings)} expectations, load {os.getloadavg()[0]:.1f}")
    for seconds, name, found in sorted(timings, reverse=True)[:20]:
        print(f"  {seconds:6.3f} s  {name} ({found} unexpected)")
    for suite_name, seconds in sorted(per_suite.items(), key=lambda pair: -pair[1]):
        print(f"  suite {suite_name}: {seconds:.2f} s")


def _time_gate(date: dt.date, runs: int) -> None:
    from arrears.checks import run_checks

    for number in range(1, runs + 1):
        load = os.getloadavg()[0]
        started = time.perf_counter()
        outcome = run_checks(date)
        seconds = time.perf_counter() - started
        steps = ", ".join(f"{step} {value:.1f} s" for step, value in outcome.step_seconds.items())
        verdict = "pass" if outcome.success else f"FAIL {', '.join(outcome.failed_suites)}"
        print(f"gate run {number}: {seconds:.1f} s ({verdict}); {steps}; load {load:.1f}-{os.getloadavg()[0]:.1f}")
        for suite, value in sorted(outcome.suite_seconds.items(), key=lambda pair: -pair[1]):
            print(f"    {value:6.2f} s  {suite}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--suites", nargs="*", help="suite names (default: every suite)")
    parser.add_argument("--explain", action="store_true", help="print each query's EXPLAIN ANALYZE summary")
    parser.add_argument("--gx", type=int, default=0, metavar="N", help="then run the gate N times")
    parser.add_argument("--no-sql", action="store_true", help="skip the per-expectation SQL timing")
    args = parser.parse_args()
    if not args.no_sql:
        _time_sql(args.date, args.suites, args.explain)
    if args.gx:
        _time_gate(args.date, args.gx)


if __name__ == "__main__":
    main()
