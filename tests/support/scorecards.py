"""A hand-written scorecard version, as `arrears score train` would store it, for builds that need an active
scorecard on a book too small (or too young) to train one: every feature of dbt_project.yml has bins, so a
change to any feature moves the points and the log-odds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from arrears.score.model import FACTOR, Bin, Scorecard

# Cut points per numeric feature: bins [None, c1), [c1, c2), ..., [cn, None), plus a missing bin.
CUTS: dict[str, list[float]] = {
    "dpd": [1, 30, 60],
    "bucket_order": [1, 2],
    "months_on_book": [3, 12],
    "overdue_to_principal": [0.05, 0.2],
    "paid_to_principal": [0.1, 0.5],
    "max_dpd_ever": [1, 30],
    "delinquent_days": [1, 10],
    "episodes_started": [1, 2],
    "late_payments": [1, 3],
    "partial_payments": [1],
    "promises_made": [1, 2],
    "promises_kept": [1],
    "promises_broken": [1],
    "calls_30d": [1, 5],
    "rpc_30d": [1],
    "days_since_rpc": [7, 30],
    "is_lost_contact": [1],
}
PRODUCTS = (["cash_loan"], ["installment_purchase"])
INTERCEPT = -2.71828183


def hand_written_scorecard(version: str, trained_through: dt.date) -> tuple[dict[str, Any], Scorecard]:
    """The report (scorecard.json's layout) and the Scorecard of a version with fixed, monotonic bins."""
    bins: list[Bin] = []
    for feature_no, (feature, cuts) in enumerate(CUTS.items()):
        edges: list[float | None] = [None, *cuts, None]
        # A distinct, exact share per bin (8 decimals, as training stores them), rising with the value.
        step = round(0.1 + 0.01234567 * feature_no, 8)
        for position in range(len(cuts) + 1):
            logit = round(step * (position - 1), 8)
            bins.append(_bin(feature, position, edges[position], edges[position + 1], None, False, logit))
        bins.append(_bin(feature, len(cuts) + 1, None, None, None, True, round(step / 2, 8)))
    for position, categories in enumerate(PRODUCTS):
        bins.append(_bin("product_code", position, None, None, categories, False, round(0.0625 * position, 8)))
    card = Scorecard(intercept=INTERCEPT, base_points=round(500 + FACTOR * INTERCEPT), bins=bins)
    report = {
        "version": version,
        "trained_through": trained_through.isoformat(),
        "trained_at": "2026-01-01T00:00:00+00:00",
        "rows_train": 1,
        "rows_holdout": 1,
        "holdout_ks": 0.5,
        "holdout_auc": 0.75,
        "holdout_gini": 0.5,
        "intercept": card.intercept,
        "base_points": card.base_points,
        "reference_bands": [
            {"band_no": 1, "lower_points": None, "upper_points": 450, "expected_share": 0.5},
            {"band_no": 2, "lower_points": 450, "upper_points": None, "expected_share": 0.5},
        ],
        "bins": [vars(b) for b in bins],
    }
    return report, card


def _bin(
    feature: str,
    number: int,
    lower: float | None,
    upper: float | None,
    categories: list[str] | None,
    missing: bool,
    logit: float,
) -> Bin:
    return Bin(
        feature=feature, bin_no=number, lower_bound=lower, upper_bound=upper, categories=categories,
        is_missing=missing, woe=logit, logit=logit, points=round(FACTOR * logit), count=1, event_rate=0.1,
    )  # fmt: skip
