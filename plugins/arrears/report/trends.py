"""Trends over the last nights up to D (report.yml `trend_nights`, 90): one point per business date.

- delinquency rate by stage: loans of the stage / all loans of the night (marts.agg_delinquency_stages_daily,
  the snapshot's loans counted per night and stage by the build);
- amount collected: sum of collected_amount (marts.agg_collection_performance_daily);
- promise kept rate: promises_kept / promises_due of the promises whose window ended that night (same mart);
- compliance violations: sum of violations (marts.agg_compliance_violations_daily);
- complaints: complaints dated that day, each once (marts.fct_complaint_attributions, as known at the
  report's night; a complaint nobody contacted the borrower before is not attributed and not counted).

A night without a row in a mart has no point for that figure; a mart that does not exist leaves its
figure out. The averages are over the nights that have a point, for the last `trend_recent_nights`
(30) and for all nights drawn.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from arrears.report.config import ReportConfig
from arrears.report.figures import Figures, Unavailable, money, plain, relation_exists, share

if TYPE_CHECKING:
    import psycopg


def _average(points: list[dict[str, Any]], since: str, key: str = "value") -> float | None:
    values = [point[key] for point in points if point["night"] >= since and point[key] is not None]
    return round(sum(values) / len(values), 4) if values else None


def _delinquency_by_stage(
    conn: psycopg.Connection, first: dt.date, day: dt.date, config: ReportConfig
) -> dict[str, list[dict[str, Any]]]:
    rows = conn.execute(
        """
        select business_date, stage, loans
        from marts.agg_delinquency_stages_daily
        where business_date between %s and %s
        """,
        (first, day),
    ).fetchall()
    totals: dict[str, int] = defaultdict(int)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for night, stage, loans in rows:
        totals[plain(night)] += loans
        if stage in config.trend_stages:
            counts[stage][plain(night)] = loans
    return {
        stage: [
            {"night": night, "value": share(counts[stage].get(night, 0), totals[night])} for night in sorted(totals)
        ]
        for stage in config.trend_stages
    }


def _per_night(conn: psycopg.Connection, sql: str, first: dt.date, day: dt.date) -> list[tuple[Any, ...]]:
    return conn.execute(sql, (first, day)).fetchall()


def trends(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """Each trend figure per night in (D - trend_nights, D], with its last value and 30/90-night averages."""
    first = day - dt.timedelta(days=config.trend_nights - 1)
    recent = (day - dt.timedelta(days=config.trend_recent_nights - 1)).isoformat()
    series: dict[str, dict[str, list[dict[str, Any]]]] = {}
    if relation_exists(conn, "marts.agg_delinquency_stages_daily"):
        series["delinquency_rate"] = _delinquency_by_stage(conn, first, day, config)
    if relation_exists(conn, "marts.agg_collection_performance_daily"):
        rows = _per_night(
            conn,
            """select business_date, coalesce(sum(collected_amount), 0), coalesce(sum(promises_kept), 0),
                      coalesce(sum(promises_due), 0)
               from marts.agg_collection_performance_daily
               where business_date between %s and %s group by business_date order by business_date""",
            first,
            day,
        )
        series["collected_amount"] = {"": [{"night": plain(r[0]), "value": money(r[1])} for r in rows]}
        series["promise_kept_rate"] = {"": [{"night": plain(r[0]), "value": share(r[2], r[3])} for r in rows]}
    if relation_exists(conn, "marts.agg_compliance_violations_daily"):
        rows = _per_night(
            conn,
            """select business_date, coalesce(sum(violations), 0) from marts.agg_compliance_violations_daily
               where business_date between %s and %s group by business_date order by business_date""",
            first,
            day,
        )
        series["violations"] = {"": [{"night": plain(r[0]), "value": int(r[1])} for r in rows]}
    if relation_exists(conn, "marts.fct_complaint_attributions"):
        rows = _per_night(
            conn,
            """select complaint_date, count(distinct complaint_id) from marts.fct_complaint_attributions
               where complaint_date between %s and %s group by complaint_date order by complaint_date""",
            first,
            day,
        )
        series["complaints"] = {"": [{"night": plain(r[0]), "value": int(r[1])} for r in rows]}
    nights = sorted({p["night"] for lines in series.values() for points in lines.values() for p in points})
    if not nights:
        raise Unavailable(
            f"no mart has a night between {first.isoformat()} and {day.isoformat()} "
            "(agg_delinquency_stages_daily, agg_collection_performance_daily, agg_compliance_violations_daily)"
        )
    figures: list[dict[str, Any]] = []
    for figure, lines in series.items():
        for line, points in lines.items():
            figures.append(
                {
                    "figure": figure,
                    "line": line or None,
                    "last": points[-1]["value"] if points and points[-1]["night"] == day.isoformat() else None,
                    "average_recent": _average(points, recent),
                    "average_all": _average(points, first.isoformat()),
                    "points": points,
                }
            )
    return {
        "first_night": nights[0],
        "last_night": nights[-1],
        "nights": nights,
        "recent_since": recent,
        "recent_nights": config.trend_recent_nights,
        "all_nights": config.trend_nights,
        "figures": figures,
    }
