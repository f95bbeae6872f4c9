"""collections_export_deadline: alerts when a night's exports are not published by 07:00 Asia/Shanghai."""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from arrears.orchestration.dag_defaults import DEFAULT_ARGS, START_DATE, TAGS

DOC_MD = """
### collections_export_deadline
At 07:00 Asia/Shanghai, checks that every recipient's files for the previous business date are
published (`audit.exports`). If not, the task fails once — no retries — and the failure alert names
the missing recipients, so the on-call engineer learns before the collectors start at 08:00.
"""


@dag(
    dag_id="collections_export_deadline",
    schedule="0 7 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=DOC_MD,
    default_args={**DEFAULT_ARGS, "retries": 0},
)
def collections_export_deadline() -> None:
    @task
    def exports_published() -> str:
        from arrears.orchestration import steps
        from arrears.orchestration.dates import business_dates_from_context

        return steps.require_exports_published(business_dates_from_context(get_current_context())[0].isoformat())

    exports_published()


collections_export_deadline()
