"""What the simulated book looks like: loans per stage and 30-day roll rates, from the simulator's own state.

    python -m arrears.generate.profile --loans 20000 --days 60 --seed 1

The figures quoted in docs/simulator.md come from this script.
"""

from __future__ import annotations

import argparse
import datetime

import numpy as np

from arrears.generate.portfolio import ACTIVE, CLOSED, WRITTEN_OFF, Portfolio
from arrears.generate.run import day_number
from arrears.generate.simulator import simulate_days

BUCKETS = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+", "written_off", "closed"]


def buckets(pf: Portfolio, day: int) -> np.ndarray:
    """Bucket index per loan at the end of `day` (business-rule DPD bands; closed and written-off apart)."""
    dpd = pf.dpd(day)
    bucket = np.minimum((dpd + 29) // 30, 7)
    status = pf.loans["status"]
    bucket = np.where(status == WRITTEN_OFF, 8, bucket)
    return np.where(status == CLOSED, 9, bucket)


def stage_shares(pf: Portfolio, day: int) -> dict[str, float]:
    """Share of open (active or written-off) loans per stage at the end of `day`."""
    status = pf.loans["status"]
    open_loans = np.nonzero(status != CLOSED)[0]
    dpd = pf.dpd(day, open_loans)
    fud = pf.loans["first_unpaid_due"][open_loans]
    active = status[open_loans] == ACTIVE
    stages = {
        "current": active & (dpd == 0) & ~((fud > day) & (fud <= day + 3)),
        "pre_due": active & (dpd == 0) & (fud > day) & (fud <= day + 3),
        "early": active & (dpd >= 1) & (dpd <= 30),
        "mid": active & (dpd >= 31) & (dpd <= 90),
        "late": active & (dpd > 90),
        "written_off": ~active,
    }
    return {name: float(mask.mean()) for name, mask in stages.items()}


def main() -> None:
    """Print stage shares at the end and the roll rates between the first and last simulated day."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loans", type=int, default=20000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=datetime.date.fromisoformat, default=datetime.date(2026, 3, 1))
    args = parser.parse_args()
    anchor = day_number(args.start)
    snapshots: dict[int, np.ndarray] = {}
    totals = {"payments": 0, "collection_actions": 0}
    last = None
    for day in simulate_days(args.loans, anchor, anchor + args.days - 1, args.seed):
        last = day
        for name in totals:
            totals[name] += day.rows[name][0]
        if (day.day - anchor) % 30 == 29 or day.day == anchor:
            snapshots[day.day] = buckets(day.portfolio, day.day)
        if day.day - anchor in (0, args.days - 1):
            shares = stage_shares(day.portfolio, day.day)
            closed = float((day.portfolio.loans["status"] == CLOSED).mean())
            print(
                f"day {day.day - anchor + 1}: loans {len(day.portfolio.loans)}, closed {closed:.1%} of all;"
                " open loans by stage:"
            )
            print("  " + ", ".join(f"{k} {v:.1%}" for k, v in shares.items()))
    assert last is not None
    print(f"rows over {args.days} days: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    days = sorted(snapshots)
    for before, after in zip(days, days[1:], strict=False):
        a, b = snapshots[before], snapshots[after][: len(snapshots[before])]
        print(f"roll rates, day {before - anchor + 1} -> day {after - anchor + 1} (share of loans in the row bucket):")
        print("| from \\ to | " + " | ".join(BUCKETS) + " |")
        print("|---|" + "---:|" * len(BUCKETS))
        for i, name in enumerate(BUCKETS[:8]):
            members = a == i
            if members.sum() == 0:
                continue
            row = [np.mean(b[members] == j) for j in range(len(BUCKETS))]
            print(f"| {name} ({members.sum()}) | " + " | ".join(f"{x:.1%}" if x else "" for x in row) + " |")


if __name__ == "__main__":
    main()
