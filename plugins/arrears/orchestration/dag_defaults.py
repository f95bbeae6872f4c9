"""What every arrears DAG shares: owner, retries with back-off, the failure alert."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pendulum

OWNER = "collections-data"
START_DATE = pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai")
TAGS = ["arrears", "collections", "nightly"]


def nightly_schedule() -> str | None:
    """The first link's cron, 02:00 local. ARREARS_NIGHTLY_SCHEDULE=off leaves it to triggers only: the local
    Celery stack (celery_stack.py) needs the scheduler for Assets but not a catch-up of every past night."""
    setting = os.environ.get("ARREARS_NIGHTLY_SCHEDULE", "").strip().lower()
    if setting in ("", "cron"):
        return "0 2 * * *"
    if setting == "off":
        return None
    raise ValueError(f"ARREARS_NIGHTLY_SCHEDULE must be 'cron' or 'off', not {setting!r}")


def alert_on_failure(context: Any) -> None:
    """on_failure_callback: one alert naming the date, the task and the reason."""
    from arrears.orchestration.alerts import alert_on_failure as send

    send(context)


DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    # Transient faults (database restart, SFTP drop) retry with back-off; data errors raise
    # AirflowFailException (see failures.py) and skip the retries.
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=20),
    "on_failure_callback": alert_on_failure,
}
