"""The run report's experiments section, from a stand-in marts.agg_experiment_outcomes (its dbt contract)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from arrears.report import write_report
from tests.support.marts import mart_ddl

DAY = dt.date(2024, 3, 15)


def _outcome(arm: str, champion: bool, metric: str, value: float, diff: float | None, low: float, high: float) -> tuple:
    return (DAY, "early_order", arm, champion, metric, 100, value, value - 0.05, value + 0.05, 0.5, diff, low, high)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_section_shows_each_arms_metric_with_its_interval_and_a_verdict(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    monkeypatch.setenv("ARREARS_REPORT_LANGUAGE", language)
    conn.execute(mart_ddl("agg_experiment_outcomes"))
    rows = [
        _outcome("champion", True, "cure_rate_30d", 0.5, 0.0, 0.0, 0.0),
        _outcome("fast", False, "cure_rate_30d", 0.62, 0.12, 0.04, 0.20),  # interval above 0: clearly higher
        _outcome("fast", False, "roll_rate_30d", 0.30, -0.02, -0.09, 0.05),  # holds 0: not yet clear
    ]
    with conn.cursor() as cursor:
        cursor.executemany(
            "insert into marts.agg_experiment_outcomes (as_of_date, experiment_id, arm_id, is_champion, metric, units,"
            " metric_value, ci_low, ci_high, champion_value, difference_from_champion, difference_ci_low,"
            " difference_ci_high) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    html = write_report(DAY).read_text(encoding="utf-8")
    section = html[html.index('<section id="experiments">') :]
    section = section[: section.index("</section>")]
    assert "early_order" in section
    assert "0.620 [0.570, 0.670]" in section and "0.120 [0.040, 0.200]" in section
    higher, unclear = ("higher (clear)", "not yet clear") if language == "en" else ("更高（显著）", "尚无定论")
    cure_row = section[section.index("cure_rate_30d", section.index("fast")) :]
    assert cure_row.index(higher) < cure_row.index("roll_rate_30d") < cure_row.index(unclear)


def test_without_outcomes_the_section_says_why(conn: psycopg.Connection, arrears_home: Path) -> None:
    conn.execute(mart_ddl("agg_experiment_outcomes"))
    html = write_report(DAY).read_text(encoding="utf-8")
    section = html[html.index('<section id="experiments">') :]
    assert "no experiment has a loan whose 30-day window has passed" in section[: section.index("</section>")]
