"""The collection score's monitoring section (business rules §10, docs/scorecard.md).

- PSI per night (marts.agg_score_stability_daily) over the last `trend_nights` up to D, drawn against its
  warning band: from `score_psi_warning` (0.10) to `score_psi_alert` (0.25), and alert above;
- realised KS per month of scored nights (marts.agg_score_realised_ks_monthly), with the event rate and the
  mean predicted probability of the loan-days whose label has matured.

The bands are the dbt vars the mart's status uses, read from dbt_project.yml so the chart and the status
cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yaml

from arrears.report import charts
from arrears.report.config import ReportConfig
from arrears.report.figures import Figures, Unavailable, plain, relation_exists
from arrears.settings import DBT_PROJECT_DIR

if TYPE_CHECKING:
    import psycopg

STABILITY = "marts.agg_score_stability_daily"
REALISED_KS = "marts.agg_score_realised_ks_monthly"
BAND_COLORS = {"warning": "#E69F00", "alert": "#D55E00"}


def psi_bands() -> tuple[float, float]:
    """The PSI from which a night warns and from which it alerts (dbt vars score_psi_warning / _alert)."""
    variables = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    return float(variables["score_psi_warning"]), float(variables["score_psi_alert"])


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def score_monitoring(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """PSI per night up to D with its bands and status, and the realised KS of every month up to D's."""
    if not relation_exists(conn, STABILITY):
        raise Unavailable(f"{STABILITY} does not exist in the warehouse yet")
    first = day - dt.timedelta(days=config.trend_nights - 1)
    psi = [
        {"night": plain(r[0]), "version": r[1], "loans": int(r[2]), "psi": _number(r[3]), "status": r[4]}
        for r in conn.execute(
            f"""select business_date, scorecard_version, loans_scored, psi, psi_status from {STABILITY}
                where business_date between %s and %s order by business_date, scorecard_version""",
            (first, day),
        ).fetchall()
    ]
    months: list[dict[str, Any]] = []
    if relation_exists(conn, REALISED_KS):
        months = [
            {
                "month": plain(r[0])[:7],
                "version": r[1],
                "loan_days": int(r[2]),
                "event_rate": _number(r[3]),
                "mean_predicted": _number(r[4]),
                "realised_ks": _number(r[5]),
            }
            for r in conn.execute(
                f"""select score_month, scorecard_version, loan_days, event_rate, mean_predicted, realised_ks
                    from {REALISED_KS} where score_month <= %s order by score_month, scorecard_version""",
                (day,),
            ).fetchall()
        ]
    if not psi and not months:
        raise Unavailable(
            f"no night up to {day.isoformat()} was scored ({STABILITY} has no row: no scorecard active yet, "
            "see `arrears score activate`)"
        )
    warning, alert = psi_bands()
    tonight = [entry for entry in psi if entry["night"] == day.isoformat()]
    return {"psi_warning": warning, "psi_alert": alert, "tonight": tonight, "psi": psi, "realised_ks": months}


def psi_chart(chart_id: str, title: str, figures: dict[str, Any], *, x_title: str, band_labels: dict[str, str]) -> str:
    """PSI per night (one line per version) over the shaded warning band and the alert band above it."""
    import altair as alt

    warning, alert = figures["psi_warning"], figures["psi_alert"]
    nights = sorted({entry["night"] for entry in figures["psi"]})
    top = max([alert * 1.2] + [entry["psi"] for entry in figures["psi"] if entry["psi"] is not None])
    versions = sorted({entry["version"] for entry in figures["psi"]})
    x = alt.X("x:O", scale=alt.Scale(domain=nights), axis=alt.Axis(title=x_title, labelAngle=-45))
    y = alt.Y("y:Q", scale=alt.Scale(domain=[0, top]), axis=alt.Axis(title="PSI", format=".2f"))
    bands = charts._data(
        [
            {"y": warning, "y2": alert, "band": "warning", "tip": f"{band_labels['warning']}: {warning:.2f}"},
            {"y": alert, "y2": top, "band": "alert", "tip": f"{band_labels['alert']}: {alert:.2f}"},
        ]
    )
    band_color = alt.Color(
        "band:N", scale=alt.Scale(domain=list(BAND_COLORS), range=list(BAND_COLORS.values())), legend=None
    )
    edges = charts._data([{"y": warning, "label": band_labels["warning"]}, {"y": alert, "label": band_labels["alert"]}])
    points = [
        {
            "x": entry["night"],
            "y": entry["psi"],
            "series": entry["version"],
            "tip": f"{entry['version']}, {entry['night']}: PSI {entry['psi']:.3f} ({entry['status']})",
        }
        for entry in figures["psi"]
        if entry["psi"] is not None
    ]
    layers = [
        alt.Chart(bands).mark_rect(opacity=0.18).encode(y, alt.Y2("y2:Q"), color=band_color, description="tip:N"),
        alt.Chart(edges).mark_rule(strokeDash=[4, 4], color="#555").encode(y),
        alt.Chart(edges).mark_text(align="left", dx=4, dy=-6, x=4, color="#555").encode(y, text="label:N"),
        alt.Chart(charts._data(points))
        .mark_line(point=True)
        .encode(
            x,
            y,
            alt.Color(
                "series:N",
                scale=alt.Scale(domain=versions, range=charts.colors_for(versions, None)),
                legend=alt.Legend(title=None, labelLimit=0) if len(versions) > 1 else None,
            ),
            description=alt.Description("tip:N"),
        ),
    ]
    return charts.render(
        alt.layer(*layers).resolve_scale(color="independent").properties(width=560, height=220), chart_id, title
    )


def render_score(
    figures: dict[str, Any],
    config: ReportConfig,
    *,
    table: Callable[..., str],
    count: Callable[[Any], str],
    percent: Callable[[Any], str],
) -> str:
    """D's PSI and status per version, the PSI chart with its bands, the realised KS chart and table.
    The page's own table and number formats are passed in (the page imports this module, not the reverse)."""
    labels = config.labels
    bands = {"warning": figures["psi_warning"], "alert": figures["psi_alert"]}
    band_labels = {band: labels.text(f"charts.score_psi_{band}", value=f"{value:.2f}") for band, value in bands.items()}
    lines = [
        labels.html(
            "text.score_tonight",
            version=entry["version"],
            loans=count(entry["loans"]),
            psi="" if entry["psi"] is None else f"{entry['psi']:.3f}",
            status=labels.value("psi_status", entry["status"]),
        )
        for entry in figures["tonight"]
    ] or [labels.html("text.score_not_tonight")]
    parts = [f"<p>{line}</p>" for line in lines]
    if figures["psi"]:
        parts.append(
            psi_chart(
                "score-psi",
                labels.text("charts.score_psi"),
                figures,
                x_title=labels.text("charts.night"),
                band_labels=band_labels,
            )
        )
    months = figures["realised_ks"]
    if months:
        versions = sorted({entry["version"] for entry in months})
        parts.append(
            charts.line_chart(
                "score-realised-ks",
                labels.text("charts.score_realised_ks"),
                [
                    (version, [(e["month"], e["realised_ks"]) for e in months if e["version"] == version])
                    for version in versions
                ],
                x_title=labels.text("charts.score_month"),
                y_title="KS",
                y_format=charts.share_format,
                x_order=sorted({entry["month"] for entry in months}),
            )
        )
        rows = [
            (
                e["month"],
                e["version"],
                count(e["loan_days"]),
                percent(e["event_rate"]),
                percent(e["mean_predicted"]),
                percent(e["realised_ks"]),
            )
            for e in months
        ]
        parts.append(table(labels.words("text.score_ks_headers"), rows, numeric=(2, 3, 4, 5)))
    else:
        parts.append(f'<p class="note">{labels.html("text.score_no_ks")}</p>')
    return "".join(parts)
