"""The report as one self-contained HTML page: inline CSS and SVG, no script, no external resource.

Rendering reads only the figures dict (the same one written to report.json), so the page and the
JSON can never disagree. Every word comes from labels.yml in the configured language; every value
from the data is escaped; times are shown in the business time zone (settings.source_timezone()).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from arrears.report import arrangements_legal, charts
from arrears.report.config import Labels, ReportConfig
from arrears.report.experiments import experiment_table
from arrears.report.score import render_score
from arrears.settings import source_timezone

Renderer = Callable[[dict[str, Any], ReportConfig], str]

PASS_FAIL_COLORS = {"passed": "#009E73", "failed": "#D55E00"}
DBT_OUTCOME_COLORS = {**PASS_FAIL_COLORS, "warned": "#E69F00", "skipped": "#999999"}
PROMISE_COLORS = {"kept": "#009E73", "broken": "#D55E00", "open": "#56B4E9"}

STYLE = """
body { font-family: sans-serif; margin: 0 auto; max-width: 1100px; padding: 16px 24px; color: #222; }
h1 { margin-bottom: 0; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 32px; }
.meta, .caption { color: #555; } .caption { max-width: 760px; }
.alarm { background: #b00020; color: #fff; padding: 12px 16px; border-radius: 6px; margin: 16px 0; }
.alarm h2 { border: 0; margin: 0 0 6px; color: #fff; font-size: 20px; } .alarm p { margin: 4px 0; }
.headline { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.headline div { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.headline b { display: block; font-size: 20px; }
.unavailable { background: #fff4e5; border-left: 4px solid #E69F00; padding: 8px 12px; }
.note { background: #eef4fb; border-left: 4px solid #0072B2; padding: 8px 12px; }
.bad { color: #b00020; font-weight: bold; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12px; word-break: break-all; }
nav a { margin-right: 12px; }
svg { display: block; margin: 8px 0; }
"""


def esc(value: Any) -> str:
    """Text for HTML: None as an empty cell, everything else escaped."""
    return "" if value is None else escape(str(value), quote=True)


def amount(value: float | None) -> str:
    """12345.6 -> '12,345.60' (CNY)."""
    return "" if value is None else charts.amount_format(value)


def percent(value: float | None) -> str:
    """0.5 -> '50.0%'; None (nothing to divide by) -> 'n/a'."""
    return "n/a" if value is None else charts.share_format(value)


def count(value: int | float | None) -> str:
    """1234 -> '1,234'."""
    return "" if value is None else charts.count_format(value)


def local_time(value: str | None) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM:SS' in the business time zone (a manager reads Beijing time)."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(source_timezone())).strftime("%Y-%m-%d %H:%M:%S")


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


def _named(labels: Labels, kind: str, codes: Sequence[str]) -> list[str]:
    return [labels.value(kind, code) for code in codes]


def _colors_named(labels: Labels, kind: str, colors: dict[str, str]) -> dict[str, str]:
    return {labels.value(kind, code): color for code, color in colors.items()}


TREND_ROWS = {
    "collected_amount": "text.trend_collected_row",
    "promise_kept_rate": "text.trend_kept_rate_row",
    "violations": "text.trend_violations_row",
    "complaints": "text.trend_complaints_row",
}


def _trends(figures: dict[str, Any], config: ReportConfig) -> str:
    labels = config.labels
    if len(figures["nights"]) < 2:
        return f'<p class="note">{labels.html("text.trend_one_night")}</p>'
    chart_keys = {
        "delinquency_rate": ("trend_delinquency", charts.share_format),
        "collected_amount": ("trend_collected", charts.amount_format),
        "promise_kept_rate": ("trend_kept_rate", charts.share_format),
        "violations": ("trend_violations", charts.count_format),
        "complaints": ("trend_complaints", charts.count_format),
    }
    nights = figures["nights"]
    rule_at = next((night for night in nights if night >= figures["recent_since"]), None)
    if rule_at == nights[0]:
        rule_at = None  # every night drawn is recent: no rule to draw
    parts, rows = [], []
    for figure, (chart_key, fmt) in chart_keys.items():
        lines = [entry for entry in figures["figures"] if entry["figure"] == figure]
        if not lines:
            continue
        names = [
            labels.value("stage", entry["line"]) if entry["line"] else labels.text(f"charts.{chart_key}")
            for entry in lines
        ]
        parts.append(
            charts.line_chart(
                f"trend-{figure.replace('_', '-')}",
                labels.text(f"charts.{chart_key}"),
                [
                    (name, [(p["night"], p["value"]) for p in entry["points"]])
                    for name, entry in zip(names, lines, strict=True)
                ],
                x_title=labels.text("charts.night"),
                y_title="",
                series_title=labels.text("charts.stage") if figure == "delinquency_rate" else "",
                y_format=fmt,
                colors=_colors_named(labels, "stage", config.stage_colors),
                palette=config.series_colors,
                x_order=nights,
                rule_at=rule_at,
                rule_label=labels.text("charts.last_recent", nights=figures["recent_nights"]),
            )
        )
        for name, entry in zip(names, lines, strict=True):
            row_label = (
                labels.text("text.trend_delinquency_row", stage=name)
                if figure == "delinquency_rate"
                else labels.text(TREND_ROWS[figure])
            )
            show = percent if fmt is charts.share_format else (amount if fmt is charts.amount_format else count)
            rows.append((row_label, show(entry["last"]), show(entry["average_recent"]), show(entry["average_all"])))
    summary = labels.html(
        "text.trend_nights", nights=len(nights), first=nights[0], last=nights[-1], most=figures["all_nights"]
    )
    headers = labels.words("text.trend_table_headers") + [
        labels.text("text.trend_average", nights=figures["recent_nights"]),
        labels.text("text.trend_average", nights=figures["all_nights"]),
    ]
    return f"<p>{summary}</p>" + table(headers, rows, numeric=(1, 2, 3)) + "".join(parts)


def _portfolio(figures: dict[str, Any], config: ReportConfig) -> str:
    labels = config.labels
    stages = [entry["stage"] for entry in figures["by_stage"]]
    colors = _colors_named(labels, "stage", config.stage_colors)
    by_stage_chart = charts.bar_chart(
        "portfolio-stage",
        labels.text("charts.loans_by_stage"),
        [(labels.value("stage", entry["stage"]), entry["loans"]) for entry in figures["by_stage"]],
        category_title=labels.text("charts.stage"),
        value_title=labels.text("charts.loans"),
        colors=colors,
    )
    by_bucket_chart = charts.stacked_bar_chart(
        "portfolio-bucket",
        labels.text("charts.loans_by_bucket"),
        [entry["bucket"] for entry in figures["by_bucket"]],
        [
            (labels.value("stage", stage), [entry["by_stage"].get(stage, 0) for entry in figures["by_bucket"]])
            for stage in stages
        ],
        category_title=labels.text("charts.bucket"),
        value_title=labels.text("charts.loans"),
        series_title=labels.text("charts.stage"),
        colors=colors,
    )
    rows = [
        (
            labels.value("stage", entry["stage"]),
            count(entry["loans"]),
            amount(entry["overdue_amount"]),
            amount(entry["outstanding_principal"]),
        )
        for entry in figures["by_stage"]
    ]
    return by_stage_chart + by_bucket_chart + table(labels.words("text.portfolio_headers"), rows, numeric=(1, 2, 3))


def _dpd(figures: dict[str, Any], config: ReportConfig) -> str:
    labels = config.labels
    chart = charts.bar_chart(
        "dpd-histogram",
        labels.text("charts.dpd_histogram"),
        [(b["label"], b["loans"]) for b in figures["bins"]],
        category_title=labels.text("charts.dpd_bin"),
        value_title=labels.text("charts.loans"),
    )
    summary = labels.html(
        "text.dpd_summary",
        delinquent=count(figures["delinquent_loans"]),
        max_dpd=figures["max_dpd"],
        at_zero=count(figures["loans_at_dpd_0"]),
    )
    return chart + f"<p>{summary}</p>"


def _roll_rates(figures: dict[str, Any], config: ReportConfig, day: str = "") -> str:
    labels = config.labels
    if figures["month_end"] is None:
        return f'<p class="note">{labels.html("text.roll_no_month_end", day=day)}</p>'
    if not figures["cells"]:
        return f'<p class="note">{labels.html("text.roll_empty", month_end=figures["month_end"])}</p>'
    values = {
        (cell["from_bucket"], cell["to_bucket"]): cell["loans_share"]
        for cell in figures["cells"]
        if cell["loans_share"] is not None
    }
    chart = charts.heatmap(
        "roll-rate-heatmap",
        labels.text("charts.roll_rates", month_end=figures["month_end"]),
        figures["from_buckets"],
        figures["to_buckets"],
        values,
        row_title=labels.text("charts.previous_month_end"),
        column_title=labels.text("charts.month_end", month_end=figures["month_end"]),
    )
    summary = labels.html("text.roll_summary", month_end=figures["month_end"], cure_rate=percent(figures["cure_rate"]))
    return chart + f"<p>{summary}</p>"


def _vintages(figures: dict[str, Any], config: ReportConfig) -> str:
    labels = config.labels
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
                labels.text("charts.ever_share", threshold=threshold),
                series,
                x_title=labels.text("charts.months_on_book"),
                y_title=labels.text("charts.share"),
                series_title=labels.text("charts.cohort"),
                palette=config.series_colors,
            )
        )
    note = labels.html("text.vintage_note", shown=len(figures["cohorts"]), cohorts_total=figures["cohorts_total"])
    return "".join(parts) + f"<p>{note}</p>"


def _work_queue(figures: dict[str, Any], config: ReportConfig) -> str:
    labels = config.labels
    teams = figures["teams"]
    chart = charts.stacked_bar_chart(
        "queue-teams",
        labels.text("charts.queue_teams"),
        _named(labels, "team", [team["team"] for team in teams]),
        [(bucket, [team["by_bucket"].get(bucket, 0) for team in teams]) for bucket in figures["buckets"]],
        category_title=labels.text("charts.team"),
        value_title=labels.text("charts.accounts"),
        series_title=labels.text("charts.bucket"),
    )
    if figures["held_reasons"]:
        held = charts.bar_chart(
            "queue-held-reasons",
            labels.text("charts.held_reasons"),
            [(labels.value("reason", entry["reason"]), entry["accounts"]) for entry in figures["held_reasons"]],
            category_title=labels.text("charts.reason"),
            value_title=labels.text("charts.accounts"),
        )
    else:
        held = f"<p>{labels.html('text.no_held')}</p>"
    rows = [
        (labels.value("team", team["team"]), count(team["accounts"]), amount(team["overdue_amount"])) for team in teams
    ]
    summary = labels.html(
        "text.queue_summary",
        accounts=count(figures["accounts"]),
        work_date=figures["work_date"],
        held=count(figures["held"]),
    )
    return f"<p>{summary}</p>" + chart + held + table(labels.words("text.queue_headers"), rows, numeric=(1, 2))


def _promises(figures: dict[str, Any], config: ReportConfig) -> str:
    labels = config.labels
    chart = charts.bar_chart(
        "promise-status",
        labels.text("charts.promise_status"),
        [
            (labels.value("outcome", "kept"), figures["kept"]),
            (labels.value("outcome", "broken"), figures["broken"]),
            (labels.value("outcome", "open"), figures["open_in_grace"]),
        ],
        category_title=labels.text("charts.status"),
        value_title=labels.text("charts.promises"),
        colors=_colors_named(labels, "outcome", PROMISE_COLORS),
    )
    summary = labels.html(
        "text.promises_summary",
        kept_rate=percent(figures["kept_rate"]),
        kept=count(figures["kept"]),
        due=count(figures["due"]),
        window_start=figures["window_start"],
        window_end=figures["window_end"],
        promised=amount(figures["promised_amount_due"]),
        made=count(figures["made_on_date"]),
        open_now=count(figures["open_now"]),
    )
    return f"<p>{summary}</p>" + chart


def _compliance(figures: dict[str, Any], config: ReportConfig) -> str:
    labels = config.labels
    if not figures["violations"]:
        return f"<p>{labels.html('text.no_violations')}</p>"
    rules = [entry["rule"] for entry in figures["rules"]]
    teams = figures["teams"]
    chart = charts.stacked_bar_chart(
        "compliance-teams",
        labels.text("charts.compliance_teams"),
        _named(labels, "team", [team["team"] for team in teams]),
        [(labels.value("rule", rule), [team["by_rule"].get(rule, 0) for team in teams]) for rule in rules],
        category_title=labels.text("charts.team"),
        value_title=labels.text("charts.violations"),
        series_title=labels.text("charts.rule"),
    )
    rows = [(labels.value("rule", entry["rule"]), count(entry["violations"])) for entry in figures["rules"]]
    summary = labels.html("text.violations_summary", violations=count(figures["violations"]))
    return f'<p class="bad">{summary}</p>' + chart + table(labels.words("text.compliance_headers"), rows, numeric=(1,))


def _experiments(figures: dict[str, Any], config: ReportConfig) -> str:
    words = {
        "headers": config.labels.words("text.experiment_headers"),
        **{key: config.labels.text(f"text.experiment_{key}") for key in ("champion", "higher", "lower", "unclear")},
    }
    parts = []
    for experiment in figures["experiments"]:
        headers, rows = experiment_table(experiment, words)
        parts.append(f"<h3>{esc(experiment['experiment'])}</h3>" + table(headers, rows))
    return "".join(parts)


def _data_quality(figures: dict[str, Any], config: ReportConfig) -> str:
    labels = config.labels
    suites = figures["suites"]
    chart = charts.stacked_bar_chart(
        "dq-suites",
        labels.text("charts.dq_suites"),
        [suite["suite"] for suite in suites],
        [(labels.value("outcome", outcome), [suite[outcome] for suite in suites]) for outcome in ("passed", "failed")],
        category_title=labels.text("charts.suite"),
        value_title=labels.text("charts.expectations"),
        series_title=labels.text("charts.outcome"),
        colors=_colors_named(labels, "outcome", PASS_FAIL_COLORS),
    )
    if figures["failed"]:
        failed = labels.html("text.dq_failed", failed=figures["failed"], expectations=figures["expectations"])
        verdict = f'<p class="bad">{failed}</p>'
    else:
        verdict = f"<p>{labels.html('text.dq_passed', expectations=figures['expectations'])}</p>"
    failures = (
        table(
            labels.words("text.dq_headers"),
            [(entry["suite"], entry["expectation"], entry["observed_value"]) for entry in figures["failures"]],
        )
        if figures["failures"]
        else ""
    )
    meta = labels.html("text.dq_meta", run_id=figures["run_id"], checked_at=local_time(figures["checked_at"]))
    closed = figures.get("closed_with_balance") or []
    exceptions = (
        f"<p>{labels.html('text.closed_with_balance', loans=count(len(closed)))}</p>"
        + table(
            labels.words("text.closed_with_balance_headers"),
            [(entry["loan_id"], entry["closed_on"], amount(entry["outstanding_principal"])) for entry in closed],
            numeric=(2,),
        )
        if closed
        else ""
    )
    return verdict + f'<p class="meta">{meta}</p>' + chart + failures + exceptions


def _ingest(figures: dict[str, Any], config: ReportConfig) -> str:
    labels = config.labels
    batch = figures["batch"]
    if batch:
        summary = (
            "<p>"
            + labels.html(
                "text.ingest_summary",
                status=batch["status"],
                rows_loaded=count(batch["rows_loaded"]),
                rows_quarantined=count(batch["rows_quarantined"]),
                loaded_at=local_time(batch["loaded_at"]),
            )
            + "</p>"
        )
    else:
        summary = f'<p class="unavailable">{labels.html("text.ingest_no_batch")}</p>'
    if not figures["quarantine"]:
        return summary + f"<p>{labels.html('text.ingest_no_quarantine')}</p>"
    entities = figures["quarantine"]
    chart = charts.stacked_bar_chart(
        "quarantine-entities",
        labels.text("charts.quarantine"),
        [entry["entity"] for entry in entities],
        [(reason, [entry["by_reason"].get(reason, 0) for entry in entities]) for reason in figures["reasons"]],
        category_title=labels.text("charts.entity"),
        value_title=labels.text("charts.rows"),
        series_title=labels.text("charts.reason"),
    )
    rows = [
        (entry["entity"], reason, count(number))
        for entry in entities
        for reason, number in sorted(entry["by_reason"].items())
    ]
    return summary + chart + table(labels.words("text.ingest_headers"), rows, numeric=(2,))


def _dbt_models(figures: dict[str, Any], config: ReportConfig) -> str:
    labels = config.labels
    kinds = figures["by_resource_type"]
    outcomes = [outcome for outcome in DBT_OUTCOME_COLORS if figures[outcome]]
    chart = charts.stacked_bar_chart(
        "dbt-nodes",
        labels.text("charts.dbt_nodes"),
        [kind["resource_type"] for kind in kinds],
        [(labels.value("outcome", outcome), [kind[outcome] for kind in kinds]) for outcome in outcomes],
        category_title=labels.text("charts.resource_type"),
        value_title=labels.text("charts.nodes"),
        series_title=labels.text("charts.outcome"),
        colors=_colors_named(labels, "outcome", DBT_OUTCOME_COLORS),
    )
    numbers: dict[str, Any] = {key: count(figures[key]) for key in ("passed", "warned", "failed", "skipped")}
    counts = labels.html("text.dbt_counts", nodes_total=count(figures["nodes_total"]), **numbers)
    verdict = f'<p class="bad">{counts}.</p>' if figures["failed"] else f"<p>{counts}.</p>"
    selection = f" <code>--select {esc(' '.join(figures['select']))}</code>" if figures["select"] else ""
    meta = labels.html(
        "text.dbt_meta",
        raw={"selection": selection},
        seconds=f"{figures['seconds']:,.1f}",
        finished_at=local_time(figures["finished_at"]),
        invocation_id=figures["invocation_id"],
    )
    not_passed = [node for node in figures["nodes"] if node["outcome"] != "passed"]
    problems = (
        table(
            labels.words("text.dbt_problem_headers"),
            [(n["resource_type"], n["name"], n["status"], f"{n['seconds']:.2f}", n["message"]) for n in not_passed],
            numeric=(3,),
        )
        if not_passed
        else ""
    )
    every_node = table(
        labels.words("text.dbt_node_headers"),
        [(n["resource_type"], n["name"], n["status"], f"{n['seconds']:.2f}") for n in figures["nodes"]],
        numeric=(3,),
    )
    # <details> folds the long list without any script: the page stays self-contained.
    summary = labels.html("text.dbt_every_node", count=count(figures["nodes_total"]))
    return (
        verdict
        + f'<p class="meta">{meta}</p>'
        + chart
        + problems
        + f"<details><summary>{summary}</summary>{every_node}</details>"
    )


def _exports(figures: dict[str, Any], config: ReportConfig) -> str:
    labels = config.labels
    files = table(
        labels.words("text.exports_headers"),
        [
            (
                entry["recipient"],
                entry["file"],
                count(entry["rows"]),
                entry["sha256"][:16] + "...",  # the full checksum is in report.json
                entry["dq_run_id"],
                local_time(entry["exported_at"]),
            )
            for entry in figures["files"]
        ],
        numeric=(2,),
    )
    deliveries = figures["deliveries"]
    if deliveries is None:
        delivered = f'<p class="unavailable">{labels.html("text.deliveries_unavailable")}</p>'
    elif not deliveries["rows"]:
        delivered = f"<p>{labels.html('text.no_delivery')}</p>"
    else:
        delivered = f"<h3>{labels.html('text.deliveries')}</h3>" + table(deliveries["columns"], deliveries["rows"])
    summary = labels.html("text.exports_summary", files=len(figures["files"]), rows=count(figures["rows_exported"]))
    nowhere = figures.get("routed_nowhere")
    if nowhere is not None:  # worked rows no recipient serves (business rules §5)
        per_team = ", ".join(f"{team} {count(rows)}" for team, rows in nowhere.items()) or "-"
        summary += " " + labels.html("text.routed_nowhere", rows=count(sum(nowhere.values())), teams=per_team)
    return f"<p>{summary}</p>" + files + delivered


RENDERERS: dict[str, Renderer] = {
    "portfolio": _portfolio,
    "trends": _trends,
    "dpd": _dpd,
    "roll_rates": _roll_rates,
    "vintages": _vintages,
    "work_queue": _work_queue,
    "score": partial(render_score, table=table, count=count, percent=percent),
    "promises": _promises,
    "arrangements": lambda figures, config: arrangements_legal.render_arrangements(figures, config, table),
    "legal": lambda figures, config: arrangements_legal.render_legal(figures, config, table),
    "compliance": _compliance,
    "experiments": _experiments,
    "data_quality": _data_quality,
    "ingest": _ingest,
    "dbt_models": _dbt_models,
    "exports": _exports,
}

TILES: dict[str, Callable[[Any], str]] = {
    "loans": count,
    "delinquent_loans": count,
    "overdue_amount": amount,
    "queue_accounts": count,
    "held_accounts": count,
    "promise_kept_rate": percent,
    "compliance_violations": count,
    "dq_failed_expectations": count,
    "dbt_failed_nodes": count,
    "quarantined_rows": count,
}


def _headline(report: dict[str, Any], labels: Labels) -> str:
    tiles = [
        f"<div>{labels.html(f'tiles.{key}')}<b>{esc(fmt(report['headline'][key]))}</b></div>"
        for key, fmt in TILES.items()
        if report["headline"].get(key) is not None
    ]
    return f'<div class="headline">{"".join(tiles)}</div>' if tiles else ""


def _gate_reason(entry: dict[str, Any], labels: Labels) -> str:
    reasons = []
    if entry["unchecked"]:
        reasons.append(labels.text("banner.no_check"))
    if entry["failed"]:
        reasons.append(labels.text("banner.failed_suites", suites=", ".join(entry["failed"])))
    return "; ".join(reasons)


def banner(night: dict[str, Any], day: str, labels: Labels) -> str:
    """The red banner of a night whose files did not (all) reach the collectors; empty for a normal night."""
    if not night["alarm"]:
        return ""
    lines = []
    mark = night["mark"]
    if mark is not None:
        kind = "retracted" if mark["status"] == "retracted" else "missing"
        lines.append(
            labels.html(f"banner.{kind}", day=day, detail=mark["detail"], marked_at=local_time(mark["marked_at"]))
        )
    blocked = [entry for entry in night["gate"] if entry["blocked"]]
    if blocked:
        # Recipients blocked for the same reason are named together: one line per reason, not per recipient.
        by_reason: dict[str, list[str]] = {}
        for entry in blocked:
            by_reason.setdefault(_gate_reason(entry, labels), []).append(entry["recipient"])
        reasons = "; ".join(
            labels.text("banner.blocked_reason", recipient=", ".join(names), reason=reason)
            for reason, names in by_reason.items()
        )
        lines.append(labels.html("banner.blocked", count=len(blocked), recipients=reasons))
    received = [entry["recipient"] for entry in night["gate"] if not entry["blocked"]]
    if mark is not None and mark["status"] == "retracted":
        lines.append(labels.html("banner.retracted_nobody"))
    elif mark is not None or not received:
        lines.append(labels.html("banner.nobody"))
    else:
        lines.append(labels.html("banner.some", recipients=", ".join(received)))
    body = "".join(f"<p>{line}</p>" for line in lines)
    return f'<div class="alarm" role="alert" id="night-alarm"><h2>{labels.html("banner.heading")}</h2>{body}</div>'


def _links(links: dict[str, Any], labels: Labels) -> str:
    items = []
    for key in ("dbt_docs", "gx_data_docs"):
        link, label = links[key], labels.text(f"text.link_{key}")
        if link["available"]:
            items.append(f'<li><a href="{esc(link["href"])}">{esc(label)}</a></li>')
        else:
            items.append(f"<li>{labels.html('text.link_not_built', label=label)}</li>")
    dags = ", ".join(f'<a href="{esc(dag["href"])}">{esc(dag["dag_id"])}</a>' for dag in links["airflow"])
    items.append(f"<li>{labels.html('text.link_airflow')} {dags}</li>")
    return f'<h2 id="links">{labels.html("page.links")}</h2><ul>' + "".join(items) + "</ul>"


def render_page(report: dict[str, Any], config: ReportConfig) -> str:
    """The whole HTML page for a report dict (as written to report.json)."""
    labels = config.labels
    day = report["business_date"]
    nav = " ".join(f'<a href="#{esc(key)}">{esc(config.text(key).title)}</a>' for key in report["sections"])
    body: list[str] = []
    with charts.building():
        for key, section in report["sections"].items():
            text = config.text(key)
            body.append(
                f'<section id="{esc(key)}"><h2>{esc(text.title)}</h2><p class="caption">{esc(text.caption)}</p>'
            )
            if not section["available"]:
                body.append(f'<p class="unavailable">{labels.html("page.not_available", note=section["note"])}</p>')
            elif key == "roll_rates":
                body.append(_roll_rates(section, config, day))
            else:
                body.append(RENDERERS[key](section, config))
            body.append("</section>")
    meta = labels.html("page.meta", day=day, generated=local_time(report["generated_at"]), timezone=source_timezone())
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{esc(labels.text("page.html_lang"))}"><head><meta charset="utf-8">'
        f"<title>{labels.html('page.title', day=day)}</title>"
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head><body>'
        f"{banner(report['night'], day, labels)}"
        f"<h1>{labels.html('page.title', day=day)}</h1>"
        f'<p class="meta">{meta} <a href="report.json">report.json</a>.</p>'
        f'{_headline(report, labels)}<nav>{nav} <a href="#links">{labels.html("page.links")}</a></nav>'
        + "".join(body)
        + _links(report["links"], labels)
        + "</body></html>\n"
    )
