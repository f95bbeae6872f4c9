"""Run-report sections for business rules §9: plan and settlement keep rates, and the legal pipeline.

`arrangements` reads marts.agg_arrangement_keep_rates (every arrangement agreed up to D, judged at D);
`legal` reads marts.fct_legal_cases and marts.agg_legal_pipeline_monthly. A book with no arrangement or
no case shows zeros, not a gap: the marts exist and are empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from arrears.report import charts
from arrears.report.config import ReportConfig
from arrears.report.figures import Figures, money, require_relation, share

if TYPE_CHECKING:
    import psycopg

KINDS = ["repayment_plan", "restructure", "settlement"]
OUTCOMES = ["kept", "broken", "performing", "cancelled"]
OUTCOME_COLORS = {"kept": "#009E73", "broken": "#D55E00", "performing": "#56B4E9", "cancelled": "#999999"}
LEGAL_STATUSES = ["referred", "accepted", "filed", "judgment", "enforcement", "closed", "withdrawn"]
PIPELINE_MONTHS = 6  # months of the pipeline table on the page (all of them in report.json)
# page.table, passed in by the page (this module is imported by it): headers, rows, numeric columns.
Table = Callable[[Sequence[str], Sequence[Sequence[Any]], Sequence[int]], str]


def _percent(value: float | None) -> str:
    return "n/a" if value is None else charts.share_format(value)


def _keep_rate(numbers: dict[str, Any]) -> float | None:
    """kept / (kept + broken): performing and cancelled arrangements are not resolved either way."""
    return share(numbers["kept"], numbers["kept"] + numbers["broken"])


def arrangements(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """Arrangements agreed up to D by kind and outcome, keep rates by kind and by negotiating team."""
    relation = "marts.agg_arrangement_keep_rates"
    require_relation(conn, relation)
    rows = conn.execute(
        f"""
        select kind, negotiating_team_id, sum(arrangements), sum(performing), sum(kept), sum(broken),
               sum(cancelled), sum(status_disagreements), coalesce(sum(waived_amount), 0)
        from {relation}
        group by kind, negotiating_team_id
        """
    ).fetchall()
    by_kind: dict[str, dict[str, Any]] = {}
    by_team: dict[str, dict[str, int]] = {}
    for kind, team, total, performing, kept, broken, cancelled, disagreements, waived in rows:
        entry = by_kind.setdefault(
            kind, {"arrangements": 0, "performing": 0, "kept": 0, "broken": 0, "cancelled": 0, "disagreements": 0}
        )
        for key, number in zip(
            ["arrangements", "performing", "kept", "broken", "cancelled", "disagreements"],
            [total, performing, kept, broken, cancelled, disagreements],
            strict=True,
        ):
            entry[key] += int(number)
        entry["waived_amount"] = entry.get("waived_amount", 0.0) + money(waived)
        team_entry = by_team.setdefault(team, {"kept": 0, "broken": 0})
        team_entry["kept"] += int(kept)
        team_entry["broken"] += int(broken)
    kinds = [kind for kind in KINDS if kind in by_kind] + sorted(set(by_kind) - set(KINDS))
    return {
        "as_of": day.isoformat(),
        "kinds": [{**by_kind[kind], "kind": kind, "keep_rate": _keep_rate(by_kind[kind])} for kind in kinds],
        "teams": [
            {**numbers, "team": team, "keep_rate": _keep_rate(numbers)} for team, numbers in sorted(by_team.items())
        ],
        "waived_amount": sum(entry["waived_amount"] for entry in by_kind.values()),
        "disagreements": sum(entry["disagreements"] for entry in by_kind.values()),
    }


def legal(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """Cases by current status with claim, judgment and recovery; the monthly pipeline."""
    cases_relation, pipeline_relation = "marts.fct_legal_cases", "marts.agg_legal_pipeline_monthly"
    require_relation(conn, cases_relation)
    require_relation(conn, pipeline_relation)
    statuses = conn.execute(
        f"""
        select status, count(*), coalesce(sum(claim_amount), 0), coalesce(sum(judgment_amount), 0),
               coalesce(sum(recovered_since_referral), 0)
        from {cases_relation}
        group by status
        """
    ).fetchall()
    pipeline = conn.execute(
        f"""
        select month_start, status, cases_entered, cases_at_month_end, median_days_in_status, recovery_rate
        from {pipeline_relation}
        order by month_start desc, status_order
        """
    ).fetchall()
    order = {status: index for index, status in enumerate(LEGAL_STATUSES)}
    by_status = sorted(statuses, key=lambda row: (order.get(row[0], len(order)), row[0]))
    claim = sum(money(row[2]) for row in statuses)
    return {
        "as_of": day.isoformat(),
        "statuses": [
            {
                "status": status,
                "cases": int(cases),
                "claim_amount": money(claimed),
                "judgment_amount": money(judged),
                "recovered": money(recovered),
            }
            for status, cases, claimed, judged, recovered in by_status
        ],  # fmt: skip
        "cases": sum(int(row[1]) for row in statuses),
        "claim_amount": claim,
        "judgment_amount": sum(money(row[3]) for row in statuses),
        "recovered": sum(money(row[4]) for row in statuses),
        "recovery_rate": share(sum(money(row[4]) for row in statuses), claim),
        "pipeline": [
            {
                "month": month.isoformat(),
                "status": status,
                "cases_entered": int(entered),
                "cases_at_month_end": int(at_end),
                "median_days": None if median is None else float(median),
                "recovery_rate": None if rate is None else float(rate),
            }
            for month, status, entered, at_end, median, rate in pipeline
        ],  # fmt: skip
    }


def render_arrangements(figures: dict[str, Any], config: ReportConfig, table: Table) -> str:
    """Outcomes by kind (chart and table), keep rates by negotiating team."""
    labels = config.labels
    kinds = figures["kinds"]
    names = [labels.value("arrangement_kind", entry["kind"]) for entry in kinds]
    chart = charts.stacked_bar_chart(
        "arrangement-outcomes",
        labels.text("charts.arrangement_outcomes"),
        names,
        [(labels.value("arrangement_status", outcome), [entry[outcome] for entry in kinds]) for outcome in OUTCOMES],
        category_title=labels.text("charts.arrangement_kind"),
        value_title=labels.text("charts.arrangements"),
        series_title=labels.text("charts.status"),
        colors={labels.value("arrangement_status", code): color for code, color in OUTCOME_COLORS.items()},
    )
    summary = labels.html(
        "text.arrangements_summary",
        arrangements=charts.count_format(sum(entry["arrangements"] for entry in kinds)),
        waived=charts.amount_format(figures["waived_amount"]),
        disagreements=charts.count_format(figures["disagreements"]),
    )
    kind_rows = [
        [name, entry["arrangements"], entry["kept"], entry["broken"], entry["performing"], _percent(entry["keep_rate"])]
        for name, entry in zip(names, kinds, strict=True)
    ]
    team_rows = [
        [labels.value("team", entry["team"]), entry["kept"], entry["broken"], _percent(entry["keep_rate"])]
        for entry in figures["teams"]
    ]
    return (
        f"<p>{summary}</p>"
        + (chart if kinds else "")
        + table(labels.words("text.arrangements_headers"), kind_rows, (1, 2, 3, 4, 5))
        + table(labels.words("text.arrangement_team_headers"), team_rows, (1, 2, 3))
    )


def render_legal(figures: dict[str, Any], config: ReportConfig, table: Table) -> str:
    """Cases by current status (chart), claim / judgment / recovered, the pipeline of the last months."""
    labels = config.labels
    chart = charts.bar_chart(
        "legal-statuses",
        labels.text("charts.legal_statuses"),
        [(labels.value("legal_status", entry["status"]), entry["cases"]) for entry in figures["statuses"]],
        category_title=labels.text("charts.status"),
        value_title=labels.text("charts.cases"),
    )
    summary = labels.html(
        "text.legal_summary",
        cases=charts.count_format(figures["cases"]),
        claim=charts.amount_format(figures["claim_amount"]),
        judgment=charts.amount_format(figures["judgment_amount"]),
        recovered=charts.amount_format(figures["recovered"]),
        recovery_rate=_percent(figures["recovery_rate"]),
    )
    months = sorted({entry["month"] for entry in figures["pipeline"]}, reverse=True)[:PIPELINE_MONTHS]
    rows = [
        [entry["month"][:7], labels.value("legal_status", entry["status"]), entry["cases_entered"],
         entry["cases_at_month_end"], "" if entry["median_days"] is None else f"{entry['median_days']:.1f}",
         _percent(entry["recovery_rate"])]
        for entry in figures["pipeline"]
        if entry["month"] in months
    ]  # fmt: skip
    return (
        f"<p>{summary}</p>"
        + (chart if figures["statuses"] else "")
        + table(labels.words("text.legal_pipeline_headers"), rows, (2, 3, 4, 5))
    )
