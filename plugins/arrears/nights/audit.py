"""`arrears audit [--date D]`: what happened to a night, read from the audit tables. Read-only.

One screen for a date: its delivery (audit.batches), build (the snapshot's rows, and the last dbt
build if it was for the date), checks (the latest run per suite in audit.dq_results), exports per
recipient (audit.exports), SFTP deliveries (audit.deliveries) and its mark (audit.night_status).
Without a date: the last nights, one line each.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import psycopg

from arrears.checks.night_status import night_mark
from arrears.checks.results import latest_verdicts
from arrears.errors import ArrearsError
from arrears.export import export_folder
from arrears.warehouse import connect

RECENT_NIGHTS = 14


def _time(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _snapshot_rows(conn: psycopg.Connection, business_date: dt.date) -> int | None:
    if conn.execute("select to_regclass('marts.fct_loan_delinquency_daily')").fetchone() == (None,):
        return None
    row = conn.execute(
        "select count(*) from marts.fct_loan_delinquency_daily where business_date = %s", (business_date,)
    ).fetchone()
    return int(row[0]) if row else 0


def _last_build_line(business_date: dt.date) -> str | None:
    """The last dbt build of this home, when it was for the date (dbt keeps only its last command)."""
    from arrears.report.dbt_results import RunResultsUnreadable, read_run_results, run_results_path
    from arrears.settings import paths

    try:
        results = read_run_results(run_results_path(paths()))
    except RunResultsUnreadable:
        return None
    if results is None or results.command != "build" or results.business_date != business_date.isoformat():
        return None
    outcomes = Counter(node.outcome for node in results.nodes)
    counts = ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items()))
    return f"last dbt build {results.generated_at[:16].replace('T', ' ')} UTC: {counts}"


def _checks_line(business_date: dt.date, suites: list[str]) -> list[str]:
    if not suites:
        return ["checks     not run"]
    verdicts = latest_verdicts(business_date, suites)
    failures = [failure for verdict in verdicts.values() for failure in verdict.failed_expectations]
    latest = max(verdict.run_id for verdict in verdicts.values() if verdict.run_id)
    if failures and all(".delivery_loaded (" in failure for failure in failures):
        return [f"checks     REFUSED (no loaded delivery), run {latest}"]
    if not failures:
        return [f"checks     passed: {len(suites)}/{len(suites)} suites, latest run {latest}"]
    failed = [suite for suite, verdict in verdicts.items() if verdict.failed_expectations]
    lines = [f"checks     FAILED: {len(failed)}/{len(suites)} suites ({', '.join(failed)}), latest run {latest}"]
    return lines + [f"             {failure}" for failure in failures]


def night_report(business_date: dt.date) -> str:
    """The one-screen story of a night; ArrearsError when the warehouse knows nothing about the date."""
    with connect() as conn:
        batch = conn.execute(
            "select status, rows_loaded, rows_quarantined, loaded_at from audit.batches where business_date = %s",
            (business_date,),
        ).fetchone()
        suites = [
            row[0]
            for row in conn.execute(
                "select distinct suite from audit.dq_results where business_date = %s order by 1", (business_date,)
            )
        ]
        exports = conn.execute(
            "select recipient, file, rows, sha256, dq_run_id, exported_at from audit.exports"
            " where business_date = %s order by recipient, file",
            (business_date,),
        ).fetchall()
        deliveries = conn.execute(
            "select recipient, count(*), count(*) filter (where redelivery), max(delivered_at),"
            " bool_or(file = '_RETRACTED.json'), min(target) from audit.deliveries"
            " where business_date = %s group by recipient order by recipient",
            (business_date,),
        ).fetchall()
        mark = night_mark(business_date, conn)
        snapshot = _snapshot_rows(conn, business_date)
    if batch is None and not suites and not exports and not deliveries and mark is None and not snapshot:
        raise ArrearsError(
            f"nothing is known about {business_date}: no delivery, check, export or mark for that date"
            " (see `arrears audit` for the recent nights)"
        )
    night = f"{mark.status.upper()}: {mark.detail} (marked {_time(mark.marked_at)})" if mark else "ordinary"
    lines = [f"night {business_date}: {night}"]
    if batch is None:
        lines.append("delivery   none loaded")
    else:
        status, loaded, quarantined, loaded_at = batch
        lines.append(f"delivery   {status} {_time(loaded_at)}: {loaded:,} rows loaded, {quarantined:,} quarantined")
    build = _last_build_line(business_date)
    snapshot_text = "no snapshot rows" if not snapshot else f"{snapshot:,} loans in the snapshot"
    lines.append(f"build      {snapshot_text}" + (f"; {build}" if build else ""))
    lines += _checks_line(business_date, suites)
    if not exports:
        lines.append("exports    none")
    for recipient, file, rows, sha256, dq_run_id, exported_at in exports:
        gone = "" if (export_folder(recipient, business_date) / file).is_file() else " [no longer in its folder]"
        lines.append(
            f"export     {recipient}: {file} {rows:,} rows sha256 {sha256[:12]} at {_time(exported_at)}"
            f" (cleared by {dq_run_id}){gone}"
        )
    if not deliveries:
        lines.append("deliveries none")
    for recipient, files, redelivered, last, notice, target in deliveries:
        extra = f", {redelivered} re-delivered" if redelivered else ""
        extra += ", retraction notice sent" if notice else ""
        lines.append(f"delivered  {recipient}: {files} file(s){extra} -> {target}, last {_time(last)}")
    lines += [f"withdrawn  {path}" for path in _withdrawn_folders(business_date)]
    return "\n".join(lines)


def _withdrawn_folders(business_date: dt.date) -> list[str]:
    """Evidence of earlier retractions kept on disk: exports/<recipient>/<D>/.retracted/<time>/."""
    from arrears.nights.retract import RETRACTED_DIR
    from arrears.settings import paths

    exports = paths().exports
    pattern = f"*/{business_date.isoformat()}/{RETRACTED_DIR}/*"
    return sorted(str(path.relative_to(exports)) for path in exports.glob(pattern)) if exports.is_dir() else []


def _recent(conn: psycopg.Connection, nights: int) -> list[tuple[Any, ...]]:
    return conn.execute(
        """with days as (
               select business_date from audit.batches union select business_date from audit.dq_results
               union select business_date from audit.exports union select business_date from audit.night_status
           ), recent as (select business_date from days order by business_date desc limit %s),
           latest_run as (
               select distinct on (suite, business_date) business_date, suite, run_id
               from audit.dq_results where business_date in (select business_date from recent)
               order by suite, business_date, checked_at desc, run_id desc
           ), checks as (
               select l.business_date, count(distinct l.suite) as suites,
                   count(distinct l.suite) filter (where not r.success) as failed,
                   bool_or(r.expectation = 'delivery_loaded' and not r.success) as refused
               from latest_run as l join audit.dq_results as r
                   on r.run_id = l.run_id and r.suite = l.suite and r.business_date = l.business_date
               group by l.business_date
           )
           select r.business_date, b.status, b.rows_loaded, b.rows_quarantined, c.suites, c.failed, c.refused,
               (select count(distinct recipient) from audit.exports as e where e.business_date = r.business_date),
               (select count(distinct recipient) from audit.deliveries as d where d.business_date = r.business_date),
               n.status, n.detail
           from recent as r
           left join audit.batches as b on b.business_date = r.business_date
           left join checks as c on c.business_date = r.business_date
           left join audit.night_status as n on n.business_date = r.business_date
           order by r.business_date desc""",
        (nights,),
    ).fetchall()


def recent_nights(nights: int = RECENT_NIGHTS) -> str:
    """The last `nights` dates the warehouse knows of, newest first, one line each."""
    with connect() as conn:
        rows = _recent(conn, nights)
    if not rows:
        return "no nights yet: nothing has been ingested, checked or exported"
    lines = [f"{'date':<10}  {'delivery':<26}  {'checks':<16}  {'exported':<8}  {'delivered':<9}  night"]
    for day, status, loaded, quarantined, suites, failed, refused, exported, delivered, mark, detail in rows:
        delivery = "none" if status is None else f"{status} {loaded:,}/{quarantined:,}q"
        checks = "passed" if suites and not failed else f"failed {failed}/{suites}" if suites else "not run"
        checks = "refused" if refused else checks
        night = "ordinary" if mark is None else f"{mark.upper()}: {detail}"
        lines.append(f"{day}  {delivery:<26}  {checks:<16}  {exported:<8}  {delivered:<9}  {night}")
    return "\n".join(lines)
