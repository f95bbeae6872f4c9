"""`write_report(D)`: read the figures once, write report.json and the HTML page beside it."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from arrears.report import arrangements_legal, figures
from arrears.report.agencies import agency_scorecard
from arrears.report.config import ReportConfig, load_config
from arrears.report.experiments import experiments
from arrears.report.figures import Collector, Unavailable
from arrears.report.links import report_links
from arrears.report.night import night_figures
from arrears.report.page import render_page
from arrears.report.score import score_monitoring
from arrears.report.trends import trends
from arrears.settings import paths, source_timezone

if TYPE_CHECKING:
    import psycopg

# Page order. Keys match labels.yml `sections` and report.json `sections`.
COLLECTORS: dict[str, Collector] = {
    "portfolio": figures.portfolio,
    "trends": trends,
    "dpd": figures.dpd_distribution,
    "roll_rates": figures.roll_rates,
    "vintages": figures.vintages,
    "work_queue": figures.work_queue,
    "score": score_monitoring,
    "promises": figures.promises,
    "arrangements": arrangements_legal.arrangements,
    "legal": arrangements_legal.legal,
    "compliance": figures.compliance,
    "experiments": experiments,
    "agencies": agency_scorecard,
    "data_quality": figures.data_quality,
    "ingest": figures.ingest,
    "dbt_models": figures.dbt_models,
    "exports": figures.exports,
}


def collect_sections(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> dict[str, dict[str, Any]]:
    """Every section's figures, or `available: false` with a note; one section's gap never stops the others."""
    import psycopg

    sections: dict[str, dict[str, Any]] = {}
    for key, collect in COLLECTORS.items():
        try:
            with conn.transaction():  # a savepoint: a failed query must not abort the other sections' reads
                sections[key] = {"available": True, "note": None, **collect(conn, day, config)}
        except Unavailable as gap:
            sections[key] = {"available": False, "note": str(gap)}
        except psycopg.Error as err:
            # SQLSTATE class 42 (undefined column or function, type mismatch, no privilege): the relation exists
            # but does not have the shape the report reads yet, e.g. a mart still being built. Say so; don't crash.
            # Anything else (connection lost, disk full) is a real failure and propagates.
            if not (err.sqlstate or "").startswith("42"):
                raise
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            sections[key] = {
                "available": False,
                "note": f"the relation does not have the expected shape ({first_line})",
            }
    return sections


def headline(sections: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The few figures a manager looks at first; None where the section is not available."""

    def pick(key: str, figure: str) -> Any:
        section = sections[key]
        return section.get(figure) if section["available"] else None

    return {
        "loans": pick("portfolio", "loans"),
        "delinquent_loans": pick("portfolio", "delinquent_loans"),
        "overdue_amount": pick("portfolio", "overdue_amount"),
        "queue_accounts": pick("work_queue", "accounts"),
        "held_accounts": pick("work_queue", "held"),
        "promise_kept_rate": pick("promises", "kept_rate"),
        "compliance_violations": pick("compliance", "violations"),
        "dq_failed_expectations": pick("data_quality", "failed"),
        "dbt_failed_nodes": pick("dbt_models", "failed"),
        "quarantined_rows": pick("ingest", "quarantined_rows"),
    }


def _write_atomically(path: Path, text: str) -> None:
    """Write beside the target then rename, so a reader never opens a half-written report."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_report(business_date: dt.date) -> Path:
    """Write $ARREARS_HOME/reports/<D>/index.html and report.json for business date D; return the HTML path.

    The page's language is report.yml `language` (or $ARREARS_REPORT_LANGUAGE); `night` in report.json
    says whether the night reached the collectors (the banner).

    Reads the warehouse through one read-only, repeatable-read transaction, so every figure on the page
    comes from the same snapshot even while another process writes.
    """
    from psycopg import IsolationLevel

    from arrears.warehouse import connect

    config = load_config()
    home = paths()
    report_dir = home.reports / business_date.isoformat()
    with connect() as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            sections = collect_sections(conn, business_date, config)
            night = night_figures(conn, business_date)
    report = {
        "business_date": business_date.isoformat(),
        "language": config.language,
        "generated_at": dt.datetime.now(ZoneInfo(source_timezone())).isoformat(timespec="seconds"),
        "night": night,
        "headline": headline(sections),
        "sections": sections,
        "links": report_links(home, report_dir, config.airflow_url),
    }
    report_dir.mkdir(parents=True, exist_ok=True)
    _write_atomically(report_dir / "report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    html_path = report_dir / "index.html"
    _write_atomically(html_path, render_page(report, config))
    return html_path
