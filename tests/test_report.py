"""The nightly run report against a real warehouse: hand-built mart rows in, hand-computed figures out.

The marts are created here with the published columns (business rules §8) because the report must work
from those names alone; every expected figure below is counted by hand from the rows inserted.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import psycopg
import pytest

from arrears.report import write_report
from tests.support.marts import STAGE_COUNTS_VIEW, mart_ddl

DAY = dt.date(2024, 3, 15)
OTHER_DAY = dt.date(2024, 3, 14)
SCRIPT = "<script>alert('x')</script>"

# The marts the report reads, created empty from their dbt contracts.
REPORT_MARTS = (
    "fct_loan_delinquency_daily",
    "agg_roll_rates_monthly",
    "agg_vintage_curves",
    "fct_work_queue",
    "fct_promises_to_pay",
    "fct_compliance_violations",
    "agg_arrangement_keep_rates",
    "fct_legal_cases",
    "agg_legal_pipeline_monthly",
)


def create_marts(conn: psycopg.Connection) -> None:
    for model in REPORT_MARTS:
        conn.execute(mart_ddl(model))
    conn.execute(STAGE_COUNTS_VIEW)  # the build's per-night stage counts, over the stand-in snapshot


def insert(conn: psycopg.Connection, relation: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    placeholders = ", ".join(["%s"] * len(rows[0]))
    with conn.cursor() as cursor:
        cursor.executemany(f"insert into {relation} ({columns}) values ({placeholders})", rows)


def load_portfolio(conn: psycopg.Connection) -> None:
    # 7 loans on DAY: current 1, pre_due 1, early 3 (DPD 5, 12, 30), mid 1 (DPD 45), late 1 (DPD 200).
    insert(
        conn,
        "marts.fct_loan_delinquency_daily",
        "business_date, loan_id, borrower_id, dpd, bucket, stage, overdue_amount, outstanding_principal",
        [
            (DAY, "L1", "B1", 0, "M0", "current", 0, 1000),
            (DAY, "L2", "B2", 0, "M0", "pre_due", 0, 2000),
            (DAY, "L3", "B3", 5, "M1", "early", 100, 900),
            (DAY, "L4", "B4", 12, "M1", "early", 200, 800),
            (DAY, "L5", "B5", 30, "M1", "early", 300, 700),
            (DAY, "L6", "B6", 45, "M2", "mid", 1000, 5000),
            (DAY, "L7", "B7", 200, "M7+", "late", 4000, 12000),
            (OTHER_DAY, "L1", "B1", 3, "M1", "early", 50, 1000),  # another day: must not count
        ],
    )


def load_roll_rates_and_vintages(conn: psycopg.Connection) -> None:
    insert(
        conn,
        "marts.agg_roll_rates_monthly",
        "month_end, from_bucket, to_bucket, loans, loans_share, principal, principal_share",
        [
            (dt.date(2024, 2, 29), "M0", "M0", 90, 0.9, 90000, 0.9),
            (dt.date(2024, 2, 29), "M0", "M1", 10, 0.1, 10000, 0.1),
            (dt.date(2024, 2, 29), "M1", "M0", 3, 0.3, 3000, 0.3),
            (dt.date(2024, 2, 29), "M1", "M1", 5, 0.5, 5000, 0.5),
            (dt.date(2024, 2, 29), "M1", "M2", 2, 0.2, 2000, 0.2),
            (dt.date(2024, 1, 31), "M1", "M0", 1, 1.0, 1000, 1.0),  # an older month end
            (dt.date(2024, 3, 31), "M1", "M0", 7, 1.0, 7000, 1.0),  # after DAY: not known yet
        ],
    )
    insert(
        conn,
        "marts.agg_vintage_curves",
        "cohort_month, months_on_book, loans, ever_30_share, ever_60_share, ever_90_share",
        [
            (dt.date(2024, 1, 1), 1, 100, 0.01, 0.0, 0.0),
            (dt.date(2024, 1, 1), 2, 100, 0.05, 0.02, 0.0),
            (dt.date(2024, 2, 1), 1, 80, 0.025, 0.0, 0.0),
            (dt.date(2024, 4, 1), 1, 50, 0.5, 0.0, 0.0),  # disbursed after DAY
        ],
    )


def load_agency_scorecard(conn: psycopg.Connection) -> None:
    conn.execute(mart_ddl("agg_agency_scorecard_monthly"))
    insert(
        conn,
        "marts.agg_agency_scorecard_monthly",
        "agency_id, month_start, accounts_placed, balance_placed, collected_during_placement, liquidation_rate,"
        " cure_rate, contacts, violations_per_1000_contacts, recalled_expired, recalled_misconduct",
        [
            ("acme", DAY.replace(day=1), 4, 20000, 1500, 0.075, 0.25, 40, 25.0, 1, 1),
            ("summit", DAY.replace(day=1), 2, 8000, 0, 0, 0, 10, None, 0, 0),
            ("acme", DAY.replace(day=1) - dt.timedelta(days=29), 9, 1, 1, 1, 1, 1, None, 0, 0),  # February: not shown
        ],
    )


def test_agency_scorecard_of_the_month_with_its_chart(full_report: tuple[Path, dict[str, Any], str]) -> None:
    _, report, html = full_report
    section = report["sections"]["agencies"]
    assert section["month"] == "2024-03-01"
    assert [(a["agency_id"], a["liquidation_rate"], a["recalls"]["misconduct"]) for a in section["agencies"]] == [
        ("acme", 0.075, 1),
        ("summit", 0.0, 0),
    ]
    assert 'data-chart="agency-liquidation"' in html


def load_queue_promises_violations(conn: psycopg.Connection) -> None:
    work_date = DAY + dt.timedelta(days=1)
    insert(
        conn,
        "marts.fct_work_queue",
        "business_date, work_date, loan_id, team_id, reason, bucket, overdue_amount",
        [
            (DAY, work_date, "L2", "predue", "pre_due", "M0", 0),
            (DAY, work_date, "L3", "early", "early", "M1", 100),
            (DAY, work_date, "L4", "early", "early,ptp_hold", "M1", 200),
            (DAY, work_date, "L7", "agency:acme", "late", "M7+", 4000),
            (DAY, work_date, "L5", None, "dispute,early", "M1", 300),
            (DAY, work_date, "L6", None, "dispute,mid", "M2", 1000),
            (DAY, work_date, "L8", None, "do_not_contact,mid", "M2", 500),
            (OTHER_DAY, DAY, "L9", "early", "early", "M1", 10),
        ],
    )
    # Window 2024-02-15..2024-03-15. Due (not superseded): P1, P2 kept, P3 broken, P4 open in grace = 4.
    insert(
        conn,
        "marts.fct_promises_to_pay",
        "action_id, loan_id, promised_on, promised_date, promised_amount, status, kept_on",
        [
            ("P1", "L3", dt.date(2024, 3, 5), dt.date(2024, 3, 10), 100, "kept", dt.date(2024, 3, 9)),
            ("P2", "L4", dt.date(2024, 2, 25), dt.date(2024, 3, 1), 200, "kept", dt.date(2024, 3, 1)),
            ("P3", "L5", dt.date(2024, 3, 1), dt.date(2024, 3, 5), 300, "broken", None),
            ("P4", "L6", dt.date(2024, 3, 12), dt.date(2024, 3, 14), 400, "open", None),
            ("P5", "L6", dt.date(2024, 3, 2), dt.date(2024, 3, 8), 500, "superseded", None),
            ("P6", "L7", DAY, dt.date(2024, 3, 20), 600, "open", None),
            ("P7", "L7", dt.date(2024, 1, 5), dt.date(2024, 1, 10), 700, "kept", dt.date(2024, 1, 10)),
            ("P8", "L1", DAY + dt.timedelta(days=1), dt.date(2024, 3, 18), 800, "open", None),
        ],
    )
    insert(
        conn,
        "marts.fct_compliance_violations",
        "action_id, business_date, rule, team_id, agent_id",
        [
            ("A1", DAY, "outside_contact_window", "early", "e1"),
            ("A2", DAY, "outside_contact_window", "early", "e2"),
            ("A3", DAY, "over_daily_connected_calls", "early", "e1"),
            ("A4", DAY, "contact_during_restriction", "agency:acme", None),
            ("A5", DAY, "third_party_without_lost_contact", None, None),
            ("A6", OTHER_DAY, "contact_during_restriction", "early", "e1"),
        ],
    )


def load_audit(conn: psycopg.Connection) -> None:
    insert(
        conn,
        "audit.dq_results",
        "run_id, business_date, suite, expectation, success, observed_value, checked_at",
        [
            ("r1", DAY, "loans", "old_failure", False, "stale", dt.datetime(2024, 3, 16, 1, 0, tzinfo=dt.UTC)),
            ("r2", DAY, "loans", "loan_id_unique", True, "0", dt.datetime(2024, 3, 16, 2, 0, tzinfo=dt.UTC)),
            ("r2", DAY, "loans", "dpd_non_negative", True, "0", dt.datetime(2024, 3, 16, 2, 0, tzinfo=dt.UTC)),
            ("r2", DAY, "loans", "stage_known", True, "0", dt.datetime(2024, 3, 16, 2, 0, tzinfo=dt.UTC)),
            ("r2", DAY, "payments", "amount_positive", True, "0", dt.datetime(2024, 3, 16, 2, 0, tzinfo=dt.UTC)),
            # A borrower-controlled value (a name typed into the source system) shown as an unexpected value.
            (
                "r2",
                DAY,
                "payments",
                "payer_name_printable",
                False,
                SCRIPT,
                dt.datetime(2024, 3, 16, 2, 1, tzinfo=dt.UTC),
            ),
        ],
    )
    conn.execute(
        "insert into audit.batches (business_date, status, manifest, rows_loaded, rows_quarantined)"
        " values (%s, 'loaded', '{}', 100, 3)",
        (DAY,),
    )
    insert(
        conn,
        "audit.quarantine",
        "business_date, entity, file, line_no, raw_row, reason",
        [
            (DAY, "payments", "payments.csv", 4, "x", "bad_type"),
            (DAY, "payments", "payments.csv", 9, "y", "bad_type"),
            (DAY, "loans", "loans.csv", 2, "z", "missing_required"),
            (OTHER_DAY, "loans", "loans.csv", 2, "z", "missing_required"),
        ],
    )
    insert(
        conn,
        "audit.exports",
        "recipient, business_date, file, rows, sha256, dq_run_id",
        [
            ("dialer", DAY, "dialer_queue_2024-03-15.csv", 4, "a" * 64, "r2"),
            ("agency_acme", DAY, "agency_acme_2024-03-15.csv", 1, "b" * 64, "r2"),
            ("dialer", OTHER_DAY, "dialer_queue_2024-03-14.csv", 9, "c" * 64, "r1"),
        ],
    )


def read_report(html_path: Path) -> tuple[dict[str, Any], str]:
    return json.loads((html_path.parent / "report.json").read_text(encoding="utf-8")), html_path.read_text("utf-8")


def chart(html: str, chart_id: str) -> str:
    """The one <svg> with this data-chart id (fails the test when there is none or more than one)."""
    found = re.findall(rf'<svg[^>]*data-chart="{re.escape(chart_id)}".*?</svg>', html, flags=re.S)
    assert len(found) == 1, f"expected one chart {chart_id}, found {len(found)}"
    return found[0]


def chart_labels(svg: str) -> list[str]:
    return [unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def bar_heights(svg: str) -> dict[str, float]:
    """Bar tooltip ('label: value') -> drawn height (Vega draws an upright bar as the path 'Mx,y h<w> v<h> ...')."""
    return {
        unescape(title): float(height)
        for height, title in re.findall(
            r'<path [^>]*d="M[-\d.,]+h[-\d.]+v([-\d.]+)h[^"]*"[^>]*><title>([^<]*)</title>', svg
        )
    }


def line_colors(svg: str) -> list[str]:
    """The stroke colour of each line drawn (one per series)."""
    return re.findall(r'aria-roledescription="line mark" d="[^"]*" stroke="([^"]+)"', svg)


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the English page; test_report_language.py checks the Chinese one."""
    monkeypatch.setenv("ARREARS_REPORT_LANGUAGE", "en")


@pytest.fixture()
def full_report(conn: psycopg.Connection, arrears_home: Path) -> tuple[Path, dict[str, Any], str]:
    create_marts(conn)
    load_portfolio(conn)
    load_roll_rates_and_vintages(conn)
    load_queue_promises_violations(conn)
    load_agency_scorecard(conn)
    load_audit(conn)
    # The report shows whatever columns audit.deliveries has: replace the real ledger with a minimal one.
    conn.execute("drop table if exists audit.deliveries")
    conn.execute("create table audit.deliveries (recipient text, business_date date, file text, status text)")
    conn.execute(
        "insert into audit.deliveries values ('dialer', %s, 'dialer_queue_2024-03-15.csv', 'delivered')", (DAY,)
    )
    html_path = write_report(DAY)
    report, html = read_report(html_path)
    return html_path, report, html


def test_report_is_written_under_the_home_reports_folder(
    full_report: tuple[Path, dict[str, Any], str], arrears_home: Path
) -> None:
    html_path, report, html = full_report
    assert html_path == arrears_home / "reports" / "2024-03-15" / "index.html"
    assert report["business_date"] == "2024-03-15"
    assert html.startswith("<!DOCTYPE html>")
    # Self-contained: nothing fetched from elsewhere, no script at all.
    assert not re.search(r"<(script|link)\b", html)
    assert not re.search(r'src="https?:', html)
    # Every section but the dbt one (this fixture runs no dbt build), the score (no scorecard) and the
    # experiments (none configured) has its data.
    unloaded = ("dbt_models", "score", "experiments")
    unavailable = {
        key: s["note"] for key, s in report["sections"].items() if key not in unloaded and not s["available"]
    }
    assert unavailable == {}


def test_portfolio_by_stage_and_bucket(full_report: tuple[Path, dict[str, Any], str]) -> None:
    _, report, html = full_report
    portfolio = report["sections"]["portfolio"]
    assert portfolio["loans"] == 7
    assert portfolio["delinquent_loans"] == 5
    assert portfolio["overdue_amount"] == 5600.0
    assert portfolio["outstanding_principal"] == 22400.0
    assert [(s["stage"], s["loans"]) for s in portfolio["by_stage"]] == [
        ("pre_due", 1),
        ("current", 1),
        ("early", 3),
        ("mid", 1),
        ("late", 1),
    ]
    early = next(s for s in portfolio["by_stage"] if s["stage"] == "early")
    assert early["overdue_amount"] == 600.0
    assert [(b["bucket"], b["loans"]) for b in portfolio["by_bucket"]] == [("M0", 2), ("M1", 3), ("M2", 1), ("M7+", 1)]
    assert portfolio["by_bucket"][0]["by_stage"] == {"pre_due": 1, "current": 1}
    assert report["headline"]["loans"] == 7

    stage_chart = chart(html, "portfolio-stage")
    labels = chart_labels(stage_chart)
    for label in ("pre_due", "current", "early", "mid", "late", "3", "1"):
        assert label in labels
    heights = bar_heights(stage_chart)
    assert heights["early: 3"] == pytest.approx(3 * heights["mid: 1"])
    bucket_chart = chart(html, "portfolio-bucket")
    assert {"M0", "M1", "M2", "M7+"} <= set(chart_labels(bucket_chart))
    assert "M0, pre_due: 1" in bar_heights(bucket_chart)


def test_dpd_histogram(full_report: tuple[Path, dict[str, Any], str]) -> None:
    _, report, html = full_report
    dpd = report["sections"]["dpd"]
    assert dpd["loans_at_dpd_0"] == 2
    assert dpd["delinquent_loans"] == 5
    assert dpd["max_dpd"] == 200
    bins = {entry["label"]: entry["loans"] for entry in dpd["bins"]}
    assert bins == {
        "1-7": 1,
        "8-15": 1,
        "16-30": 1,
        "31-60": 1,
        "61-90": 0,
        "91-120": 0,
        "121-180": 0,
        "181-360": 1,
        "361+": 0,
    }
    labels = chart_labels(chart(html, "dpd-histogram"))
    assert {"1-7", "16-30", "181-360", "361+"} <= set(labels)


def test_roll_rate_heatmap_of_the_last_month_end(full_report: tuple[Path, dict[str, Any], str]) -> None:
    _, report, html = full_report
    rolls = report["sections"]["roll_rates"]
    assert rolls["month_end"] == "2024-02-29"
    assert len(rolls["cells"]) == 5
    assert rolls["cure_rate"] == 0.3  # 3 of the 10 loans in M1 at end of January... February: back to M0
    assert rolls["from_buckets"] == ["M0", "M1"]
    assert rolls["to_buckets"] == ["M0", "M1", "M2"]
    heat = chart(html, "roll-rate-heatmap")
    labels = chart_labels(heat)
    assert {"M0", "M1", "M2", "90.0%", "30.0%", "20.0%"} <= set(labels)


def test_vintage_curves(full_report: tuple[Path, dict[str, Any], str]) -> None:
    _, report, html = full_report
    vintages = report["sections"]["vintages"]
    assert vintages["cohorts_total"] == 2
    assert [cohort["cohort_month"] for cohort in vintages["cohorts"]] == ["2024-01-01", "2024-02-01"]
    assert [point["ever_30_share"] for point in vintages["cohorts"][0]["points"]] == [0.01, 0.05]
    ever30 = chart(html, "vintage-ever30")
    assert {"2024-01", "2024-02"} <= set(chart_labels(ever30))
    assert len(set(line_colors(ever30))) == 2  # one colour per cohort
    # Each curve has a visible title saying which threshold it shows.
    assert "Share of loans ever 30+ days past due" in chart_labels(ever30)
    assert "Share of loans ever 90+ days past due" in chart_labels(chart(html, "vintage-ever90"))


def test_work_queue_per_team_and_held_reasons(full_report: tuple[Path, dict[str, Any], str]) -> None:
    _, report, html = full_report
    queue = report["sections"]["work_queue"]
    assert queue["work_date"] == "2024-03-16"
    assert queue["accounts"] == 7
    assert queue["held"] == 3
    # Collection order (recipients.yml: predue, early, mid, field, agency, legal), held accounts last.
    assert [(team["team"], team["accounts"]) for team in queue["teams"]] == [
        ("predue", 1),
        ("early", 2),
        ("agency:acme", 1),
        ("held", 3),
    ]
    held = next(team for team in queue["teams"] if team["team"] == "held")
    assert held["overdue_amount"] == 1800.0
    assert held["by_bucket"] == {"M1": 1, "M2": 2}
    assert queue["held_reasons"] == [{"reason": "dispute", "accounts": 2}, {"reason": "do_not_contact", "accounts": 1}]
    assert {"agency:acme", "early", "predue", "held"} <= set(chart_labels(chart(html, "queue-teams")))
    reasons = chart_labels(chart(html, "queue-held-reasons"))
    assert {"dispute", "do_not_contact", "2", "1"} <= set(reasons)


def test_promise_kept_rate(full_report: tuple[Path, dict[str, Any], str]) -> None:
    _, report, html = full_report
    promises = report["sections"]["promises"]
    assert promises["window_start"] == "2024-02-15"
    assert promises["due"] == 4
    assert promises["kept"] == 2
    assert promises["broken"] == 1
    assert promises["open_in_grace"] == 1
    assert promises["kept_rate"] == 0.5
    assert promises["made_on_date"] == 1
    assert promises["open_now"] == 2
    assert promises["promised_amount_due"] == 1000.0
    assert report["headline"]["promise_kept_rate"] == 0.5
    assert "50.0%" in html
    assert {"kept", "broken", "open"} <= set(chart_labels(chart(html, "promise-status")))


def test_compliance_violations_per_team(full_report: tuple[Path, dict[str, Any], str]) -> None:
    _, report, html = full_report
    compliance = report["sections"]["compliance"]
    assert compliance["violations"] == 5
    assert [(team["team"], team["violations"]) for team in compliance["teams"]] == [
        ("early", 3),
        ("agency:acme", 1),
        ("(none)", 1),
    ]
    early = next(team for team in compliance["teams"] if team["team"] == "early")
    assert early["by_rule"] == {"outside_contact_window": 2, "over_daily_connected_calls": 1}
    svg = chart(html, "compliance-teams")
    assert {"early", "agency:acme", "(none)", "3"} <= set(chart_labels(svg))
    assert "early, outside_contact_window: 2" in bar_heights(svg)


def test_data_quality_uses_the_latest_run(full_report: tuple[Path, dict[str, Any], str]) -> None:
    _, report, html = full_report
    quality = report["sections"]["data_quality"]
    assert quality["run_id"] == "r2"
    assert quality["expectations"] == 5
    assert quality["failed"] == 1
    assert quality["suites"] == [
        {"suite": "loans", "passed": 3, "failed": 0},
        {"suite": "payments", "passed": 1, "failed": 1},
    ]
    assert quality["failures"][0]["expectation"] == "payer_name_printable"
    assert "old_failure" not in html
    assert {"loans", "payments"} <= set(chart_labels(chart(html, "dq-suites")))


def test_ingest_and_exports(full_report: tuple[Path, dict[str, Any], str]) -> None:
    _, report, html = full_report
    ingest = report["sections"]["ingest"]
    assert ingest["batch"]["status"] == "loaded"
    assert ingest["batch"]["rows_loaded"] == 100
    assert ingest["quarantined_rows"] == 3
    assert ingest["quarantine"] == [
        {"entity": "loans", "rows": 1, "by_reason": {"missing_required": 1}},
        {"entity": "payments", "rows": 2, "by_reason": {"bad_type": 2}},
    ]
    assert {"loans", "payments"} <= set(chart_labels(chart(html, "quarantine-entities")))
    exports = report["sections"]["exports"]
    assert [(f["recipient"], f["rows"]) for f in exports["files"]] == [("agency_acme", 1), ("dialer", 4)]
    assert exports["rows_exported"] == 5
    assert exports["deliveries"]["columns"] == ["recipient", "business_date", "file", "status"]
    assert exports["deliveries"]["rows"] == [["dialer", "2024-03-15", "dialer_queue_2024-03-15.csv", "delivered"]]
    assert "dialer_queue_2024-03-15.csv" in html
    assert "dialer_queue_2024-03-14.csv" not in html


def test_borrower_controlled_text_is_escaped(full_report: tuple[Path, dict[str, Any], str]) -> None:
    _, report, html = full_report
    assert report["sections"]["data_quality"]["failures"][0]["observed_value"] == SCRIPT
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_team_names_are_escaped_inside_charts(conn: psycopg.Connection, arrears_home: Path) -> None:
    create_marts(conn)
    insert(
        conn,
        "marts.fct_work_queue",
        "business_date, work_date, loan_id, team_id, reason, bucket, overdue_amount",
        [(DAY, DAY, "L1", 'agency:"><img src=x onerror=alert(1)>', "late", "M4", 10)],
    )
    html = write_report(DAY).read_text("utf-8")
    svg = chart(html, "queue-teams")
    assert "<img" not in svg
    assert 'agency:"><img src=x onerror=alert(1)>' in chart_labels(svg)


def test_missing_relations_give_a_not_available_note(warehouse_url: str, arrears_home: Path) -> None:
    # A freshly initialised warehouse: no marts at all, empty audit tables.
    html_path = write_report(DAY)
    report, html = read_report(html_path)
    sections = report["sections"]
    assert not any(section["available"] for section in sections.values())
    assert sections["portfolio"]["note"] == "marts.fct_loan_delinquency_daily does not exist in the warehouse yet"
    assert sections["work_queue"]["note"] == "marts.fct_work_queue does not exist in the warehouse yet"
    assert sections["data_quality"]["note"] == "no data-quality run recorded for 2024-03-15 (audit.dq_results)"
    assert sections["ingest"]["note"] == "no delivery has been loaded for 2024-03-15 (audit.batches)"
    assert sections["exports"]["note"] == "nothing was exported for 2024-03-15 (audit.exports)"
    assert html.count('class="unavailable"') == len(sections)
    assert "Not available: marts.agg_roll_rates_monthly does not exist in the warehouse yet." in html
    assert "<svg" not in html
    assert report["headline"]["loans"] is None


def test_empty_or_misshapen_relations_give_a_note_and_the_rest_still_renders(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    create_marts(conn)
    load_portfolio(conn)
    conn.execute("drop table marts.fct_work_queue")
    conn.execute("create table marts.fct_work_queue (business_date date, loan_id text)")  # a mart half built
    html_path = write_report(DAY)
    report, html = read_report(html_path)
    sections = report["sections"]
    assert sections["portfolio"]["available"]
    assert sections["portfolio"]["loans"] == 7
    assert not sections["work_queue"]["available"]
    assert "expected shape" in sections["work_queue"]["note"]
    assert 'column "team_id" does not exist' in sections["work_queue"]["note"]
    assert sections["promises"]["note"] == "marts.fct_promises_to_pay has no promises made on or before 2024-03-15"
    assert sections["compliance"]["note"] == (
        "marts.fct_compliance_violations has no rows yet (the compliance audit has not run)"
    )
    # No month end yet is not a gap: the section says why there is no matrix instead of showing an empty one.
    assert sections["roll_rates"]["available"]
    assert sections["roll_rates"]["month_end"] is None
    assert "No complete month end on or before 2024-03-15 yet" in html
    chart(html, "portfolio-stage")  # the sections that have data still draw their charts


def test_no_violations_on_the_day_is_reported_as_zero(conn: psycopg.Connection, arrears_home: Path) -> None:
    create_marts(conn)
    insert(
        conn,
        "marts.fct_compliance_violations",
        "action_id, business_date, rule, team_id, agent_id",
        [("A1", OTHER_DAY, "contact_during_restriction", "early", "e1")],
    )
    report, html = read_report(write_report(DAY))
    assert report["sections"]["compliance"]["available"]
    assert report["sections"]["compliance"]["violations"] == 0
    assert "No violations recorded for the day." in html


def test_links_to_dbt_docs_gx_data_docs_and_airflow(warehouse_url: str, arrears_home: Path) -> None:
    (arrears_home / "dbt" / "target").mkdir(parents=True, exist_ok=True)  # may hold the worker's reused parse
    (arrears_home / "dbt" / "target" / "index.html").write_text("<html></html>")
    gx_site = arrears_home / "gx" / "uncommitted" / "data_docs" / "local_site"
    gx_site.mkdir(parents=True)
    (gx_site / "index.html").write_text("<html></html>")
    (gx_site / "validations").mkdir()
    (gx_site / "validations" / "index.html").write_text("<html></html>")  # deeper: not the site index
    report, html = read_report(write_report(DAY))
    links = report["links"]
    assert links["dbt_docs"] == {"href": "../../dbt/target/index.html", "available": True}
    assert links["gx_data_docs"] == {
        "href": "../../gx/uncommitted/data_docs/local_site/index.html",
        "available": True,
    }
    assert links["airflow"][0] == {
        "dag_id": "collections_nightly",
        "href": "http://127.0.0.1:8080/dags/collections_nightly",
    }
    assert 'href="../../dbt/target/index.html"' in html
    assert 'href="http://127.0.0.1:8080/dags/collections_nightly"' in html


def test_links_say_when_docs_are_not_built(warehouse_url: str, arrears_home: Path) -> None:
    report, html = read_report(write_report(DAY))
    assert report["links"]["dbt_docs"]["available"] is False
    assert report["links"]["gx_data_docs"] == {"href": None, "available": False}
    assert "dbt docs (models and lineage): not built yet in this home" in html


def test_rewriting_a_report_replaces_it(warehouse_url: str, conn: psycopg.Connection, arrears_home: Path) -> None:
    first, _ = read_report(write_report(DAY))
    assert not first["sections"]["portfolio"]["available"]
    create_marts(conn)
    load_portfolio(conn)
    second, _ = read_report(write_report(DAY))
    assert second["sections"]["portfolio"]["loans"] == 7
    assert sorted(path.name for path in (arrears_home / "reports" / "2024-03-15").iterdir()) == [
        "index.html",
        "report.json",
    ]


def test_loans_closed_with_balance_are_listed_beside_the_checks(conn: psycopg.Connection, arrears_home: Path) -> None:
    # Decision 014: the reconciliation explains a loan the source closed owing principal; the report shows which.
    create_marts(conn)
    load_audit(conn)
    conn.execute(mart_ddl("fct_loans_closed_with_balance"))
    insert(
        conn,
        "marts.fct_loans_closed_with_balance",
        "business_date, loan_id, borrower_id, movement, closed_on, closure_delivered_on, outstanding_principal",
        [
            (DAY, "L9", "B9", "closed_with_balance", DAY - dt.timedelta(days=1), DAY, 571.17),
            (OTHER_DAY, "L8", "B8", "closed_with_balance", OTHER_DAY, OTHER_DAY, 10.00),
        ],
    )
    report, html = read_report(write_report(DAY))
    closed = report["sections"]["data_quality"]["closed_with_balance"]
    assert closed == [{"loan_id": "L9", "closed_on": "2024-03-14", "outstanding_principal": 571.17}]
    assert "1 loans closed by the source with principal still owed" in html
    assert "L9" in html and "L8" not in html
