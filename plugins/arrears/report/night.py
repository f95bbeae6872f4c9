"""Whether the night reached the collectors: the night's mark (audit.night_status) and the gate per recipient.

The banner at the top of the page is drawn from this: a night marked missing or retracted, or any
recipient whose export the gate blocked. The gate's verdict is recomputed here the way the export
applies it (arrears.checks.results.require_passed): for each suite a recipient depends on, the latest
run that checked it for D; blocked when a suite was never checked or its latest run failed. It runs
inside the report's one snapshot, so the banner agrees with the data-quality section below it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from arrears.report.figures import plain, relation_exists

if TYPE_CHECKING:
    import psycopg


def night_mark(conn: psycopg.Connection, day: dt.date) -> dict[str, Any] | None:
    """The audit.night_status row of D (status 'missing' or 'retracted', detail, marked_at), or None."""
    if not relation_exists(conn, "audit.night_status"):
        return None
    row = conn.execute(
        "select status, detail, marked_at from audit.night_status where business_date = %s", (day,)
    ).fetchone()
    return None if row is None else {"status": row[0], "detail": row[1], "marked_at": plain(row[2])}


def _latest_failures(conn: psycopg.Connection, day: dt.date, suites: list[str]) -> dict[str, int]:
    """Suite -> failed expectations in the latest run that checked it for D; a suite never checked is absent."""
    if not relation_exists(conn, "audit.dq_results"):
        return {}
    rows = conn.execute(
        """with latest as (
               select distinct on (suite) suite, run_id
               from audit.dq_results
               where business_date = %s and suite = any(%s)
               order by suite, checked_at desc, run_id desc
           )
           select l.suite, count(*) filter (where not r.success)
           from latest as l
           join audit.dq_results as r on r.run_id = l.run_id and r.suite = l.suite and r.business_date = %s
           group by l.suite""",
        (day, suites, day),
    ).fetchall()
    return {suite: int(failed) for suite, failed in rows}


def gate_by_recipient(conn: psycopg.Connection, day: dt.date) -> list[dict[str, Any]]:
    """Per configured recipient (recipients.yml order): passed, or blocked with the suites unchecked / failed."""
    from arrears.export.config import load_recipients

    recipients = load_recipients()
    failures = _latest_failures(conn, day, sorted({suite for r in recipients.values() for suite in r.suites}))
    verdicts = []
    for name, recipient in recipients.items():
        unchecked = [suite for suite in recipient.suites if suite not in failures]
        failed = [suite for suite in recipient.suites if failures.get(suite)]
        verdicts.append(
            {"recipient": name, "blocked": bool(unchecked or failed), "unchecked": unchecked, "failed": failed}
        )
    return verdicts


def night_figures(conn: psycopg.Connection, day: dt.date) -> dict[str, Any]:
    """The banner's figures: the night's mark, each recipient's gate, and whether to raise the alarm."""
    mark = night_mark(conn, day)
    gate = gate_by_recipient(conn, day)
    blocked = [entry for entry in gate if entry["blocked"]]
    return {
        "mark": mark,
        "gate": gate,
        "blocked_recipients": [entry["recipient"] for entry in blocked],
        "alarm": mark is not None or bool(blocked),
    }
