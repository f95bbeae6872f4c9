"""`arrears nightly --date D`: the real collections_nightly DAG, run through Airflow in this process (`dag.test()`)."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from arrears.errors import ArrearsError
from arrears.orchestration.airflow_env import DAGS_DIR, ensure_airflow_db
from arrears.orchestration.dates import run_time_for_business_date
from arrears.settings import NIGHTLY_DAG_CHAIN, paths

Log = Callable[[str], None]


def _failure_reasons(since: int) -> list[str]:
    """Alerts written by the failure callback during this run (alerts.log lines after `since` bytes)."""
    log_file = paths().home / "alerts.log"
    if not log_file.exists():
        return []
    with open(log_file, encoding="utf-8") as handle:
        handle.seek(since)
        return [f"{entry['task']}: {entry['reason']}" for entry in map(json.loads, handle.read().splitlines())]


# How often a waiting `arrears nightly --wait` looks for the manifest, and logs that it is still waiting.
POKE_SECONDS = 60.0


def wait_for_manifest(
    business_date: dt.date, wait: dt.timedelta | None, poke_seconds: float = POKE_SECONDS, log: Log = print
) -> None:
    """Return once the delivery's manifest is there. Without `wait`, an absent manifest fails at once;
    with it, look every `poke_seconds` (one log line each time) until the manifest appears or `wait` runs out."""
    from arrears.ingest.manifest import manifest_path

    manifest = manifest_path(business_date, paths().landing)
    if manifest.exists():
        return
    folder_state = "" if manifest.parent.exists() else " (no delivery folder either)"
    if not wait:
        raise ArrearsError(
            f"nightly {business_date}: no delivery: {manifest} is absent{folder_state}; "
            "to wait for it, pass --wait (e.g. --wait 2h)"
        )
    deadline = time.monotonic() + wait.total_seconds()
    while not manifest.exists():
        left = deadline - time.monotonic()
        if left <= 0:
            raise ArrearsError(f"nightly {business_date}: no delivery after waiting {wait}: {manifest} is absent")
        log(f"nightly {business_date}: waiting for {manifest}{folder_state}, {dt.timedelta(seconds=round(left))} left")
        time.sleep(min(poke_seconds, left))
        folder_state = "" if manifest.parent.exists() else " (no delivery folder either)"


def run_nightly_dag(
    business_date: dt.date, landing: Path | None = None, wait: dt.timedelta | None = None, log: Log = print
) -> str:
    """Run the nightly chain of DAGs for one business date; returns a summary or raises naming the failed tasks.

    The delivery must be there (or arrive within `wait`) before Airflow starts: the DAG's own sensor
    waits up to 6 hours, which is right for the scheduler but not for a person at a terminal.
    """
    if landing is not None:
        os.environ["ARREARS_LANDING"] = str(landing.resolve())
    wait_for_manifest(business_date, wait, log=log)
    ensure_airflow_db()
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        file, error = next(iter(bag.import_errors.items()))
        raise ArrearsError(f"DAG import failed in {file}: {error.strip().splitlines()[-1]}")
    from arrears.warehouse.locks import NIGHTLY_LOCK, exclusive

    alerts = paths().home / "alerts.log"
    results = []
    with exclusive(NIGHTLY_LOCK):
        # The scheduler would start each DAG on the previous one's asset events; here they run one after
        # the other with the date in their conf.
        for position, dag_id in enumerate(NIGHTLY_DAG_CHAIN):
            alerts_offset = alerts.stat().st_size if alerts.exists() else 0
            # Only the first link has a schedule-derived logical date; the others are asset-triggered.
            logical_date = run_time_for_business_date(business_date) if position == 0 else None
            conf = {"business_date": business_date.isoformat()}
            run = bag.get_dag(dag_id).test(logical_date=logical_date, run_conf=conf)
            state = str(getattr(run, "state", "unknown"))
            if state != "success":
                reasons = _failure_reasons(alerts_offset) or ["see the Airflow task logs"]
                raise ArrearsError(f"nightly {business_date}: {dag_id} {state}: " + "; ".join(reasons))
            results.append(dag_id)
    return f"nightly {business_date}: success ({' -> '.join(results)})"
