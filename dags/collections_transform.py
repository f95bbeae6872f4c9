"""collections_transform: dbt builds every model for the business dates the loaded entities announce."""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from arrears.orchestration.assets import LOADED_ENTITIES, MARTS
from arrears.orchestration.dag_defaults import DEFAULT_ARGS, START_DATE, TAGS

DOC_MD = """
### collections_transform — dbt
Starts when every entity of a night's delivery is loaded (Assets `raw.<entity>`), and runs one
`dbt build` per business date, in date order (staging → intermediate → marts; incremental models
replace that date's rows). Each model's status is in the task log and the run report. On success it
updates one Asset per published mart (`marts.<name>`): downstream teams can schedule on them.

**Rerun a day**: trigger with conf `{"business_date": "YYYY-MM-DD"}`, or `arrears build --date YYYY-MM-DD`.
A failed model or dbt test fails the task without retries (fix the model or the data first).
"""


@dag(
    dag_id="collections_transform",
    schedule=LOADED_ENTITIES,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=DOC_MD,
    default_args=DEFAULT_ARGS,
)
def collections_transform() -> None:
    @task(outlets=MARTS)
    def dbt_build() -> list[str]:
        from arrears.orchestration import steps
        from arrears.orchestration.dates import business_dates_from_context

        context = get_current_context()
        days = [day.isoformat() for day in business_dates_from_context(context)]
        summaries = [steps.build(day) for day in days]
        steps.announce(context, MARTS, *days)
        return summaries

    dbt_build()


collections_transform()
