"""`make bench`: every benchmark at one size; writes benchmarks/results.md with the machine's description.

Each benchmark is its own script (runnable alone, see its --help); this runner calls them in a
fresh process each, so one benchmark's caches and memory do not flatter the next.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("results.md")
# Log lines the benchmarks' components print (dbt's coloured lines, Airflow/structlog and cosmos entries with
# their continuation lines, pgserver's shutdown chatter): tens of thousands of lines that bury the figures.
LOG_LINE = re.compile(
    r"^(\x1b\[|\d{4}-\d\d-\d\dT\d\d:\d\d|\d\d:\d\d:\d\d  | \['build'| in /tmp/| \[pgserver\]|\['/|with kwargs"
    r"|stdout:$|stderr:$|---$|waiting for server|server stopped)"
)


def figures_only(output: str) -> str:
    """A benchmark's own output without the log lines of dbt, Airflow, cosmos and pgserver."""
    return "\n".join(line for line in output.splitlines() if not LOG_LINE.match(line))


def machine() -> str:
    """CPU model, cores, memory and versions, for the results header."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    return f"{cpu}, {os.cpu_count()} cores{memory}; {platform.platform()}; Python {platform.python_version()}"


def benchmarks(loans: int, days: int) -> list[tuple[str, list[str]]]:
    """(title, command) of every benchmark, scaled to `loans` (and `days` of history for the dbt nights)."""
    return [
        (
            "The whole night: ingest, build, gate, exports, SFTP delivery, report",
            ["benchmarks.bench_night", "--loans", str(loans), "--days", str(max(days, 35))],
        ),
        (
            "Ingest: loader vs raw COPY, ADBC and pgpq (2,000,000 payments rows)",
            ["benchmarks.bench_ingest", "--rows", "2000000"],
        ),
        ("Simulator", ["benchmarks.bench_generate", "--loans", str(loans), "--days", "30"]),
        (
            "dbt: a night's increment vs full refresh",
            ["benchmarks.bench_build", "--loans", str(loans), "--days", str(days)],
        ),
        ("dbt execution mode (Airflow)", ["benchmarks.bench_dbt_modes"]),
        ("Checks and export", ["benchmarks.bench_export", "--rows", str(loans)]),
        ("Run report", ["benchmarks.bench_report", "--loans", str(loans)]),
        ("DAG parse time", ["benchmarks.bench_dag_parse"]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=60, help="days of history before the timed dbt night (issue 5: 60)")
    parser.add_argument("--only", help="run only benchmarks whose module name contains this")
    args = parser.parse_args()
    sections = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {dt.date.today()} — {machine()}.",
        f"Portfolio size: {args.loans:,} loans, {args.days} days of history for the dbt nights. Figures are",
        "wall-clock seconds of one run unless stated.",
        "",
    ]
    summary = ["## Summary", "", "| benchmark | command | wall (s) | outcome |", "|---|---|---:|---|"]
    details: list[str] = []
    for title, command in benchmarks(args.loans, args.days):
        if args.only and args.only not in command[0]:
            continue
        if not Path(__file__).with_name(command[0].split(".")[-1] + ".py").exists():
            details += [f"## {title}", "", "_not available: the benchmark script is missing._", ""]
            continue
        print(f"== {title}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True)
        elapsed = time.monotonic() - started
        output = figures_only(result.stdout).strip()
        if result.returncode != 0:
            output = f"FAILED ({result.returncode}):\n```\n{result.stderr[-2000:]}\n```"
        print(output, flush=True)
        outcome = "ok" if result.returncode == 0 else f"failed ({result.returncode})"
        summary.append(f"| {title} | `{' '.join(command[1:])}` | {elapsed:.0f} | {outcome} |")
        details += [f"## {title}", "", f"`python -m {' '.join(command)}` ({elapsed:.0f} s in all)", "", output, ""]
    RESULTS.write_text("\n".join([*sections, *summary, "", *details]) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
