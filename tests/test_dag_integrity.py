"""Every DAG imports cleanly, cheaply, and carries what operators rely on (owner, tags, retries, docs)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from arrears.orchestration.airflow_env import DAGS_DIR, airflow_environment
from arrears.orchestration.dates import business_date_for_run, run_time_for_business_date
from arrears.settings import Paths

# Parsing happens in a child process so Airflow reads the settings of a throwaway home.
PARSE_SCRIPT = """
import json, time
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={dags!r})
stats = {{s.file: s.duration.total_seconds() for s in bag.dagbag_stats}}
dags = {{}}
for dag_id, dag in bag.dags.items():
    tasks = {{t.task_id: {{"retries": t.retries, "owner": t.owner, "has_callback": bool(t.on_failure_callback),
                          "mode": getattr(t, "mode", None)}} for t in dag.tasks}}
    dags[dag_id] = {{"tags": sorted(dag.tags), "doc_md": dag.doc_md or "", "catchup": dag.catchup,
                    "max_active_runs": dag.max_active_runs, "schedule": str(getattr(dag.timetable, "_expression", dag.timetable)), "tasks": tasks}}
print(json.dumps({{"errors": bag.import_errors, "stats": stats, "dags": dags}}))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    home = tmp_path_factory.mktemp("dag_home")
    env = {**airflow_environment(Paths(home)), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", PARSE_SCRIPT.format(dags=str(DAGS_DIR))],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_import_errors(parsed: dict) -> None:  # type: ignore[type-arg]
    assert parsed["errors"] == {}
    assert "collections_nightly" in parsed["dags"]


def test_every_dag_file_parses_well_under_a_second(parsed: dict) -> None:  # type: ignore[type-arg]
    assert parsed["stats"], "no DAG files were parsed"
    for file, seconds in parsed["stats"].items():
        assert seconds < 1.0, f"{file} took {seconds:.2f}s to parse: move imports into the tasks"


def test_nightly_operational_settings(parsed: dict) -> None:  # type: ignore[type-arg]
    nightly = parsed["dags"]["collections_nightly"]
    assert {"arrears", "nightly"} <= set(nightly["tags"])
    assert nightly["catchup"] is True and nightly["max_active_runs"] == 1
    assert "rerun" in nightly["doc_md"].lower()
    assert "0 2 * * *" in nightly["schedule"]
    for task_id, task in nightly["tasks"].items():
        assert task["owner"] == "collections-data", task_id
        assert task["retries"] >= 1, task_id
        assert task["has_callback"], f"{task_id} has no on_failure_callback"
    assert nightly["tasks"]["wait_for_manifest"]["mode"] == "reschedule"


def test_dag_files_import_no_heavy_library_at_top_level() -> None:
    heavy = ("great_expectations", "dbt", "pandas", "pyarrow", "psycopg", "faker", "cosmos")
    for dag_file in DAGS_DIR.glob("*.py"):
        for line in Path(dag_file).read_text().splitlines():
            if line.startswith(("import ", "from ")):
                assert not any(line.split()[1].startswith(name) for name in heavy), f"{dag_file.name}: {line}"


@pytest.mark.parametrize(
    ("run_time_utc", "business_date"),
    [
        # 02:00 Asia/Shanghai on the 22nd is 18:00 UTC on the 21st: the run works on the 21st.
        (dt.datetime(2026, 11, 21, 18, 0, tzinfo=dt.UTC), dt.date(2026, 11, 21)),
        # Month and year edges.
        (dt.datetime(2026, 12, 31, 18, 0, tzinfo=dt.UTC), dt.date(2026, 12, 31)),
        (dt.datetime(2026, 2, 28, 18, 0, tzinfo=dt.UTC), dt.date(2026, 2, 28)),
    ],
)
def test_business_date_is_the_previous_local_day(run_time_utc: dt.datetime, business_date: dt.date) -> None:
    assert business_date_for_run(run_time_utc) == business_date
    assert run_time_for_business_date(business_date) == run_time_utc
