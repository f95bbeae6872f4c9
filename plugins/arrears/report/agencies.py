"""The report's agency scorecard section (business rules §9): marts.agg_agency_scorecard_monthly.

The month of D, one row per agency: accounts and balance placed, collected during placement,
liquidation and cure rates, violations and complaints per 1,000 contacts, recalls by reason; and a
chart of the liquidation rate per agency. Hooked into writer.COLLECTORS and page.RENDERERS.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from arrears.report import charts
from arrears.report.figures import Figures, Unavailable, money, plain, require_relation
from arrears.report.page import RENDERERS, count, percent, table

if TYPE_CHECKING:
    import psycopg

    from arrears.report.config import ReportConfig

RELATION = "marts.agg_agency_scorecard_monthly"
RECALL_REASONS = ("expired", "resolved", "rerouted", "agency_inactive", "misconduct")


def agency_scorecard(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """The scorecard rows of D's month, one per agency, in agency order."""
    require_relation(conn, RELATION)
    cursor = conn.execute(
        f"select * from {RELATION} where month_start = %(month)s order by agency_id", {"month": day.replace(day=1)}
    )
    names = [column.name for column in cursor.description or []]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    if not rows:
        raise Unavailable(f"{RELATION} has no row for {day:%Y-%m} (nothing placed, worked or recalled)")
    agencies = []
    for row in rows:
        agencies.append(
            {
                **{key: plain(value) for key, value in row.items()},
                "balance_placed": money(row["balance_placed"]),
                "collected_during_placement": money(row["collected_during_placement"]),
                "recalls": {reason: int(row[f"recalled_{reason}"] or 0) for reason in RECALL_REASONS},
            }
        )
    return {"month": day.replace(day=1).isoformat(), "agencies": agencies}


def render_agency_scorecard(figures: dict[str, Any], config: ReportConfig) -> str:
    """The chart of liquidation rates and the scorecard table."""
    labels = config.labels
    agencies = figures["agencies"]
    chart = charts.bar_chart(
        "agency-liquidation",
        labels.text("charts.agency_liquidation"),
        [(entry["agency_id"], float(entry["liquidation_rate"] or 0)) for entry in agencies],
        category_title=labels.text("charts.agency"),
        value_title=labels.text("charts.liquidation_rate"),
        value_format=charts.share_format,
    )
    rows = [
        (
            entry["agency_id"],
            count(entry["accounts_placed"]),
            count(entry["balance_placed"]),
            count(entry["collected_during_placement"]),
            percent(entry["liquidation_rate"]),
            percent(entry["cure_rate"]),
            count(entry["contacts"]),
            entry["violations_per_1000_contacts"] if entry["violations_per_1000_contacts"] is not None else "-",
            entry["complaints_per_1000_contacts"] if entry["complaints_per_1000_contacts"] is not None else "-",
            ", ".join(f"{labels.value('recall', reason)} {n}" for reason, n in entry["recalls"].items() if n) or "-",
        )
        for entry in agencies
    ]
    return chart + table(labels.words("text.agency_headers"), rows, numeric=(1, 2, 3, 4, 5, 6, 7, 8))


RENDERERS["agencies"] = render_agency_scorecard  # the page draws the section writer.COLLECTORS collects
