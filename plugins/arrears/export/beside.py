"""The numbers file written while the rows file is: a second connection on the same snapshot.

The rows and numbers queries are independent, so on two cores an export takes the longer of the two
instead of their sum (benchmarks/results.md). The second connection imports the first one's snapshot
(`pg_export_snapshot`), so both files and the control totals describe one state of the warehouse. The
numbers file waits under a hidden staged name until the caller has written everything else; an
export that fails leaves the previous files and manifest as they were, and no staged file behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from arrears.export.files import PARTIAL_SUFFIX, partial_path
from arrears.export.query import EXPORT_SETTINGS
from arrears.export.writers import FileWritten, write_csv
from arrears.warehouse import connect


def begin_export(conn: psycopg.Connection, snapshot: str | None = None) -> None:
    """A read-only repeatable-read transaction (on another one's `snapshot` when given), export settings set."""
    conn.execute("set transaction isolation level repeatable read, read only")
    if snapshot is not None:
        conn.execute(sql.SQL("set transaction snapshot {}").format(sql.Literal(snapshot)))
    for setting in EXPORT_SETTINGS:
        conn.execute(setting)


def _staged(final: Path) -> Path:
    """The hidden name a file written beside the rows waits under (a partial: removed by the next export)."""
    return partial_path(final).with_suffix(".staged" + PARTIAL_SUFFIX)


def _write_staged(snapshot: str, query: str, params: dict[str, Any], headers: list[str], final: Path) -> FileWritten:
    with connect() as conn:
        begin_export(conn, snapshot)
        written = write_csv(conn, query, params, headers, _staged(final))
    return FileWritten(path=final, rows=written.rows, sha256=written.sha256)


@contextlib.contextmanager
def csv_beside(
    conn: psycopg.Connection, query: str, params: dict[str, Any], headers: list[str], final: Path
) -> Iterator[Future[FileWritten]]:
    """Start writing `final` from `conn`'s snapshot on a second connection; yields its future (see `publish`).

    On leaving, waits for the writer and removes the staged file if it was not published.
    """
    snapshot = conn.execute("select pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
    with ThreadPoolExecutor(max_workers=1) as pool:
        job = pool.submit(_write_staged, snapshot, query, params, headers, final)
        try:
            yield job
        finally:
            wait([job])
            _staged(final).unlink(missing_ok=True)


def publish(job: Future[FileWritten]) -> FileWritten:
    """The finished file moved to its name (the manifest written next fsyncs the folder)."""
    written = job.result()
    os.replace(_staged(written.path), written.path)
    return written
