"""The collection score's nightly cost next to the whole night's build, on a simulated book.

    python -m benchmarks.bench_score --loans 200000 --days 3 --scorecard PATH/scorecard.json

In a throw-away $ARREARS_HOME: simulates `--days` deliveries, ingests them, stores the scorecard written by
`arrears score train` (its `scorecard.json`) and activates it from the first night, then builds every night
in order (`arrears.transform.build`, incremental, no unit tests). For each night prints the build's wall
time, dbt's seconds of the score models (features, scores, PSI, and the realised KS's label events, counts
and mart) against the summed node seconds of every model and test, and the load. Night 1 starts the
carried feature counters; later nights are the steady state. Not a test: figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

START = dt.date(2026, 1, 1)
SCORE_MODELS = (
    "int_score_features_daily",
    "stg_scorecard_bins",
    "int_loan_scores_daily",
    "agg_score_stability_daily",
    "int_score_label_events",
    "int_score_outcome_counts",
    "agg_score_realised_ks_monthly",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scorecard", required=True, help="a scorecard.json written by `arrears score train`")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="arrears_bench_score_"))
    os.environ["ARREARS_HOME"] = str(home)
    os.environ.pop("ARREARS_WAREHOUSE_URL", None)

    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.score import activate
    from arrears.score.model import Bin, Scorecard
    from arrears.score.train import _store
    from arrears.transform import build
    from arrears.warehouse import connect
    from arrears.warehouse.schema import init_schema

    report = json.loads(Path(args.scorecard).read_text())
    fields = Bin.__dataclass_fields__
    card = Scorecard(
        report["intercept"],
        report["base_points"],
        [Bin(**{k: v for k, v in b.items() if k in fields}) for b in report["bins"]],
    )
    with connect(autocommit=True) as conn:
        init_schema(conn)
        _store(conn, report, card)
    activate(report["version"], effective_from=START, activated_by="bench_score")

    landing = home / "landing"
    nights = [START + dt.timedelta(days=n) for n in range(args.days)]
    print(f"{args.loans:,} loans, {args.days} nights from {START} (home {home}), version {report['version']}")
    started = time.perf_counter()
    generate(loans=args.loans, start=START, days=args.days, seed=args.seed, out=landing, inject_faults=0.0)
    print(f"simulate {time.perf_counter() - started:.1f} s", flush=True)
    for night in nights:
        ingest_delivery(night, landing)
    for number, night in enumerate(nights, start=1):
        started = time.perf_counter()
        result = build(night)
        wall = time.perf_counter() - started
        seconds = {n.name: n.seconds for n in result.nodes}
        total = sum(seconds.values())
        score = {name: seconds.get(name, 0.0) for name in SCORE_MODELS}
        share = sum(score.values()) / total
        detail = ", ".join(f"{name} {value:.2f} s" for name, value in score.items())
        print(
            f"night {number} {night}: wall {wall:.1f} s, node seconds {total:.1f} s; score models "
            f"{sum(score.values()):.2f} s = {share:.1%} ({detail}); load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
