"""collections_nightly: ingest -> dbt -> data-quality gate -> exports, for one business date.

Thin by design: every task calls one `arrears` function; nothing heavy is imported and no
database is touched at parse time (the tasks import what they need when they run).
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import dag, get_current_context, task

DOC_MD = """
### collections_nightly
Runs at 02:00 Asia/Shanghai and processes the **previous local day** (the business date is derived
from the run's data interval, never from the wall clock):

1. `wait_for_manifest` — waits (without holding a worker slot) for `<landing>/<D>/_manifest.json`.
2. `validate_delivery` — checks every file against the manifest (rows, SHA-256); a bad delivery
   fails here and nothing loads.
3. `load_entity` — one mapped task per entity, each replacing that entity's rows for D atomically.
4. `finalize_batch` — records the batch and fails when the quarantined share passes the limit.
5. `dbt_build` — builds every dbt model for D (incremental: replaces D's rows only).
6. `quality_gate` — runs the Great Expectations suites; results land in `audit.dq_results`.
7. `export_recipient` — one mapped task per recipient; refuses to publish when a suite it depends on failed.

**When it fails**: the failing task's log names the date and the reason (e.g. the file and the manifest mismatch, the
failed expectations). Bad data and failed gates do not retry; transient errors (database restart) retry with back-off.

**To rerun a day**: fix the cause, then clear the failed task (and downstream) in the UI, or run
`arrears nightly --date YYYY-MM-DD` — every step is idempotent for its date. Backfill a range with Airflow's backfill
(catchup is on) or `arrears nightly` per date, in date order.
"""


def _business_date() -> dt.date:
    from arrears.orchestration.dates import business_date_for_run

    context = get_current_context()
    return business_date_for_run(context["data_interval_end"])


def _alert(context: dict) -> None:  # type: ignore[type-arg]
    from arrears.orchestration.alerts import alert_on_failure

    alert_on_failure(context)


@dag(
    dag_id="collections_nightly",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=True,
    max_active_runs=1,
    tags=["arrears", "collections", "nightly"],
    doc_md=DOC_MD,
    on_failure_callback=_alert,
    default_args={
        "on_failure_callback": _alert,
        "owner": "collections-data",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=20),
    },
)
def collections_nightly() -> None:
    @task.sensor(mode="reschedule", poke_interval=300, timeout=6 * 3600, soft_fail=False)
    def wait_for_manifest() -> bool:
        from arrears.ingest import manifest_path

        return manifest_path(_business_date(), None).exists()

    @task
    def validate_delivery() -> list[str]:
        from arrears.ingest import validate_delivery as validate
        from arrears.orchestration.failures import fail_fast_on_data_errors

        manifest = fail_fast_on_data_errors(validate, _business_date(), None)
        return sorted(manifest.entities)

    @task(map_index_template="{{ entity }}")
    def load_entity(entity: str) -> str:
        get_current_context()["entity"] = entity  # type: ignore[typeddict-unknown-key]  # names the map index
        from arrears.ingest import load_entity as load
        from arrears.orchestration.failures import fail_fast_on_data_errors

        return str(fail_fast_on_data_errors(load, _business_date(), entity, None).summary())

    @task
    def finalize_batch() -> str:
        from arrears.ingest import finalize_batch as finalize
        from arrears.orchestration.failures import fail_fast_on_data_errors

        return str(fail_fast_on_data_errors(finalize, _business_date(), None).summary())

    @task
    def dbt_build() -> str:
        from arrears.orchestration.failures import fail_fast_on_data_errors
        from arrears.transform import build

        return str(fail_fast_on_data_errors(build, _business_date()).summary())

    @task
    def quality_gate() -> str:
        # The gate does not fail here: each export task refuses on its own failed suites,
        # so a failed `legal` suite does not block the SMS reminders.
        from arrears.checks import run_checks

        return str(run_checks(_business_date()).summary())

    @task
    def recipients() -> list[str]:
        from arrears.export import recipient_names

        return recipient_names()

    @task(map_index_template="{{ recipient }}")
    def export_recipient(recipient: str) -> str:
        get_current_context()["recipient"] = recipient  # type: ignore[typeddict-unknown-key]
        from arrears.export import export_recipient as export
        from arrears.orchestration.failures import fail_fast_on_data_errors

        return str(fail_fast_on_data_errors(export, _business_date(), recipient).summary())

    entities = validate_delivery()
    loaded = load_entity.expand(entity=entities)
    gate = quality_gate()
    wait_for_manifest() >> entities
    loaded >> finalize_batch() >> dbt_build() >> gate
    gate >> export_recipient.expand(recipient=recipients())


collections_nightly()
