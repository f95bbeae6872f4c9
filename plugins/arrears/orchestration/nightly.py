"""`arrears nightly --date D`: the real collections_nightly DAG, run through Airflow in this process (`dag.test()`)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from arrears.errors import ArrearsError
from arrears.orchestration.airflow_env import DAGS_DIR, ensure_airflow_db
from arrears.orchestration.dates import run_time_for_business_date
from arrears.settings import paths

DAG_ID = "collections_nightly"


def _failure_reasons(since: int) -> list[str]:
    """Alerts written by the failure callback during this run (alerts.log lines after `since` bytes)."""
    log_file = paths().home / "alerts.log"
    if not log_file.exists():
        return []
    with open(log_file, encoding="utf-8") as handle:
        handle.seek(since)
        return [f"{entry['task']}: {entry['reason']}" for entry in map(json.loads, handle.read().splitlines())]


def run_nightly_dag(business_date: dt.date, landing: Path | None = None) -> str:
    """Run the nightly DAG for one business date; returns a one-line result or raises with the failed tasks."""
    if landing is not None:
        os.environ["ARREARS_LANDING"] = str(landing.resolve())
    ensure_airflow_db()
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR / f"{DAG_ID}.py"))
    if bag.import_errors:
        raise ArrearsError(f"DAG import failed: {next(iter(bag.import_errors.values())).splitlines()[-1]}")
    dag = bag.get_dag(DAG_ID)
    alerts = paths().home / "alerts.log"
    alerts_offset = alerts.stat().st_size if alerts.exists() else 0
    run = dag.test(logical_date=run_time_for_business_date(business_date))
    state = str(getattr(run, "state", "unknown"))
    if state != "success":
        reasons = _failure_reasons(alerts_offset) or ["see the Airflow task logs"]
        raise ArrearsError(f"nightly {business_date} {state}: " + "; ".join(reasons))
    return f"nightly {business_date}: success (run {run.run_id})"
