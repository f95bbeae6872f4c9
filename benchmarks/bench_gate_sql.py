"""Each gate expectation's SQL on its own, timed, on a warehouse that is already built.

    ARREARS_HOME=<home of bench_gate --home> python -m benchmarks.bench_gate_sql --date 2026-01-22 [--suites a b]

Renders every suite of expectations/ for the date (as `arrears check` does), then runs each
`unexpected_rows_query` with its `{batch}` in place as `select count(*) from (…)`, one at a time on one
connection, and prints the seconds per expectation (slowest first) and per suite. Without GX and without
concurrency, so the figures say which SQL costs what; `bench_gate` times the gate as the night runs it.
Not a test: figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--suites", nargs="*", help="suite names (default: every suite)")
    args = parser.parse_args()

    from arrears.checks.suites import load_suites, render_suite, template_values
    from arrears.warehouse import connect

    values = template_values(args.date)
    suites = load_suites()
    timings: list[tuple[float, str, int]] = []
    with connect(autocommit=True) as conn:
        for name in args.suites or list(suites):
            suite = render_suite(suites[name], values)
            for item in suite.expectations:
                query = str(item.kwargs.get("unexpected_rows_query", ""))
                if not query:
                    continue
                sql = query.replace("{batch}", f"({suite.batch_query})")
                started = time.perf_counter()
                (found,) = conn.execute(f"select count(*) from ({sql}) as unexpected").fetchone() or (0,)
                timings.append((time.perf_counter() - started, f"{name}.{item.name}", int(found)))
    per_suite: dict[str, float] = {}
    for seconds, name, _ in timings:
        per_suite[name.split(".")[0]] = per_suite.get(name.split(".")[0], 0.0) + seconds
    total = sum(seconds for seconds, _, _ in timings)
    print(f"{args.date}: {total:.2f} s for {len(timings)} expectations, load {os.getloadavg()[0]:.1f}")
    for seconds, name, found in sorted(timings, reverse=True)[:15]:
        print(f"  {seconds:6.3f} s  {name} ({found} unexpected)")
    for suite_name, seconds in sorted(per_suite.items(), key=lambda pair: -pair[1]):
        print(f"  suite {suite_name}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
