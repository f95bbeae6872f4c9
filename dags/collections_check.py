"""collections_check: the data-quality gate (Great Expectations) on the freshly built marts."""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from arrears.orchestration.assets import MARTS, QUALITY_RESULTS
from arrears.orchestration.dag_defaults import DEFAULT_ARGS, START_DATE, TAGS

DOC_MD = """
### collections_check — quality gate
Starts when the marts are rebuilt. Runs every Great Expectations suite for the business date; results
go to `audit.dq_results` and the GX Data Docs under `$ARREARS_HOME/gx/`. A failed suite does **not**
fail this DAG: each export refuses on its own failed suites, so a failed legal suite does not hold
back the SMS reminders. The failed expectations are named in the log and in the export's failure.

**Rerun a day**: trigger with conf `{"business_date": "YYYY-MM-DD"}` or `arrears check --date YYYY-MM-DD`.
"""


@dag(
    dag_id="collections_check",
    schedule=MARTS,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=DOC_MD,
    default_args=DEFAULT_ARGS,
)
def collections_check() -> None:
    @task(outlets=[QUALITY_RESULTS])
    def quality_gate() -> list[str]:
        from arrears.orchestration import steps
        from arrears.orchestration.dates import business_dates_from_context

        context = get_current_context()
        days = [day.isoformat() for day in business_dates_from_context(context)]
        summaries = [steps.check(day) for day in days]
        steps.announce(context, [QUALITY_RESULTS], *days)
        return summaries

    quality_gate()


collections_check()
