"""The report as one self-contained HTML page: inline CSS and SVG, no script, no external resource.

Rendering reads only the figures dict (the same one written to report.json), so the page and the
JSON can never disagree. Every value from the data is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from arrears.report import charts
from arrears.report.config import ReportConfig

Renderer = Callable[[dict[str, Any], ReportConfig], str]

PASS_FAIL_COLORS = {"passed": "#009E73", "failed": "#D55E00"}
DBT_OUTCOME_COLORS = {**PASS_FAIL_COLORS, "warned": "#E69F00", "skipped": "#999999"}

STYLE = """
body { font-family: sans-serif; margin: 0 auto; max-width: 1100px; padding: 16px 24px; color: #222; }
h1 { margin-bottom: 0; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 32px; }
.meta, .caption { color: #555; } .caption { max-width: 760px; }
.headline { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.headline div { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.headline b { display: block; font-size: 20px; }
.unavailable { background: #fff4e5; border-left: 4px solid #E69F00; padding: 8px 12px; }
.bad { color: #b00020; font-weight: bold; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12px; word-break: break-all; }
nav a { margin-right: 12px; }
"""


def esc(value: Any) -> str:
    """Text for HTML: None as an empty cell, everything else escaped."""
    return "" if value is None else escape(str(value), quote=True)


def amount(value: float | None) -> str:
    """12345.6 -> '12,345.60' (CNY)."""
    return "" if value is None else f"{value:,.2f}"


def percent(value: float | None) -> str:
    """0.5 -> '50.0%'; None (nothing to divide by) -> 'n/a'."""
    return "n/a" if value is None else charts.share_format(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    """An HTML table; columns whose index is in `numeric` are right-aligned."""
    head = "".join(f"<th>{esc(header)}</th>" for header in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{esc(cell)}</td>' if index in numeric else f"<td>{esc(cell)}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _portfolio(figures: dict[str, Any], config: ReportConfig) -> str:
    stages = [entry["stage"] for entry in figures["by_stage"]]
    buckets = [entry["bucket"] for entry in figures["by_bucket"]]
    by_stage_chart = charts.bar_chart(
        "portfolio-stage",
        "Loans by stage",
        [(entry["stage"], entry["loans"]) for entry in figures["by_stage"]],
        colors=config.stage_colors,
    )
    by_bucket_chart = charts.stacked_bar_chart(
        "portfolio-bucket",
        "Loans by bucket and stage",
        buckets,
        [(stage, [entry["by_stage"].get(stage, 0) for entry in figures["by_bucket"]]) for stage in stages],
        colors=config.stage_colors,
    )
    rows = [
        (entry["stage"], f"{entry['loans']:,}", amount(entry["overdue_amount"]), amount(entry["outstanding_principal"]))
        for entry in figures["by_stage"]
    ]
    return (
        by_stage_chart
        + by_bucket_chart
        + table(["stage", "loans", "overdue amount", "outstanding principal"], rows, numeric=(1, 2, 3))
    )


def _dpd(figures: dict[str, Any], config: ReportConfig) -> str:
    chart = charts.bar_chart(
        "dpd-histogram", "Delinquent loans by days past due", [(b["label"], b["loans"]) for b in figures["bins"]]
    )
    return (
        chart + f"<p>{figures['delinquent_loans']:,} delinquent loans (highest DPD {esc(figures['max_dpd'])}); "
        f"{figures['loans_at_dpd_0']:,} loans at DPD 0 are not in the chart.</p>"
    )


def _roll_rates(figures: dict[str, Any], config: ReportConfig) -> str:
    values = {
        (cell["from_bucket"], cell["to_bucket"]): cell["loans_share"]
        for cell in figures["cells"]
        if cell["loans_share"] is not None
    }
    chart = charts.heatmap(
        "roll-rate-heatmap",
        f"Roll rates by loan count, month end {figures['month_end']}",
        figures["from_buckets"],
        figures["to_buckets"],
        values,
        row_title="previous month end",
        column_title=f"month end {figures['month_end']}",
    )
    return (
        chart + f"<p>Month end {esc(figures['month_end'])}. "
        f"Cure rate (delinquent back to current): {percent(figures['cure_rate'])}.</p>"
    )


def _vintages(figures: dict[str, Any], config: ReportConfig) -> str:
    parts = []
    for threshold in (30, 90):
        key = f"ever_{threshold}_share"
        series = [
            (cohort["cohort_month"][:7], [(point["months_on_book"], point[key]) for point in cohort["points"]])
            for cohort in figures["cohorts"]
        ]
        parts.append(
            charts.line_chart(
                f"vintage-ever{threshold}",
                f"Share of loans ever {threshold}+ days past due",
                series,
                x_title="months on book",
            )
        )
    note = f"<p>Showing the {len(figures['cohorts'])} most recent of {figures['cohorts_total']} cohorts.</p>"
    return "".join(parts) + note


def _work_queue(figures: dict[str, Any], config: ReportConfig) -> str:
    teams = figures["teams"]
    chart = charts.stacked_bar_chart(
        "queue-teams",
        "Accounts per team by bucket",
        [team["team"] for team in teams],
        [(bucket, [team["by_bucket"].get(bucket, 0) for team in teams]) for bucket in figures["buckets"]],
    )
    if figures["held_reasons"]:
        held = charts.bar_chart(
            "queue-held-reasons",
            "Held accounts by reason",
            [(entry["reason"], entry["accounts"]) for entry in figures["held_reasons"]],
        )
    else:
        held = "<p>No account is held.</p>"
    rows = [(team["team"], f"{team['accounts']:,}", amount(team["overdue_amount"])) for team in teams]
    return (
        f"<p>{figures['accounts']:,} accounts for work on {esc(figures['work_date'])}, {figures['held']:,} held.</p>"
        + chart
        + held
        + table(["team", "accounts", "overdue amount"], rows, numeric=(1, 2))
    )


def _promises(figures: dict[str, Any], config: ReportConfig) -> str:
    chart = charts.bar_chart(
        "promise-status",
        "Promises falling due by status",
        [("kept", figures["kept"]), ("broken", figures["broken"]), ("open", figures["open_in_grace"])],
        colors={"kept": "#009E73", "broken": "#D55E00", "open": "#56B4E9"},
    )
    return (
        f"<p>Kept rate <b>{percent(figures['kept_rate'])}</b>: {figures['kept']:,} kept of {figures['due']:,} "
        f"promises due from {esc(figures['window_start'])} to {esc(figures['window_end'])} "
        f"(promised {amount(figures['promised_amount_due'])}). {figures['made_on_date']:,} promises made on the day, "
        f"{figures['open_now']:,} open now.</p>" + chart
    )


def _compliance(figures: dict[str, Any], config: ReportConfig) -> str:
    if not figures["violations"]:
        return "<p>No violations recorded for the day.</p>"
    rules = [entry["rule"] for entry in figures["rules"]]
    teams = figures["teams"]
    chart = charts.stacked_bar_chart(
        "compliance-teams",
        "Violations per team by rule",
        [team["team"] for team in teams],
        [(rule, [team["by_rule"].get(rule, 0) for team in teams]) for rule in rules],
    )
    rows = [(entry["rule"], f"{entry['violations']:,}") for entry in figures["rules"]]
    return (
        f'<p class="bad">{figures["violations"]:,} violations.</p>'
        + chart
        + table(["rule", "violations"], rows, numeric=(1,))
    )


def _data_quality(figures: dict[str, Any], config: ReportConfig) -> str:
    suites = figures["suites"]
    chart = charts.stacked_bar_chart(
        "dq-suites",
        "Expectations per suite",
        [suite["suite"] for suite in suites],
        [(outcome, [suite[outcome] for suite in suites]) for outcome in ("passed", "failed")],
        colors=PASS_FAIL_COLORS,
    )
    verdict = (
        f'<p class="bad">{figures["failed"]} of {figures["expectations"]} expectations failed.</p>'
        if figures["failed"]
        else f"<p>All {figures['expectations']} expectations passed.</p>"
    )
    failures = (
        table(
            ["suite", "expectation", "observed value"],
            [(entry["suite"], entry["expectation"], entry["observed_value"]) for entry in figures["failures"]],
        )
        if figures["failures"]
        else ""
    )
    meta = f'<p class="meta">Run <code>{esc(figures["run_id"])}</code> at {esc(figures["checked_at"])}.</p>'
    return verdict + meta + chart + failures


def _ingest(figures: dict[str, Any], config: ReportConfig) -> str:
    batch = figures["batch"]
    if batch:
        summary = (
            f"<p>Batch <b>{esc(batch['status'])}</b>: {batch['rows_loaded']:,} rows loaded, "
            f"{batch['rows_quarantined']:,} quarantined, at {esc(batch['loaded_at'])}.</p>"
        )
    else:
        summary = '<p class="unavailable">No batch recorded for the day (the load did not finish).</p>'
    if not figures["quarantine"]:
        return summary + "<p>No row was quarantined.</p>"
    entities = figures["quarantine"]
    chart = charts.stacked_bar_chart(
        "quarantine-entities",
        "Quarantined rows per entity by reason",
        [entry["entity"] for entry in entities],
        [(reason, [entry["by_reason"].get(reason, 0) for entry in entities]) for reason in figures["reasons"]],
    )
    rows = [
        (entry["entity"], reason, f"{count:,}")
        for entry in entities
        for reason, count in sorted(entry["by_reason"].items())
    ]
    return summary + chart + table(["entity", "reason", "rows"], rows, numeric=(2,))


def _dbt_models(figures: dict[str, Any], config: ReportConfig) -> str:
    kinds = figures["by_resource_type"]
    chart = charts.stacked_bar_chart(
        "dbt-nodes",
        "dbt nodes by type and outcome",
        [kind["resource_type"] for kind in kinds],
        [(outcome, [kind[outcome] for kind in kinds]) for outcome in DBT_OUTCOME_COLORS if figures[outcome]],
        colors=DBT_OUTCOME_COLORS,
    )
    counts = f"{figures['passed']:,} passed, {figures['warned']:,} warned, {figures['failed']:,} failed, " + (
        f"{figures['skipped']:,} skipped of {figures['nodes_total']:,} nodes"
    )
    verdict = f'<p class="bad">{counts}.</p>' if figures["failed"] else f"<p>{counts}.</p>"
    selection = f" with <code>--select {esc(' '.join(figures['select']))}</code>" if figures["select"] else ""
    meta = (
        f'<p class="meta">One <code>dbt build</code>{selection}, {figures["seconds"]:,.1f} s, finished '
        f"{esc(figures['finished_at'])} (invocation <code>{esc(figures['invocation_id'])}</code>).</p>"
    )
    not_passed = [node for node in figures["nodes"] if node["outcome"] != "passed"]
    problems = (
        table(
            ["type", "name", "status", "seconds", "message"],
            [(n["resource_type"], n["name"], n["status"], f"{n['seconds']:.2f}", n["message"]) for n in not_passed],
            numeric=(3,),
        )
        if not_passed
        else ""
    )
    every_node = table(
        ["type", "name", "status", "seconds"],
        [(n["resource_type"], n["name"], n["status"], f"{n['seconds']:.2f}") for n in figures["nodes"]],
        numeric=(3,),
    )
    # <details> folds the long list without any script: the page stays self-contained.
    return (
        verdict
        + meta
        + chart
        + problems
        + f"<details><summary>Every node ({figures['nodes_total']:,})</summary>{every_node}</details>"
    )


def _exports(figures: dict[str, Any], config: ReportConfig) -> str:
    files = table(
        ["recipient", "file", "rows", "sha256 (start)", "dq run", "exported at"],
        [
            (
                entry["recipient"],
                entry["file"],
                f"{entry['rows']:,}",
                entry["sha256"][:16] + "...",  # the full checksum is in report.json
                entry["dq_run_id"],
                entry["exported_at"],
            )
            for entry in figures["files"]
        ],
        numeric=(2,),
    )
    deliveries = figures["deliveries"]
    if deliveries is None:
        delivered = '<p class="unavailable">Deliveries: not available (audit.deliveries does not exist yet).</p>'
    elif not deliveries["rows"]:
        delivered = "<p>No delivery recorded for the day.</p>"
    else:
        delivered = "<h3>Deliveries</h3>" + table(deliveries["columns"], deliveries["rows"])
    return f"<p>{len(figures['files'])} files, {figures['rows_exported']:,} rows.</p>" + files + delivered


RENDERERS: dict[str, Renderer] = {
    "portfolio": _portfolio,
    "dpd": _dpd,
    "roll_rates": _roll_rates,
    "vintages": _vintages,
    "work_queue": _work_queue,
    "promises": _promises,
    "compliance": _compliance,
    "data_quality": _data_quality,
    "ingest": _ingest,
    "dbt_models": _dbt_models,
    "exports": _exports,
}


def _headline(report: dict[str, Any]) -> str:
    labels = {
        "loans": ("Loans", lambda v: f"{v:,}"),
        "delinquent_loans": ("Delinquent", lambda v: f"{v:,}"),
        "overdue_amount": ("Overdue amount", amount),
        "queue_accounts": ("Queued for tomorrow", lambda v: f"{v:,}"),
        "held_accounts": ("Held", lambda v: f"{v:,}"),
        "promise_kept_rate": ("Promise kept rate", percent),
        "compliance_violations": ("Violations", lambda v: f"{v:,}"),
        "dq_failed_expectations": ("Failed checks", lambda v: f"{v:,}"),
        "dbt_failed_nodes": ("Failed dbt nodes", lambda v: f"{v:,}"),
        "quarantined_rows": ("Quarantined rows", lambda v: f"{v:,}"),
    }
    tiles = [
        f"<div>{esc(label)}<b>{esc(fmt(report['headline'][key]))}</b></div>"
        for key, (label, fmt) in labels.items()
        if report["headline"].get(key) is not None
    ]
    return f'<div class="headline">{"".join(tiles)}</div>' if tiles else ""


def _links(links: dict[str, Any]) -> str:
    items = []
    for key, label in (("dbt_docs", "dbt docs (models and lineage)"), ("gx_data_docs", "GX Data Docs (check results)")):
        link = links[key]
        if link["available"]:
            items.append(f'<li><a href="{esc(link["href"])}">{esc(label)}</a></li>')
        else:
            items.append(f"<li>{esc(label)}: not built yet in this home</li>")
    dags = ", ".join(f'<a href="{esc(dag["href"])}">{esc(dag["dag_id"])}</a>' for dag in links["airflow"])
    items.append(f"<li>Airflow runs (when <code>arrears airflow</code> is running): {dags}</li>")
    return '<h2 id="links">Links</h2><ul>' + "".join(items) + "</ul>"


def render_page(report: dict[str, Any], config: ReportConfig) -> str:
    """The whole HTML page for a report dict (as written to report.json)."""
    day = esc(report["business_date"])
    nav = " ".join(f'<a href="#{esc(key)}">{esc(config.text(key).title)}</a>' for key in report["sections"])
    body = []
    for key, section in report["sections"].items():
        text = config.text(key)
        body.append(f'<section id="{esc(key)}"><h2>{esc(text.title)}</h2><p class="caption">{esc(text.caption)}</p>')
        if section["available"]:
            body.append(RENDERERS[key](section, config))
        else:
            body.append(f'<p class="unavailable">Not available: {esc(section["note"])}.</p>')
        body.append("</section>")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>Collections run report {day}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head><body>'
        f"<h1>Collections run report: {day}</h1>"
        f'<p class="meta">Business date {day}, generated {esc(report["generated_at"])}. '
        'Amounts in CNY. Machine-readable figures: <a href="report.json">report.json</a>.</p>'
        f'{_headline(report)}<nav>{nav} <a href="#links">Links</a></nav>'
        + "".join(body)
        + _links(report["links"])
        + "</body></html>\n"
    )
