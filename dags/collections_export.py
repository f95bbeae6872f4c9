"""collections_export: one mapped task per recipient writes its files (gated), then delivers them."""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from arrears.orchestration.assets import EXPORTS, QUALITY_RESULTS
from arrears.orchestration.dag_defaults import DEFAULT_ARGS, START_DATE, TAGS

DOC_MD = """
### collections_export — files for collector teams, agencies and legal
Starts when the quality gate has run. One mapped task per recipient (`plugins/arrears/config/recipients.yml`):
it refuses to publish when a suite that recipient depends on failed (the error names the failed
expectations), otherwise writes `$ARREARS_HOME/exports/<recipient>/<D>/` atomically with `_manifest.json`
last, then pushes the files to the recipient's SFTP (ledger `audit.deliveries`: never twice).

**Rerun a day**: fix the cause, rerun the checks, then trigger with conf `{"business_date": "YYYY-MM-DD"}`
or `arrears export --date D && arrears deliver --date D`. Re-exporting gives byte-identical files.
Last, `run_report` writes `$ARREARS_HOME/reports/<D>/index.html` (also when an export failed, to show why);
`all_recipients_published` fails the run when any recipient was not published.
"""


@dag(
    dag_id="collections_export",
    schedule=[QUALITY_RESULTS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=DOC_MD,
    default_args=DEFAULT_ARGS,
)
def collections_export() -> None:
    @task
    def business_dates() -> list[str]:
        from arrears.orchestration.dates import business_dates_from_context

        return [day.isoformat() for day in business_dates_from_context(get_current_context())]

    @task
    def recipients() -> list[str]:
        from arrears.orchestration import steps

        return steps.recipients()

    @task(map_index_template="{{ recipient }}", outlets=[EXPORTS])
    def publish(recipient: str, days: list[str]) -> list[str]:
        from arrears.orchestration import steps

        get_current_context()["recipient"] = recipient  # type: ignore[typeddict-unknown-key]
        return [line for day in days for line in steps.publish(day, recipient)]

    @task(trigger_rule="all_done")
    def run_report(days: list[str]) -> list[str]:
        from arrears.orchestration import steps

        return [steps.report(day) for day in days]

    @task
    def all_recipients_published() -> None:
        """A leaf with the default all_success rule: a failed publish fails the run.

        run_report (all_done) is a leaf too and succeeds even then; without this task the run would
        be marked success while a recipient's files were blocked.
        """

    days = business_dates()
    published = publish.partial(days=days).expand(recipient=recipients())
    published >> run_report(days)
    published >> all_recipients_published()


collections_export()
