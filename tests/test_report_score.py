"""The run report's collection-score section (business rules §10): PSI per night drawn against its warning
and alert bands, realised KS by month charted and tabled, from hand-built mart rows in a real warehouse."""

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
from arrears.report.score import psi_bands
from tests.support.marts import mart_ddl

DAY = dt.date(2024, 3, 15)


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARREARS_REPORT_LANGUAGE", "en")


def _report(html_path: Path) -> tuple[dict[str, Any], str]:
    return json.loads((html_path.parent / "report.json").read_text(encoding="utf-8")), html_path.read_text("utf-8")


def _chart(html: str, chart_id: str) -> str:
    found = re.findall(rf'<svg[^>]*data-chart="{re.escape(chart_id)}".*?</svg>', html, flags=re.S)
    assert len(found) == 1, f"expected one chart {chart_id}, found {len(found)}"
    return found[0]


def _tips(svg: str) -> set[str]:
    return {unescape(title) for title in re.findall(r"<title>([^<]*)</title>", svg)}


def _texts(svg: str) -> list[str]:
    return [unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_psi_against_its_bands_and_realised_ks_by_month(conn: psycopg.Connection, arrears_home: Path) -> None:
    conn.execute(mart_ddl("agg_score_stability_daily"))
    conn.execute(mart_ddl("agg_score_realised_ks_monthly"))
    with conn.cursor() as cur:
        cur.executemany(
            "insert into marts.agg_score_stability_daily values (%s, %s, %s, %s, %s)",
            [
                (DAY - dt.timedelta(days=2), "2024-02-29.1", 1000, 0.04, "stable"),
                (DAY - dt.timedelta(days=1), "2024-02-29.1", 1010, 0.12, "warning"),
                (DAY, "2024-02-29.1", 1020, 0.31, "alert"),
                (DAY + dt.timedelta(days=1), "2024-02-29.1", 1030, 0.5, "alert"),  # after D: not shown
            ],
        )
        cur.executemany(
            "insert into marts.agg_score_realised_ks_monthly values (%s, %s, %s, %s, %s, %s)",
            [
                (dt.date(2024, 1, 1), "2023-12-31.1", 31000, 0.061, 0.058, 0.452),
                (dt.date(2024, 2, 1), "2023-12-31.1", 29000, 0.072, 0.060, 0.401),
            ],
        )
    # The bands are business rules §10's: warn from 0.10, alert from 0.25 (dbt vars the mart's status uses).
    assert psi_bands() == (0.10, 0.25)
    report, html = _report(write_report(DAY))
    section = report["sections"]["score"]
    assert section["available"], section
    assert [entry["night"] for entry in section["psi"]] == ["2024-03-13", "2024-03-14", "2024-03-15"]
    assert "Scorecard 2024-02-29.1: 1,020 loans scored tonight, PSI 0.310 (alert)." in html

    psi = _chart(html, "score-psi")
    tips = _tips(psi)
    assert {
        "2024-02-29.1, 2024-03-13: PSI 0.040 (stable)",
        "2024-02-29.1, 2024-03-14: PSI 0.120 (warning)",
        "2024-02-29.1, 2024-03-15: PSI 0.310 (alert)",
        "warning 0.10: 0.10",
        "alert 0.25: 0.25",
    } <= tips
    assert not any("0.500" in tip for tip in tips)
    assert {"warning 0.10", "alert 0.25"} <= set(_texts(psi))  # the bands' edges are labelled

    ks = _chart(html, "score-realised-ks")
    assert {"2023-12-31.1, 2024-01: 45.2%", "2023-12-31.1, 2024-02: 40.1%"} <= _tips(ks)
    table = re.search(r'<section id="score">.*?</section>', html, flags=re.S)
    assert table is not None
    cells = [unescape(c) for c in re.findall(r"<td[^>]*>([^<]*)</td>", table[0])]
    assert cells[:6] == ["2024-01", "2023-12-31.1", "31,000", "6.1%", "5.8%", "45.2%"]


def test_without_the_marts_or_a_scored_night_the_section_says_why(conn: psycopg.Connection, arrears_home: Path) -> None:
    report, _ = _report(write_report(DAY))
    assert report["sections"]["score"] == {
        "available": False,
        "note": "marts.agg_score_stability_daily does not exist in the warehouse yet",
    }
    conn.execute(mart_ddl("agg_score_stability_daily"))
    report, html = _report(write_report(DAY))
    assert not report["sections"]["score"]["available"]
    assert "no scorecard active yet" in report["sections"]["score"]["note"]
