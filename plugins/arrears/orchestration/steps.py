"""What each DAG task does, one function per task, so the DAG files only wire them together.

Dates arrive as ISO strings (they travel through XCom and asset events). Data errors (a rejected
delivery, a failed gate) become AirflowFailException: retrying cannot fix them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from arrears.orchestration.failures import fail_fast_on_data_errors


def _day(business_date: str) -> dt.date:
    return dt.date.fromisoformat(business_date)


def delivery_arrived(business_date: str) -> bool:
    """Sensor poke: is the delivery's manifest (written last by the source) there?"""
    from arrears.ingest import manifest_path

    return manifest_path(_day(business_date), None).exists()


def validate_delivery(business_date: str) -> list[str]:
    """Whole-delivery manifest checks; returns the entities to load (one mapped task each)."""
    from arrears.ingest import validate_delivery as validate

    manifest = fail_fast_on_data_errors(validate, _day(business_date), None)
    return sorted(manifest.entities)


def load_entity(business_date: str, entity: str) -> str:
    """Load one entity of a validated delivery, replacing its rows for the date."""
    from arrears.ingest import load_entity as load

    return str(fail_fast_on_data_errors(load, _day(business_date), entity, None).summary())


def finalize_batch(business_date: str) -> str:
    """Record the batch; fails when the quarantined share passes the limit."""
    from arrears.ingest import finalize_batch as finalize

    return str(fail_fast_on_data_errors(finalize, _day(business_date), None).summary())


def build(business_date: str) -> str:
    """dbt build for one date; refreshes the access policies dbt may have replaced."""
    from arrears.transform import build as dbt_build

    return str(fail_fast_on_data_errors(dbt_build, _day(business_date)).summary())


def check(business_date: str) -> str:
    """Run every suite. Never fails the task: each export refuses on the suites it depends on."""
    from arrears.checks import run_checks

    return str(run_checks(_day(business_date)).summary())


def recipients() -> list[str]:
    """The configured recipients (one mapped export task each)."""
    from arrears.export import recipient_names

    return list(recipient_names())


def publish(business_date: str, recipient: str) -> list[str]:
    """Export one recipient's files (refused when its suites failed), then deliver them."""
    from arrears.deliver import deliver_recipient
    from arrears.export import export_recipient

    written = fail_fast_on_data_errors(export_recipient, _day(business_date), recipient)
    delivered = fail_fast_on_data_errors(deliver_recipient, _day(business_date), recipient)
    return [str(written.summary()), str(delivered.summary())]


def report(business_date: str) -> str:
    """Write the run report; runs even when an export failed, so the report shows why."""
    from arrears.report import write_report

    return str(write_report(_day(business_date)))


def announce(context: Any, assets: list[Any], *business_dates: str) -> None:
    """Attach the business dates to this task's asset events, so the next DAG knows what to process."""
    for asset in assets:
        context["outlet_events"][asset].extra = {"business_dates": list(business_dates)}


def require_exports_published(business_date: str) -> str:
    """The 07:00 deadline: fail (and so alert, once, no retries) when a recipient has no files for the date."""
    return fail_fast_on_data_errors(_exports_published, _day(business_date))


def _exports_published(business_date: dt.date) -> str:
    from arrears.errors import ArrearsError
    from arrears.export import recipient_names
    from arrears.warehouse import connect

    with connect() as conn:
        rows = conn.execute("select distinct recipient from audit.exports where business_date = %s", (business_date,))
        published = {row[0] for row in rows}
    missing = sorted(set(recipient_names()) - published)
    if missing:
        raise ArrearsError(f"exports for {business_date} not published by the deadline: {', '.join(missing)}")
    return f"exports for {business_date} published for every recipient"
