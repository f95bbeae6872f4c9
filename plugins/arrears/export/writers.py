"""Stream one recipient's rows into a CSV (UTF-8 with BOM), Parquet or xlsx file."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arrears.export.files import atomic_writer
from arrears.export.xlsx import FETCH_ROWS, XlsxColumn, xlsx_bytes

if TYPE_CHECKING:
    import psycopg

# Excel only detects UTF-8 (and so shows Chinese headers and names) when the file starts with a BOM.
UTF8_BOM = b"\xef\xbb\xbf"
WRITE_BLOCK = 1 << 20


@dataclass(frozen=True)
class FileWritten:
    """A data file as it landed: its path, row count and SHA-256."""

    path: Path
    rows: int
    sha256: str


def header_line(headers: list[str]) -> bytes:
    """The CSV header, quoted by the same rules PostgreSQL's COPY uses for the rows."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(headers)
    return buffer.getvalue().encode("utf-8")


def write_csv(
    conn: psycopg.Connection, sql: str, params: dict[str, Any], headers: list[str], final: Path
) -> FileWritten:
    """COPY the query's rows straight from PostgreSQL into the file: no row passes through Python objects.

    COPY sends one message per row; they are gathered into ~1 MiB blocks before being hashed and
    written, so the file and its SHA-256 see a hundred calls for a 100 MB file, not a million.
    """
    with atomic_writer(final) as writer, conn.cursor() as cursor:
        writer.write(UTF8_BOM + header_line(headers))
        block = bytearray()
        with cursor.copy(f"copy ({sql}) to stdout with (format csv, encoding 'UTF8')", params) as copy:
            for chunk in copy:
                block += chunk
                if len(block) >= WRITE_BLOCK:
                    writer.write(block)
                    block.clear()
        if block:
            writer.write(block)
        rows = cursor.rowcount
    return FileWritten(path=final, rows=rows, sha256=writer.sha256)


def write_parquet(
    conn: psycopg.Connection, sql: str, params: dict[str, Any], headers: list[str], final: Path
) -> FileWritten:
    """Write the rows as one Parquet file (columns named by the headers), for recipients that load it."""
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return write_parquet_rows(rows, headers, final)


def write_parquet_rows(rows: list[tuple[Any, ...]], headers: list[str], final: Path) -> FileWritten:
    """The Parquet file of rows given as tuples (types inferred from the values, whichever engine read them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(zip(*rows, strict=True)) if rows else [() for _ in headers]
    table = pa.table({header: pa.array(list(values)) for header, values in zip(headers, columns, strict=True)})
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    with atomic_writer(final) as writer:
        writer.write(buffer.getvalue().to_pybytes())
    return FileWritten(path=final, rows=len(rows), sha256=writer.sha256)


def write_xlsx(
    conn: psycopg.Connection,
    sql: str,
    params: dict[str, Any],
    columns: list[XlsxColumn],
    final: Path,
    title: str,
    created: dt.datetime,
) -> FileWritten:
    """Write the rows as one worksheet, read through a server-side cursor (a few thousand rows at a time)."""
    with conn.cursor(name="xlsx_rows") as cursor:
        cursor.itersize = FETCH_ROWS
        cursor.execute(sql, params)
        return write_xlsx_rows(cursor, columns, final, title, created)


def write_xlsx_rows(
    rows: Iterable[tuple[Any, ...]], columns: list[XlsxColumn], final: Path, title: str, created: dt.datetime
) -> FileWritten:
    """The workbook of rows given as tuples, whichever engine read them."""
    data, count = xlsx_bytes(rows, columns, title, created)
    with atomic_writer(final) as writer:
        writer.write(data)
    return FileWritten(path=final, rows=count, sha256=writer.sha256)
