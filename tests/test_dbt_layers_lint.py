"""The dbt layering is kept by `make lint` (scripts/lint_dbt_layers.py: dbt-score with
dbt_project/score_rules), not by memory: a model that reads a later layer fails it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    """scripts/lint_dbt_layers.py on a copy of the project."""
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "lint_dbt_layers.py"), "--project-dir", str(project)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_lint_fails_on_an_intermediate_model_reading_a_mart(tmp_path: Path) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "__pycache__"))
    backward = project / "models" / "intermediate" / "delinquency" / "int_reads_a_mart.sql"
    backward.write_text("select loan_id from {{ ref('fct_work_queue') }}\n")
    (backward.with_suffix(".yml")).write_text(
        "version: 2\nmodels:\n  - name: int_reads_a_mart\n    description: A deliberate backward ref.\n"
        "    columns:\n      - name: loan_id\n        description: The loan.\n"
    )
    linted = _lint(project)
    output = linted.stdout + linted.stderr
    assert linted.returncode != 0, output
    assert "int_reads_a_mart" in output
    assert "no_model_reads_a_later_layer" in output
    assert "intermediate reads a later layer: fct_work_queue (marts)" in output


@pytest.mark.slow
def test_lint_fails_on_a_not_null_test_a_contracted_table_already_guarantees(tmp_path: Path) -> None:
    """Decision 040: on PostgreSQL the column's constraint is the check; a plain not_null test re-proves it."""
    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "__pycache__"))
    yml = project / "models" / "marts" / "arrangements" / "fct_arrangements.yml"
    yml.write_text(yml.read_text().replace("not_null_unless_enforced", "not_null", 1))
    linted = _lint(project)
    output = linted.stdout + linted.stderr
    assert linted.returncode != 0, output
    assert "no_data_test_re_proves_the_table_ddl" in output
    assert "arrangement_id (not_null: declare constraints: [{type: not_null}] instead)" in output


def test_every_not_null_left_to_spark_is_a_constraint_on_postgres() -> None:
    """A column tested with not_null_unless_enforced (disabled on PostgreSQL) must declare the not_null constraint,
    or nothing would check it there (the lint sees only PostgreSQL's enabled tests, so it cannot tell)."""
    unguarded = []
    for path in sorted((REPO / "dbt_project" / "models").rglob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models") or []:
            for column in model.get("columns") or []:
                tests = json.dumps(column.get("data_tests") or [])
                constraints = [c.get("type") for c in column.get("constraints") or []]
                if "not_null_unless_enforced" in tests and "not_null" not in constraints:
                    unguarded.append(f"{model['name']}.{column['name']}")
    assert unguarded == []
