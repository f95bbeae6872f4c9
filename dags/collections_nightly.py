"""collections_nightly: the first link of the nightly chain — wait for the delivery, validate it, load it.

ingest (this DAG, 02:00) -> collections_transform (dbt) -> collections_check (GX) -> collections_export.
Thin by design: every task calls one `arrears` function; nothing heavy is imported and no
database is touched at parse time.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from arrears.orchestration.assets import LOADED_ENTITIES
from arrears.orchestration.dag_defaults import DEFAULT_ARGS, START_DATE, TAGS, nightly_schedule

DOC_MD = """
### collections_nightly — ingest
Runs at 02:00 Asia/Shanghai and processes the **previous local day** (derived from the run's data
interval, never the wall clock). First link of the chain
`collections_nightly → collections_transform → collections_check → collections_export`, linked by Assets.

1. `wait_for_manifest` waits, without holding a worker slot, for `<landing>/<D>/_manifest.json` (6 h timeout).
2. `validate_delivery` checks every file against the manifest (rows, SHA-256); a bad delivery fails here, nothing loads.
3. `load_entity` (one mapped task per entity) replaces that entity's rows for D atomically.
4. `finalize_batch` records the batch, fails when the quarantined share passes the limit, and updates one
   Asset per loaded entity (`raw.<entity>`), which starts `collections_transform`.

**When it fails**: the alert and the task log name the date and the reason (the file and the manifest
mismatch; the quarantine share). Bad data does not retry; transient errors retry with back-off.
**To rerun a day**: fix the delivery, then clear the run in the UI, or `arrears nightly --date YYYY-MM-DD`.
Every step is idempotent for its date. Backfill: `arrears backfill --from D1 --to D2` or Airflow's backfill.
"""


def _business_date() -> str:
    from arrears.orchestration.dates import business_dates_from_context

    return business_dates_from_context(get_current_context())[0].isoformat()


@dag(
    dag_id="collections_nightly",
    schedule=nightly_schedule(),
    start_date=START_DATE,
    catchup=True,
    max_active_runs=1,
    tags=TAGS,
    doc_md=DOC_MD,
    default_args=DEFAULT_ARGS,
)
def collections_nightly() -> None:
    @task.sensor(mode="reschedule", poke_interval=300, timeout=6 * 3600)
    def wait_for_manifest() -> bool:
        from arrears.orchestration import steps

        return steps.delivery_arrived(_business_date())

    @task
    def validate_delivery() -> list[str]:
        from arrears.orchestration import steps

        return steps.validate_delivery(_business_date())

    @task(map_index_template="{{ entity }}")
    def load_entity(entity: str) -> str:
        from arrears.orchestration import steps

        get_current_context()["entity"] = entity  # type: ignore[typeddict-unknown-key]  # names the map index
        return steps.load_entity(_business_date(), entity)

    @task(outlets=LOADED_ENTITIES)
    def finalize_batch() -> str:
        from arrears.orchestration import steps

        business_date = _business_date()
        summary = steps.finalize_batch(business_date)
        steps.announce(get_current_context(), LOADED_ENTITIES, business_date)
        return summary

    entities = validate_delivery()
    wait_for_manifest() >> entities
    load_entity.expand(entity=entities) >> finalize_batch()


collections_nightly()
