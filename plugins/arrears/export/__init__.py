"""Governed exports: each recipient's queue rows, with its columns and privacy policies, behind the gate.

`arrears export --date D` writes $ARREARS_HOME/exports/<recipient>/<D>/<recipient>_<D>.csv (or
.parquet, .xlsx) and `_manifest.json` last, only for recipients whose suites passed the latest check
run. The rows come from PostgreSQL, or under ARREARS_ENGINE=spark from the home's Spark warehouse, in the
same bytes (decision 042). Each recipient is exported on its own: one that fails (its gate, its folder, the disk) is
reported and the others are still written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from arrears.checks.night_status import require_publishable
from arrears.checks.results import require_passed
from arrears.errors import ArrearsError, QualityGateFailed
from arrears.export.beside import begin_export, csv_beside, publish
from arrears.export.config import Recipient, load_recipients, recipient, routing_of
from arrears.export.files import remove_partials
from arrears.export.manifest import MANIFEST_NAME, manifest_document, write_manifest
from arrears.export.numbers import number_headers, numbers_file_name, numbers_query
from arrears.export.on_spark import require_built_on_spark, write_files_on_spark
from arrears.export.privacy import hash_pads_for
from arrears.export.query import control_totals_sql, export_query, query_parameters
from arrears.export.writers import FileWritten, write_csv, write_parquet, write_xlsx
from arrears.export.xlsx import xlsx_sheet
from arrears.routing import recipient_rows_sql
from arrears.settings import paths
from arrears.spark.session import engine
from arrears.warehouse import connect

__all__ = [
    "ExportFailed",
    "ExportWritten",
    "export_all",
    "export_each",
    "export_folder",
    "export_recipient",
    "recipient_names",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportWritten:
    """One recipient's export of one date."""

    recipient: str
    business_date: dt.date
    folder: Path
    files: list[FileWritten]
    dq_run_id: str

    def summary(self) -> str:
        """One line: recipient, file, rows, SHA-256 prefix."""
        parts = [f"{item.path.name} {item.rows} rows sha256 {item.sha256[:12]}" for item in self.files]
        return f"export {self.recipient} {self.business_date}: {'; '.join(parts)} (cleared by {self.dq_run_id})"


@dataclass(frozen=True)
class ExportFailed:
    """One recipient whose export of a date did not happen (nothing of it is visible), and why."""

    recipient: str
    business_date: dt.date
    error: Exception

    @property
    def blocked_by_gate(self) -> bool:
        """Refused by the quality gate (as opposed to a fault while writing)."""
        return isinstance(self.error, QualityGateFailed)

    @property
    def reason(self) -> str:
        """The error as one line (a gate refusal as its message; a fault with its type)."""
        text = " ".join(str(self.error).split())
        if isinstance(self.error, ArrearsError):
            return text
        return f"{type(self.error).__name__}: {text}" if text else type(self.error).__name__

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for this failure (the gate's 5 for a refusal by the checks)."""
        return self.error.exit_code if isinstance(self.error, ArrearsError) else 1

    def summary(self) -> str:
        """One line: recipient, date, failed and why (without the gate message's own `export <r> <D>`)."""
        head = f"export {self.recipient} {self.business_date}"
        return f"{head}: failed: {self.reason.removeprefix(head + ' ')}"


def recipient_names() -> list[str]:
    """The configured recipients, in recipients.yml order (Airflow maps one export task over them)."""
    return list(load_recipients())


def export_folder(recipient_name: str, business_date: dt.date) -> Path:
    """$ARREARS_HOME/exports/<recipient>/<business_date>/"""
    return paths().exports / recipient_name / business_date.isoformat()


def _data_file_name(target: Recipient, business_date: dt.date) -> str:
    return f"{target.name}_{business_date.isoformat()}.{target.format}"


def _record(conn_rows: list[tuple[str, dt.date, str, int, str, str]]) -> None:
    with connect() as conn, conn.cursor() as cursor:
        cursor.executemany(
            """insert into audit.exports (recipient, business_date, file, rows, sha256, dq_run_id)
               values (%s, %s, %s, %s, %s, %s)
               on conflict (recipient, business_date, file) do update
               set rows = excluded.rows, sha256 = excluded.sha256, dq_run_id = excluded.dq_run_id,
                   exported_at = now()""",
            conn_rows,
        )


def export_recipient(business_date: dt.date, recipient_name: str) -> ExportWritten:
    """Write one recipient's files for a date; QualityGateFailed when a suite it depends on has not passed.

    The rows are read from the engine's warehouse (ARREARS_ENGINE: PostgreSQL, or the home's Spark
    warehouse, decision 042); the gate and the exports ledger are PostgreSQL's audit schema on both.
    """
    recipients = load_recipients()
    target = recipient(recipient_name)
    routed = recipient_rows_sql(routing_of(recipients), target.name)  # this recipient's rows of its teams
    pads = hash_pads_for(target)  # a missing key fails before anything is read or written
    on_spark = engine() == "spark"
    if on_spark:
        require_built_on_spark()
    dq_run_id = require_passed(business_date, target.suites, for_whom=f"export {target.name}")
    folder = export_folder(target.name, business_date)
    folder.mkdir(parents=True, exist_ok=True)
    remove_partials(folder)
    params = query_parameters(target, business_date)
    if pads is not None:
        params |= {"hmac_inner": pads.inner, "hmac_outer": pads.outer}
    headers = [column.header(target.header_language) for column in target.columns]
    final = folder / _data_file_name(target, business_date)
    if on_spark:
        read = write_files_on_spark(target, business_date, routed, params, headers, final)
        files, totals = read.files, read.control_totals
    else:
        files, totals = _write_files_from_postgres(target, business_date, routed, params, headers, final)
    document = manifest_document(target, business_date, files, totals, dq_run_id)
    write_manifest(folder, document)
    # Files of an earlier configuration (another format) are no longer listed: remove them after the manifest.
    listed = {item.path.name for item in files} | {MANIFEST_NAME}
    for stale in folder.iterdir():
        if stale.name not in listed and not stale.name.startswith("."):
            stale.unlink()
    _record([(target.name, business_date, item.path.name, item.rows, item.sha256, dq_run_id) for item in files])
    return ExportWritten(target.name, business_date, folder, files, dq_run_id)


def _write_files_from_postgres(
    target: Recipient, business_date: dt.date, routed: str, params: dict[str, Any], headers: list[str], final: Path
) -> tuple[list[FileWritten], list[tuple[str, int, Decimal]]]:
    """The recipient's files and their control totals, read from PostgreSQL in one snapshot."""
    query = export_query(target, routed)
    with connect() as conn, contextlib.ExitStack() as stack:
        # One snapshot for the files and their control totals, so the manifest describes exactly the files.
        begin_export(conn)
        numbers_job = None
        if target.numbers_file:  # written at the same time, on a second connection (export/beside.py)
            numbers = final.with_name(numbers_file_name(target, business_date))
            beside = csv_beside(conn, numbers_query(routed), params, number_headers(target.header_language), numbers)
            numbers_job = stack.enter_context(beside)
        if target.format == "xlsx":
            sheet = xlsx_sheet(target, business_date)  # created at the business date, not the clock: same bytes
            written = write_xlsx(conn, query.sql, params, sheet.columns, final, sheet.title, sheet.created)
        else:
            write = write_csv if target.format == "csv" else write_parquet
            written = write(conn, query.sql, params, headers, final)
        files = [written]
        totals = conn.execute(control_totals_sql(routed), query_parameters(target, business_date)).fetchall()
        if numbers_job is not None:
            files.append(publish(numbers_job))
    return files, totals


# What a recipient's export may fail on without stopping the others: a refusal (gate, configuration,
# missing key), the file system (permissions, a full disk, a file where its folder should be), the warehouse.
_RECIPIENT_FAULTS = (ArrearsError, OSError, psycopg.Error)


def export_each(business_date: dt.date) -> list[ExportWritten | ExportFailed]:
    """Export every recipient, each on its own: a failure is returned as ExportFailed and the next is tried."""
    if engine() == "spark":
        require_built_on_spark()  # one line for a home whose Spark warehouse was never built
    require_publishable(business_date, "export")  # one line for the night, not one per recipient
    results: list[ExportWritten | ExportFailed] = []
    for name in recipient_names():
        try:
            results.append(export_recipient(business_date, name))
        except _RECIPIENT_FAULTS as err:
            results.append(ExportFailed(name, business_date, err))
        except Exception as err:  # a bug: still export the others, and keep its traceback for the log
            log.exception("export %s %s failed", name, business_date)
            results.append(ExportFailed(name, business_date, err))
    return results


def export_all(business_date: dt.date) -> list[ExportWritten]:
    """Export every recipient; then raise naming the ones that failed (QualityGateFailed when all were gated)."""
    results = export_each(business_date)
    written = [item for item in results if isinstance(item, ExportWritten)]
    failed = [item for item in results if isinstance(item, ExportFailed)]
    if failed:
        raise failure_of(written, failed)
    return written


def failure_of(written: list[ExportWritten], failed: list[ExportFailed]) -> ArrearsError:
    """One error naming what was exported and each recipient that was not (and why)."""
    done = ", ".join(item.recipient for item in written) or "none"
    message = f"exported: {done}; " + " | ".join(
        item.reason if item.blocked_by_gate else item.summary() for item in failed
    )
    return QualityGateFailed(message) if all(item.blocked_by_gate for item in failed) else ArrearsError(message)
