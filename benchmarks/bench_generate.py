"""Simulator throughput: `arrears generate` at a given size. Prints seconds, rows/s and peak RSS.

python benchmarks/bench_generate.py --loans 1000000 --days 30
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from arrears.generate import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--inject-faults", type=float, default=0.0)
    parser.add_argument("--out", help="landing folder to keep (default: a temporary one, deleted afterwards)")
    args = parser.parse_args()
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench_generate_")) / "landing"
    began = time.perf_counter()
    summary = generate(
        loans=args.loans, start=datetime.date(2026, 3, 1), days=args.days, seed=args.seed, out=root,
        inject_faults=args.inject_faults,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    rows = sum(summary.rows.values())
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}")
    print(f"loans {args.loans} x {args.days} days: {seconds:.1f} s, {rows} rows ({rows / seconds:,.0f} rows/s), "
          f"{size / 1e6:,.0f} MB written, peak RSS {peak_mb:,.0f} MB")  # fmt: skip
    print("rows per entity: " + ", ".join(f"{k} {v}" for k, v in summary.rows.items()))
    if not args.out:
        shutil.rmtree(root.parent)


if __name__ == "__main__":
    main()
