"""The dbt layering is kept by `make lint` (scripts/lint_dbt_layers.py: dbt-score with
dbt_project/score_rules), not by memory: a model that reads a later layer fails it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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
    linted = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "lint_dbt_layers.py"), "--project-dir", str(project)],
        capture_output=True,
        text=True,
        check=False,
    )
    output = linted.stdout + linted.stderr
    assert linted.returncode != 0, output
    assert "int_reads_a_mart" in output
    assert "no_model_reads_a_later_layer" in output
    assert "intermediate reads a later layer: fct_work_queue (marts)" in output
