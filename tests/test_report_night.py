"""The top of the run report: the red banner of a night whose files did not reach the collectors (checked
in headless Chromium), the page in Chinese (the default) and English, times on Beijing time, and the
trends over the last nights. Expected values come from recipients.yml, labels.yml and the rows inserted."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from arrears.export.config import load_recipients
from arrears.report import write_report
from tests.support.cli import run_cli
from tests.support.marts import STAGE_COUNTS_VIEW, mart_ddl

DAY = dt.date(2024, 3, 15)
CHECKED_AT = dt.datetime(2024, 3, 16, 2, 0, tzinfo=dt.UTC)  # 10:00 in Asia/Shanghai


def store_checks(conn: psycopg.Connection, failed_suites: set[str]) -> None:
    """One check run for DAY over every suite the recipients depend on; one failed expectation per failed suite."""
    suites = sorted({suite for recipient in load_recipients().values() for suite in recipient.suites})
    with conn.cursor() as cursor:
        cursor.executemany(
            "insert into audit.dq_results (run_id, business_date, suite, expectation, success, observed_value,"
            " checked_at) values ('run1', %s, %s, 'rows_present', %s, '0', %s)",
            [(DAY, suite, suite not in failed_suites, CHECKED_AT) for suite in suites],
        )


def report_of(day: dt.date = DAY) -> tuple[dict[str, Any], str]:
    html_path = write_report(day)
    return json.loads((html_path.parent / "report.json").read_text("utf-8")), html_path.read_text("utf-8")


@pytest.fixture()
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARREARS_REPORT_LANGUAGE", "en")


def chromium_dom(page: Path, profile: Path) -> str:
    """The page as headless Chromium parsed it (what a reader's browser shows)."""
    return subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed (make setup-browser)")
def test_a_blocked_export_puts_a_red_banner_first_on_the_page(
    conn: psycopg.Connection, arrears_home: Path, english: None, tmp_path: Path
) -> None:
    store_checks(conn, failed_suites={"export_early"})
    report, _ = report_of()
    recipients = list(load_recipients())
    assert report["night"]["alarm"] is True
    assert report["night"]["blocked_recipients"] == ["early"]
    dom = chromium_dom(write_report(DAY), tmp_path / "chromium")
    body = dom.split("<body>", 1)[1]
    assert body.lstrip().startswith('<div class="alarm" role="alert" id="night-alarm">')  # before the title
    banner = re.search(r'<div class="alarm".*?</div>', body, flags=re.S)
    assert banner is not None
    text = re.sub(r"<[^>]+>", "", banner[0])
    assert "Attention: tonight's files did not reach the collectors" in text
    assert "The quality gate blocked the export of 1 recipient(s): early: checks failed (suites export_early)." in text
    received = ", ".join(name for name in recipients if name != "early")
    assert f"These recipients did receive files: {received}." in text
    assert ".alarm { background: #b00020; color: #fff;" in dom  # red, white text


def test_a_night_without_checks_says_no_collector_received_files(
    warehouse_url: str, arrears_home: Path, english: None
) -> None:
    report, html = report_of()
    assert report["night"]["blocked_recipients"] == list(load_recipients())
    names = ", ".join(load_recipients())
    assert (
        f"blocked the export of {len(load_recipients())} recipient(s): {names}: a suite it needs was not checked"
        in html
    )
    assert "No collector received files tonight." in html


def test_a_night_marked_missing_or_retracted_carries_the_banner(
    conn: psycopg.Connection, arrears_home: Path, english: None
) -> None:
    store_checks(conn, failed_suites=set())
    conn.execute(
        "insert into audit.night_status (business_date, status, detail, marked_at)"
        " values (%s, 'missing', 'no delivery loaded', %s)",
        (DAY, CHECKED_AT),
    )
    report, html = report_of()
    assert report["night"]["mark"]["status"] == "missing"
    assert report["night"]["blocked_recipients"] == []
    assert "2024-03-15 is marked missing (no delivery loaded), marked at 2024-03-16 10:00:00." in html
    assert "No collector received files tonight." in html
    conn.execute("update audit.night_status set status = 'retracted', detail = 'wrong loans file'")
    _, html = report_of()
    assert "2024-03-15 was retracted (wrong loans file)" in html
    assert "collectors must not use them" in html


def test_a_normal_night_has_no_banner(conn: psycopg.Connection, arrears_home: Path, english: None) -> None:
    store_checks(conn, failed_suites=set())
    report, html = report_of()
    assert report["night"]["alarm"] is False
    assert 'id="night-alarm"' not in html


def test_the_page_is_chinese_by_default_with_beijing_times(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARREARS_REPORT_LANGUAGE", raising=False)
    store_checks(conn, failed_suites={"export_legal"})
    report, html = report_of()
    assert report["language"] == "zh-CN"
    assert report["generated_at"].endswith("+08:00")
    assert '<html lang="zh-CN">' in html
    assert "<h1>催收夜间运行报告：2024-03-15</h1>" in html
    assert "<h2>数据质量检查</h2>" in html
    assert "注意：本晚的文件没有发给催收人员" in html
    assert "质量闸门拦截了 1 个接收方的导出：legal：检查未通过（套件 export_legal）。" in html
    assert "检查运行 <code>run1</code>，时间 2024-03-16 10:00:00。" in html  # 02:00 UTC on Beijing time
    assert "Data quality checks" not in html


def test_english_renders_the_same_figures(conn: psycopg.Connection, arrears_home: Path, english: None) -> None:
    store_checks(conn, failed_suites=set())
    report, html = report_of()
    assert report["language"] == "en"
    assert '<html lang="en">' in html
    assert "<h1>Collections run report: 2024-03-15</h1>" in html
    assert "Run <code>run1</code> at 2024-03-16 10:00:00." in html
    assert "数据质量检查" not in html


def test_an_unknown_language_is_one_line_of_error(warehouse_url: str, arrears_home: Path) -> None:
    result = run_cli("report", "--date", "2024-03-15", env={"ARREARS_REPORT_LANGUAGE": "fr"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "arrears: error: report language 'fr' is not in labels.yml (there: zh-CN, en)"
    ]
    assert "Traceback" not in result.stderr


TREND_MARTS = (
    "fct_loan_delinquency_daily",
    "agg_collection_performance_daily",
    "agg_compliance_violations_daily",
    "fct_complaint_attributions",
)


def load_trends(conn: psycopg.Connection, nights: list[dt.date]) -> None:
    for model in TREND_MARTS:
        conn.execute(mart_ddl(model))
    conn.execute(STAGE_COUNTS_VIEW)  # the build's per-night stage counts, over the stand-in snapshot
    with conn.cursor() as cursor:
        # Night n (0-based): 10 loans, n + 1 of them early and 1 mid; the rest current.
        cursor.executemany(
            "insert into marts.fct_loan_delinquency_daily (business_date, loan_id, stage) values (%s, %s, %s)",
            [
                (night, f"L{loan}", "early" if loan <= n else "mid" if loan == 9 else "current")
                for n, night in enumerate(nights)
                for loan in range(10)
            ],
        )
        # Two teams per night: 100 + 50 collected; promises kept 1 + n of 4 due.
        cursor.executemany(
            "insert into marts.agg_collection_performance_daily (business_date, team_id, promises_due,"
            " promises_kept, collected_amount) values (%s, %s, %s, %s, %s)",
            [(night, "early", 2, 1, 100 * (n + 1)) for n, night in enumerate(nights)]
            + [(night, "mid", 2, n, 50) for n, night in enumerate(nights)],
        )
        cursor.executemany(
            "insert into marts.agg_compliance_violations_daily (business_date, team_id, rule, violations)"
            " values (%s, 'early', 'outside_contact_window', %s)",
            [(night, 3 * n) for n, night in enumerate(nights)],
        )
        # Night n: n complaints, each attributed to two teams (counted once per complaint).
        cursor.executemany(
            "insert into marts.fct_complaint_attributions (complaint_id, complaint_date, team_id) values (%s, %s, %s)",
            [(f"K{n}_{k}", night, team) for n, night in enumerate(nights) for k in range(n) for team in ("A", "B")],
        )


def test_trends_over_the_last_nights(conn: psycopg.Connection, arrears_home: Path, english: None) -> None:
    nights = [DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=1), DAY]
    load_trends(conn, nights)
    conn.execute(
        "insert into marts.fct_loan_delinquency_daily (business_date, loan_id, stage) values (%s, 'old', 'early')",
        (DAY - dt.timedelta(days=90),),  # 91 nights back: outside the 90 drawn
    )
    report, html = report_of()
    trends = report["sections"]["trends"]
    assert trends["nights"] == [night.isoformat() for night in nights]
    lines = {(entry["figure"], entry["line"]): entry for entry in trends["figures"]}
    early = lines[("delinquency_rate", "early")]
    assert [point["value"] for point in early["points"]] == [0.1, 0.2, 0.3]  # 1, 2, 3 of 10 loans
    assert early["last"] == 0.3
    assert early["average_recent"] == pytest.approx(0.2)
    assert [point["value"] for point in lines[("delinquency_rate", "mid")]["points"]] == [0.1, 0.1, 0.1]
    assert [p["value"] for p in lines[("delinquency_rate", "late")]["points"]] == [0.0, 0.0, 0.0]
    assert [p["value"] for p in lines[("collected_amount", None)]["points"]] == [150.0, 250.0, 350.0]
    assert [p["value"] for p in lines[("promise_kept_rate", None)]["points"]] == [0.25, 0.5, 0.75]
    assert [p["value"] for p in lines[("violations", None)]["points"]] == [0, 3, 6]
    assert [p["value"] for p in lines[("complaints", None)]["points"]] == [1, 2]  # no complaint on the first night
    for chart_id in (
        "trend-delinquency-rate",
        "trend-collected-amount",
        "trend-promise-kept-rate",
        "trend-violations",
        "trend-complaints",
    ):
        assert f'data-chart="{chart_id}"' in html
    assert "<title>Delinquency rate by stage</title>" in html
    assert "3 nights (2024-03-13 to 2024-03-15), at most 90." in html


def test_one_night_is_not_a_trend(conn: psycopg.Connection, arrears_home: Path, english: None) -> None:
    load_trends(conn, [DAY])
    report, html = report_of()
    assert report["sections"]["trends"]["nights"] == ["2024-03-15"]
    assert "Only 1 night of data: a trend needs at least 2 nights." in html
    assert 'data-chart="trend-' not in html


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed (make setup-browser)")
def test_the_chinese_banner_renders_in_chromium(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ARREARS_REPORT_LANGUAGE", "zh-CN")
    store_checks(conn, failed_suites=set(load_recipients()["mid"].suites))
    dom = chromium_dom(write_report(DAY), tmp_path / "chromium")
    assert '<html lang="zh-CN">' in dom
    banner = re.search(r'<div class="alarm".*?</div>', dom, flags=re.S)
    assert banner is not None
    assert "注意：本晚的文件没有发给催收人员" in banner[0]
    assert "今晚没有任何催收人员收到文件。" in banner[0]  # every recipient shares a failed suite


def test_codes_from_the_data_are_shown_in_words_in_chinese(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_REPORT_LANGUAGE", "zh-CN")
    conn.execute(mart_ddl("fct_compliance_violations"))
    conn.execute(
        "insert into marts.fct_compliance_violations (action_id, business_date, rule, team_id, agent_id)"
        " values ('A1', %s, 'outside_contact_window', 'field', 'f1'),"
        " ('A2', %s, 'contact_during_restriction', 'agency:acme', null)",
        (DAY, DAY),
    )
    report, html = report_of()
    assert [team["team"] for team in report["sections"]["compliance"]["teams"]] == ["field", "agency:acme"]  # codes
    svg = re.search(r'<svg data-chart="compliance-teams".*?</svg>', html, flags=re.S)
    assert svg is not None
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg[0])
    assert {"外访", "委外:acme", "在允许联系时间之外联系", "在限制期内联系"} <= set(labels)  # labels.yml zh-CN values
    assert "<td>在允许联系时间之外联系</td>" in html


def test_the_last_30_nights_are_marked_and_averaged_apart(
    conn: psycopg.Connection, arrears_home: Path, english: None
) -> None:
    nights = [DAY - dt.timedelta(days=back) for back in range(34, -1, -1)]  # 35 nights
    load_trends(conn, nights)
    report, html = report_of()
    trends = report["sections"]["trends"]
    assert trends["recent_since"] == (DAY - dt.timedelta(days=29)).isoformat()
    collected = next(entry for entry in trends["figures"] if entry["figure"] == "collected_amount")
    # Night n collects 100 (n + 1) + 50: nights 5..34 average 100 x 20.5 + 50, nights 0..34 average 100 x 18 + 50.
    assert collected["last"] == 3550.0
    assert collected["average_recent"] == pytest.approx(2100.0)
    assert collected["average_all"] == pytest.approx(1850.0)
    svg = re.search(r'<svg data-chart="trend-collected-amount".*?</svg>', html, flags=re.S)
    assert svg is not None
    assert "last 30 nights" in re.findall(r"<text[^>]*>([^<]*)</text>", svg[0])
    assert "35 nights (2024-02-10 to 2024-03-15), at most 90." in html
    assert "<th>30-night average</th><th>90-night average</th>" in html  # report.yml trend windows
