"""collections_score_retrain: each month, train a new collection scorecard and propose it (never activate)."""

from __future__ import annotations

from airflow.sdk import dag, task

from arrears.orchestration.dag_defaults import DEFAULT_ARGS, START_DATE, TAGS

DOC_MD = """
### collections_score_retrain — monthly scorecard proposal
On the 1st of each month, trains a collection scorecard (business rules §10) through the last night built
and writes the new version for review under `$ARREARS_HOME/scorecards/<version>/` and `audit.scorecard_versions`.
It never activates it: a risk analyst reviews the bins, KS / AUC and calibration, then runs
`arrears score activate VERSION` (recorded with who and when; docs/scorecard.md).

**Rerun**: trigger the DAG again, or `arrears score train --through YYYY-MM-DD`; each run adds a version.
"""


@dag(
    dag_id="collections_score_retrain",
    schedule="0 4 1 * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=DOC_MD,
    default_args=DEFAULT_ARGS,
)
def collections_score_retrain() -> None:
    @task
    def propose_scorecard() -> str:
        from arrears.orchestration.retrain import propose_scorecard as propose

        return propose()

    propose_scorecard()


collections_score_retrain()
