"""The dbt exposures name every consumer of the published marts: one per exported file and the run report.

models/exposures.yml is documentation dbt shows (who reads what); these tests keep it true: one
exposure per recipient of plugins/arrears/config/recipients.yml, and each export exposure depends on
exactly the relations that recipient's SELECT (arrears.export.query) reads.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from arrears.export.config import load_recipients
from arrears.export.numbers import numbers_query
from arrears.export.query import export_query

EXPOSURES = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "exposures.yml"
REPORT_CODE = Path(__file__).resolve().parents[1] / "plugins" / "arrears" / "report"


def _exposures() -> dict[str, dict]:
    return {exposure["name"]: exposure for exposure in yaml.safe_load(EXPOSURES.read_text())["exposures"]}


def _relations(depends_on: list[str]) -> set[str]:
    """`ref('m')` -> marts.m (stored.m for a stored_ model); `source('s', 't')` -> s.t (the names the SQL uses)."""
    found = set()
    for item in depends_on:
        if ref := re.fullmatch(r"ref\('(\w+)'\)", item):
            schema = "stored" if ref.group(1).startswith("stored_") else "marts"
            found.add(f"{schema}.{ref.group(1)}")
        elif source := re.fullmatch(r"source\('(\w+)', '(\w+)'\)", item):
            found.add(f"{source.group(1)}.{source.group(2)}")
        else:
            raise AssertionError(f"unexpected depends_on entry {item!r}")
    return found


def test_every_recipient_has_an_exposure_reading_what_its_file_reads() -> None:
    exposures = _exposures()
    recipients = load_recipients()

    def exposure(name: str) -> str:
        # The per-agency recipients (agency_<id>, expanded from the `agency` template) share one exposure.
        return "export_agency" if recipients[name].teams[0].startswith("agency:") else f"export_{name}"

    assert {exposure(name) for name in recipients} == {name for name in exposures if name.startswith("export_")}
    for name, recipient in recipients.items():
        sql = export_query(recipient).sql + (numbers_query("true") if recipient.numbers_file else "")
        read = set(re.findall(r"\b((?:marts|stored|pii|raw)\.\w+)", sql))
        assert _relations(exposures[exposure(name)]["depends_on"]) == read, name


def test_the_run_report_exposure_lists_the_marts_the_report_reads() -> None:
    report = _exposures()["run_report"]
    read = {mart for path in REPORT_CODE.glob("*.py") for mart in re.findall(r"\bmarts\.\w+", path.read_text())}
    assert _relations(report["depends_on"]) == read
    assert report["owner"]["name"]
