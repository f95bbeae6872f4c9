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
import json
from airflow.dag_processing.dagbag import DagBag

def asset_names(dag):
    condition = getattr(dag.timetable, "asset_condition", None)
    return sorted(asset.name for asset in getattr(condition, "objects", []))

bag = DagBag(dag_folder={dags!r})
stats = {{s.file: s.duration.total_seconds() for s in bag.dagbag_stats}}
dags = {{}}
for dag_id, dag in bag.dags.items():
    tasks = {{t.task_id: {{"retries": t.retries, "owner": t.owner, "has_callback": bool(t.on_failure_callback),
                          "mode": getattr(t, "mode", None), "outlets": sorted(o.name for o in t.outlets),
                          "trigger_rule": str(getattr(t.trigger_rule, "value", t.trigger_rule)),
                          "upstream": sorted(t.upstream_task_ids),
                          "downstream": sorted(t.downstream_task_ids)}}
             for t in dag.tasks}}
    dags[dag_id] = {{"tags": sorted(dag.tags), "doc_md": dag.doc_md or "", "catchup": dag.catchup,
                    "max_active_runs": dag.max_active_runs, "tasks": tasks, "asset_schedule": asset_names(dag),
                    "schedule": str(getattr(dag.timetable, "expression", "")),
                    "dag_callback": bool(dag.on_failure_callback)}}
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


CHAIN = ["collections_nightly", "collections_transform", "collections_check", "collections_export"]


def test_every_dag_has_owner_tags_retries_alerts_and_triage_docs(parsed: dict) -> None:  # type: ignore[type-arg]
    assert set(CHAIN + ["collections_export_deadline"]) <= set(parsed["dags"])
    for dag_id, dag in parsed["dags"].items():
        assert {"arrears", "nightly"} <= set(dag["tags"]), dag_id
        assert dag["max_active_runs"] == 1, dag_id
        assert "rerun" in dag["doc_md"].lower() or "deadline" in dag_id, f"{dag_id}: doc_md lacks rerun notes"
        # One alert per failure: the task-level callback sends it; a DAG-level one would send a second.
        assert not dag["dag_callback"], dag_id
        for task_id, task in dag["tasks"].items():
            assert task["owner"] == "collections-data", (dag_id, task_id)
            assert task["has_callback"], f"{dag_id}.{task_id} has no on_failure_callback"
            if dag_id != "collections_export_deadline":
                assert task["retries"] >= 1, (dag_id, task_id)


def test_ingest_runs_nightly_at_two_with_catchup_and_a_reschedule_sensor(parsed: dict) -> None:  # type: ignore[type-arg]
    nightly = parsed["dags"]["collections_nightly"]
    assert nightly["schedule"] == "0 2 * * *" and nightly["catchup"] is True
    assert nightly["tasks"]["wait_for_manifest"]["mode"] == "reschedule"


def test_the_chain_is_linked_by_assets(parsed: dict) -> None:  # type: ignore[type-arg]
    from arrears.contract import entity_names
    from arrears.orchestration.assets import PUBLISHED_MARTS

    dags = parsed["dags"]
    loaded = sorted(f"raw.{entity}" for entity in entity_names())
    marts = sorted(f"marts.{mart}" for mart in PUBLISHED_MARTS)
    assert dags["collections_nightly"]["tasks"]["finalize_batch"]["outlets"] == loaded
    assert dags["collections_transform"]["asset_schedule"] == loaded
    assert dags["collections_transform"]["tasks"]["dbt_build"]["outlets"] == marts
    assert dags["collections_check"]["asset_schedule"] == marts
    assert dags["collections_check"]["tasks"]["quality_gate"]["outlets"] == ["audit.dq_results"]
    assert dags["collections_export"]["asset_schedule"] == ["audit.dq_results"]


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


def test_airflow_does_not_load_the_package_as_plugins() -> None:
    # Airflow imports every .py under plugins/ by its bare file name; arrears/generate/profile.py would
    # become `profile` and break the standard library's cProfile (and so dbt) inside tasks.
    from airflow._shared.module_loading import find_path_from_directory

    from arrears.orchestration.airflow_env import PLUGINS_DIR

    loaded = [
        path for path in find_path_from_directory(str(PLUGINS_DIR), ".airflowignore", "glob") if path.endswith(".py")
    ]
    assert loaded == []


def test_a_blocked_recipient_fails_the_export_run_though_the_report_still_runs(parsed: dict) -> None:  # type: ignore[type-arg]
    # Airflow marks a run failed only when a leaf task failed: run_report (all_done) is a leaf that
    # succeeds after a blocked publish, so another leaf must inherit publish's failure.
    tasks = parsed["dags"]["collections_export"]["tasks"]
    leaves = [task_id for task_id, task in tasks.items() if not task["downstream"]]
    assert tasks["run_report"]["trigger_rule"] == "all_done" and "run_report" in leaves
    assert any(tasks[leaf]["trigger_rule"] == "all_success" and "publish" in tasks[leaf]["upstream"] for leaf in leaves)
