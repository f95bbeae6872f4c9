"""The run report's experiments section (business rules §10): per experiment and arm, each metric of
marts.agg_experiment_outcomes with its 95 % interval and the difference from the champion, and whether that
difference is clear of zero, so a manager can decide whether to promote a challenger."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from arrears.report.figures import Figures, Unavailable, require_relation

if TYPE_CHECKING:
    import psycopg

RELATION = "marts.agg_experiment_outcomes"
# Metrics in the order a manager reads them (the mart's metric names).
METRICS = (
    "loans",
    "cure_rate_30d",
    "roll_rate_30d",
    "collected_per_loan",
    "contacts_per_loan",
    "right_party_contacts_per_loan",
    "promises_per_loan",
    "promise_kept_rate",
)


def experiments(conn: psycopg.Connection, day: dt.date, config: Any) -> Figures:
    """Every experiment's arms and metrics, champion first; a verdict per challenger metric."""
    require_relation(conn, RELATION)
    rows = conn.execute(
        f"""
        select experiment_id, arm_id, is_champion, metric, units, metric_value, ci_low, ci_high,
            difference_from_champion, difference_ci_low, difference_ci_high
        from {RELATION}
        order by experiment_id, is_champion desc, arm_id
        """
    ).fetchall()
    if not rows:
        raise Unavailable(f"{RELATION} has no rows: no experiment has a loan whose 30-day window has passed")
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for experiment, arm, champion, metric, units, value, low, high, difference, diff_low, diff_high in rows:
        arm_entry = found.setdefault(experiment, {}).setdefault(arm, {"arm": arm, "champion": champion, "metrics": {}})
        arm_entry["metrics"][metric] = {
            "units": _number(units),
            "value": _number(value),
            "ci": [_number(low), _number(high)],
            "difference": _number(difference),
            "difference_ci": [_number(diff_low), _number(diff_high)],
            "verdict": _verdict(champion, diff_low, diff_high),
        }
    return {
        "experiments": [{"experiment": name, "arms": list(arms.values())} for name, arms in found.items()],
        "metrics": list(METRICS),
    }


def experiment_table(experiment: dict[str, Any], words: Any) -> tuple[list[str], list[list[str]]]:
    """Rows (arm, metric, value [CI], difference [CI], verdict) of one experiment, for the page's table."""
    rows: list[list[str]] = []
    for arm in experiment["arms"]:
        for metric in METRICS:
            entry = arm["metrics"].get(metric)
            if entry is None:
                continue
            champion = arm["champion"]
            difference = "" if champion else _with_interval(entry["difference"], entry["difference_ci"])
            rows.append(
                [
                    arm["arm"] + (f" ({words['champion']})" if champion else ""),
                    metric,
                    _with_interval(entry["value"], entry["ci"]),
                    difference,
                    words.get(entry["verdict"], "") if entry["verdict"] else "",
                ]
            )
    return words["headers"], rows


def _verdict(champion: bool, low: Any, high: Any) -> str | None:
    """higher / lower when the 95 % interval of the difference excludes 0, unclear when it holds 0."""
    if champion or low is None or high is None:
        return None
    if float(low) > 0:
        return "higher"
    if float(high) < 0:
        return "lower"
    return "unclear"


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _with_interval(value: float | None, interval: list[float | None]) -> str:
    return f"{_fmt(value)} [{_fmt(interval[0])}, {_fmt(interval[1])}]"


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}"
