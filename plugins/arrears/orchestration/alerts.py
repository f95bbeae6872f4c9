"""One alert per failure, naming the date, the task and the reason.

Where it goes is configuration (`ARREARS_ALERT_WEBHOOK` for a JSON POST, `ARREARS_ALERT_EMAIL` for
Airflow's SMTP); unconfigured, the alert is logged and appended to $ARREARS_HOME/alerts.log,
which is also how `arrears nightly` reports why a run failed.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

from arrears.settings import paths

log = logging.getLogger(__name__)


def _reason(context: dict[str, Any]) -> str:
    error = context.get("exception")
    if error is None:
        return "unknown reason (see the task log)"
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return first_line


def alert_message(context: dict[str, Any]) -> dict[str, str]:
    """The alert's fields: dag, business date, task, reason."""
    from arrears.orchestration.dates import business_dates_from_context

    task_instance = context.get("task_instance") or context.get("ti")
    try:
        business_date = ", ".join(day.isoformat() for day in business_dates_from_context(context))
    except (ValueError, KeyError, TypeError):
        business_date = "?"
    return {
        "dag": str(getattr(context.get("dag"), "dag_id", "?")),
        "business_date": business_date,
        "task": str(getattr(task_instance, "task_id", "?")),
        "reason": _reason(context),
    }


def alert_on_failure(context: dict[str, Any]) -> None:
    """Airflow on_failure_callback: send exactly one alert for this failure."""
    message = alert_message(context)
    text = f"[arrears] {message['dag']} {message['business_date']}: task {message['task']} failed: {message['reason']}"
    log.error(text)
    home = paths().home
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "alerts.log", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(message, ensure_ascii=False) + "\n")
    webhook = os.environ.get("ARREARS_ALERT_WEBHOOK")
    if webhook:
        request = urllib.request.Request(
            webhook, data=json.dumps(message).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except OSError as err:  # an alert must never mask the failure it reports
            log.error("alert webhook %s failed: %s", webhook, err)
    email = os.environ.get("ARREARS_ALERT_EMAIL")
    if email:
        try:
            from airflow.utils.email import send_email

            send_email(to=email, subject=text[:200], html_content=f"<pre>{text}</pre>")
        except Exception as err:  # noqa: BLE001 - same: report, don't mask
            log.error("alert email to %s failed: %s", email, err)
