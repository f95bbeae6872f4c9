"""The run report's arrangements and legal sections: hand-built mart rows in, hand-computed figures out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from arrears.report import write_report
from tests.support.marts import mart_ddl
from tests.test_report import chart, chart_labels, insert, read_report

DAY = dt.date(2024, 3, 15)
MARCH, FEBRUARY = dt.date(2024, 3, 1), dt.date(2024, 2, 1)


@pytest.fixture()
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARREARS_REPORT_LANGUAGE", "en")


def test_keep_rates_and_legal_pipeline_in_the_report(
    conn: psycopg.Connection, arrears_home: Path, english: None
) -> None:
    for model in ("agg_arrangement_keep_rates", "fct_legal_cases", "agg_legal_pipeline_monthly"):
        conn.execute(mart_ddl(model))
    insert(
        conn,
        "marts.agg_arrangement_keep_rates",
        "kind, agreed_month, negotiating_team_id, arrangements, performing, kept, broken, cancelled, "
        "status_disagreements, waived_amount",
        [
            ("settlement", FEBRUARY, "agency:acme", 4, 0, 3, 1, 0, 1, 1500),
            ("settlement", MARCH, "mid", 2, 1, 1, 0, 0, 0, 500),
            ("repayment_plan", MARCH, "mid", 5, 2, 1, 2, 0, 2, 0),
        ],
    )
    insert(
        conn,
        "marts.fct_legal_cases",
        "case_id, loan_id, status, claim_amount, judgment_amount, recovered_since_referral",
        [
            ("C1", "L1", "judgment", 10000, 9000, 1000),
            ("C2", "L2", "filed", 5000, None, 0),
            ("C3", "L3", "filed", 5000, None, 500),
        ],
    )
    insert(
        conn,
        "marts.agg_legal_pipeline_monthly",
        "month_start, status, status_order, cases_entered, cases_at_month_end, median_days_in_status, recovery_rate",
        [(MARCH, "filed", 3, 2, 2, 12.5, 0.05), (MARCH, "judgment", 4, 1, 1, 3, 0.1)],
    )
    report, html = read_report(write_report(DAY))

    plans = report["sections"]["arrangements"]
    assert plans["available"]
    by_kind = {entry["kind"]: entry for entry in plans["kinds"]}
    # Settlements: 4 kept, 1 broken over both months -> 0.8; plans: 1 kept, 2 broken -> 1/3.
    assert (by_kind["settlement"]["kept"], by_kind["settlement"]["broken"]) == (4, 1)
    assert by_kind["settlement"]["keep_rate"] == 0.8
    assert by_kind["repayment_plan"]["keep_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert plans["waived_amount"] == 2000.0 and plans["disagreements"] == 3
    teams = {entry["team"]: entry for entry in plans["teams"]}
    assert teams["mid"]["kept"] == 2 and teams["mid"]["broken"] == 2 and teams["mid"]["keep_rate"] == 0.5
    assert {"settlement", "repayment_plan"} <= set(chart_labels(chart(html, "arrangement-outcomes")))

    legal = report["sections"]["legal"]
    assert legal["cases"] == 3 and legal["claim_amount"] == 20000.0 and legal["recovered"] == 1500.0
    assert legal["recovery_rate"] == 0.075
    assert [entry["status"] for entry in legal["statuses"]] == ["filed", "judgment"]  # pipeline order
    assert {(e["status"], e["cases_entered"], e["median_days"]) for e in legal["pipeline"]} == {
        ("filed", 2, 12.5),
        ("judgment", 1, 3.0),
    }
    assert {"filed", "judgment"} <= set(chart_labels(chart(html, "legal-statuses")))
