"""The run report's "dbt models" section: every node of the night's one `dbt build` with its status and seconds.

One test runs a real `dbt build` (two seeds and their data tests) and checks the section against the
seeds' YAML; the others write a run_results.json by hand in dbt's format, with statuses dbt cannot be
made to produce on demand here (an erroring model, a skipped child, a warning), and count by hand.
"""

from __future__ import annotations

import datetime as dt
import json
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import yaml

from arrears.report import write_report
from arrears.settings import DBT_PROJECT_DIR

DAY = dt.date(2026, 10, 2)
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the English page; test_report_night.py checks the Chinese one."""
    monkeypatch.setenv("ARREARS_REPORT_LANGUAGE", "en")


def read_report(page: Path) -> tuple[dict[str, Any], str]:
    return json.loads((page.parent / "report.json").read_text()), page.read_text()


def declared_data_tests(seed_names: set[str]) -> int:
    """Data tests the seeds' YAML declares on their columns: what `dbt build --select <seeds>` must run."""
    spec = yaml.safe_load((DBT_PROJECT_DIR / "seeds" / "delinquency_seeds.yml").read_text())
    return sum(
        len(column.get("data_tests") or [])
        for seed in spec["seeds"]
        if seed["name"] in seed_names
        for column in seed.get("columns") or []
    )


def write_run_results(home: Path, results: list[dict[str, Any]], **args: Any) -> None:
    """A run_results.json as dbt 1.11 writes it (schema v6), with only the fields the report reads."""
    target = home / "dbt" / "target"
    target.mkdir(parents=True, exist_ok=True)
    document = {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": "1.11.16",
            "generated_at": "2026-10-03T18:40:00.000000Z",
            "invocation_id": "11111111-2222-3333-4444-555555555555",
        },
        "results": results,
        "elapsed_time": 12.34,
        "args": {"which": "build", "vars": {"business_date": DAY.isoformat()}, "select": [], **args},
    }
    (target / "run_results.json").write_text(json.dumps(document))


def node(unique_id: str, status: str, seconds: float, message: str | None = None) -> dict[str, Any]:
    return {"unique_id": unique_id, "status": status, "execution_time": seconds, "message": message, "failures": None}


def test_section_lists_every_node_of_a_real_dbt_build(warehouse_url: str, arrears_home: Path) -> None:
    from arrears.transform import build

    seeds = {"dpd_buckets", "regulatory_classes"}
    build(DAY, select=sorted(seeds))

    report, html = read_report(write_report(DAY))
    section = report["sections"]["dbt_models"]
    assert section["available"], section["note"]
    by_type = {entry["resource_type"]: entry for entry in section["by_resource_type"]}
    assert by_type["seed"]["passed"] == 2
    tests = declared_data_tests(seeds)
    assert tests > 0
    assert by_type["test"]["passed"] == tests
    assert section["failed"] == 0 and section["skipped"] == 0
    assert section["nodes_total"] == 2 + tests
    assert section["select"] == sorted(seeds)
    # Seeds first (build order), then the tests, each with its seconds.
    assert [n["name"] for n in section["nodes"][:2]] == ["dpd_buckets", "regulatory_classes"]
    assert {n["resource_type"] for n in section["nodes"][2:]} == {"test"}
    assert "unique_dpd_buckets_bucket" in {n["name"] for n in section["nodes"]}
    assert all(n["seconds"] >= 0 for n in section["nodes"])
    assert report["headline"]["dbt_failed_nodes"] == 0
    text = unescape(html)
    assert 'data-chart="dbt-nodes"' in html
    assert f"{2 + tests} nodes" in text and "--select dpd_buckets regulatory_classes" in text
    assert "unique_dpd_buckets_bucket" in text

    # The file holds the home's last build only: the next day's report says so instead of showing D's nodes.
    next_day, _ = read_report(write_report(DAY + dt.timedelta(days=1)))
    note = next_day["sections"]["dbt_models"]["note"]
    assert not next_day["sections"]["dbt_models"]["available"]
    assert f"the last dbt build in this home was for {DAY.isoformat()}" in note
    assert next_day["headline"]["dbt_failed_nodes"] is None


def test_failed_warned_and_skipped_nodes_are_counted_and_listed(warehouse_url: str, arrears_home: Path) -> None:
    write_run_results(
        arrears_home,
        [
            node("model.arrears.stg_loans", "success", 0.5, "CREATE VIEW"),
            node("seed.arrears.dpd_buckets", "success", 0.25, "INSERT 9"),
            node("model.arrears.int_loan_dpd_at_date", "error", 1.5, f"Database Error\n  column {SCRIPT} missing"),
            node("model.arrears.fct_loan_delinquency_daily", "skipped", 0.0),
            node(
                "test.arrears.not_null_stg_loans_loan_id.05c769ade4", "fail", 0.2, "Got 3 results, configured to fail"
            ),
            node("test.arrears.unique_stg_loans_loan_id.a1b2c3", "warn", 0.1, "Got 1 result, configured to warn"),
            node("test.arrears.unique_stg_loans_loan_id_2.d4e5f6", "pass", 0.1),
            node("unit_test.arrears.int_payments_signed.reversal_takes_effect", "pass", 0.3),
        ],
    )
    report, html = read_report(write_report(DAY))
    section = report["sections"]["dbt_models"]
    assert section["available"], section["note"]
    # By hand: passed = 2 models/seeds + 1 test + 1 unit test; warned 1; failed = 1 model + 1 test; skipped 1.
    assert (section["passed"], section["warned"], section["failed"], section["skipped"]) == (4, 1, 2, 1)
    assert section["by_resource_type"] == [
        {"resource_type": "seed", "passed": 1, "warned": 0, "failed": 0, "skipped": 0},
        {"resource_type": "model", "passed": 1, "warned": 0, "failed": 1, "skipped": 1},
        {"resource_type": "test", "passed": 1, "warned": 1, "failed": 1, "skipped": 0},
        {"resource_type": "unit_test", "passed": 1, "warned": 0, "failed": 0, "skipped": 0},
    ]
    assert report["headline"]["dbt_failed_nodes"] == 2
    names = [n["name"] for n in section["nodes"]]
    assert names[:4] == ["dpd_buckets", "fct_loan_delinquency_daily", "int_loan_dpd_at_date", "stg_loans"]
    assert "not_null_stg_loans_loan_id" in names  # dbt's hash suffix dropped
    assert "int_payments_signed::reversal_takes_effect" in names
    failed_model = next(n for n in section["nodes"] if n["name"] == "int_loan_dpd_at_date")
    assert failed_model == {
        "resource_type": "model",
        "name": "int_loan_dpd_at_date",
        "status": "error",
        "outcome": "failed",
        "seconds": 1.5,
        "message": "Database Error",  # first line only
    }
    assert SCRIPT not in html
    problems = html.split("<details>")[0]
    for name in ("int_loan_dpd_at_date", "fct_loan_delinquency_daily", "not_null_stg_loans_loan_id"):
        assert name in problems
    assert "Got 3 results, configured to fail" in problems
    assert '<p class="bad">4 passed, 1 warned, 2 failed, 1 skipped of 8 nodes.</p>' in html
    assert "Failed dbt nodes<b>2</b>" in html


def test_the_section_says_why_when_the_last_command_is_not_the_nights_build(
    warehouse_url: str, arrears_home: Path
) -> None:
    def note() -> str:
        section = read_report(write_report(DAY))[0]["sections"]["dbt_models"]
        assert not section["available"]
        return str(section["note"])

    assert "no dbt command has run in this home yet" in note()

    # `arrears docs` (dbt docs generate) rewrites run_results.json after the night's build.
    write_run_results(arrears_home, [node("model.arrears.stg_loans", "success", 0.1)], which="generate")
    assert "the last dbt command in this home was `dbt generate`, not a build" in note()

    write_run_results(arrears_home, [], vars={"business_date": DAY.isoformat()})
    assert "selected no model or test" in note()

    (arrears_home / "dbt" / "target" / "run_results.json").write_text('{"results": [')
    assert "could not be read" in note()
