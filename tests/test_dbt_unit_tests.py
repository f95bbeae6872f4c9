"""Every dbt unit test in the project (delinquency rule edges, §5 routing rows, narrowing, promise
states, compliance rules) runs and passes against the real warehouse."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.support.cli import REPO_ROOT


def _defined_unit_tests() -> set[str]:
    """The names of the unit_tests declared in the dbt project's YAML files."""
    names: set[str] = set()
    for path in Path(REPO_ROOT, "dbt_project", "models").rglob("*.yml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names.update(unit_test["name"] for unit_test in document.get("unit_tests") or [])
    return names


@pytest.mark.slow
def test_every_dbt_unit_test_runs_and_passes(conn: psycopg.Connection) -> None:
    from arrears.transform import build

    defined = _defined_unit_tests()
    # A unit test that mocks an incremental model's own rows (`input: this`) reads that relation's columns,
    # so the model must exist before its unit test runs: build it (and what it reads) once first.
    build(date(2026, 3, 10), select=["+fct_agency_placements", "+int_score_label_events", "+int_arrangement_states"])
    result = build(date(2026, 3, 10), unit_tests=True)

    ran = {n.name: n.status for n in result.nodes if n.resource_type == "unit_test"}
    assert len(defined) >= 20  # the delinquency edges alone are 12; a glob that found nothing must fail
    assert ran.keys() == defined
    assert all(status == "pass" for status in ran.values()), {k: v for k, v in ran.items() if v != "pass"}
