"""A recipient's files read from the Spark warehouse of the home (ARREARS_ENGINE=spark, decision 042).

The same SELECTs as on PostgreSQL (export/query.py, numbers.py: Spark's spelling of the few parts that
differ is export/spark_sql.py), run by the process's Spark session; the rows leave Spark by Arrow into the
writers PostgreSQL's rows go to. The CSV lines are rendered inside Spark by PostgreSQL's COPY rules (a
NULL is empty, an empty text and any text holding a delimiter, a quote or a line break is quoted, quotes
doubled), so no Python code runs per cell; Python joins each Arrow batch of lines into the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arrears.errors import ArrearsError
from arrears.export.config import Recipient
from arrears.export.files import atomic_writer
from arrears.export.numbers import number_headers, numbers_file_name, numbers_query
from arrears.export.query import SPARK, control_totals_sql, export_query
from arrears.export.spark_sql import spark_statement
from arrears.export.writers import UTF8_BOM, WRITE_BLOCK, FileWritten, header_line, write_parquet_rows, write_xlsx_rows
from arrears.export.xlsx import xlsx_sheet

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

WORK_QUEUE = "marts.fct_work_queue"


class NotBuiltOnSpark(ArrearsError):
    """The home's Spark warehouse has no work queue to export (no night was built there)."""


def require_built_on_spark() -> None:
    """One line when the home's Spark warehouse was never built (checked before Spark starts when it has no
    metastore at all)."""
    from arrears.spark.session import spark_dir, spark_session

    folder = spark_dir()
    if not (folder / "metastore_db").exists() or not spark_session().catalog.tableExists(WORK_QUEUE):
        raise NotBuiltOnSpark(
            f"the Spark warehouse of this home ({folder}) has no {WORK_QUEUE}: no night was built on Spark;"
            " build one first (ARREARS_ENGINE=spark arrears build --date D)"
        )


@dataclass(frozen=True)
class SparkExport:
    """What the exporter needs back: the files as written and the control totals of their rows."""

    files: list[FileWritten]
    control_totals: list[tuple[str, int, Decimal]]


def write_files_on_spark(
    target: Recipient,
    business_date: dt.date,
    routed: str,
    params: dict[str, Any],
    headers: list[str],
    final: Path,
) -> SparkExport:
    """Write the recipient's rows file (and its numbers file) from Spark; return them with the control totals.

    Under the home's nightly lock: Spark's parquet tables have no snapshot, so a night being rebuilt is
    waited for instead of read half-written (on PostgreSQL, one repeatable-read snapshot does this).
    """
    from arrears.spark.session import spark_dir, spark_session
    from arrears.warehouse.locks import NIGHTLY_LOCK, file_exclusive

    spark = spark_session()

    def frame(sql: str) -> DataFrame:
        return spark.sql(spark_statement(sql, params))

    with file_exclusive(spark_dir(), NIGHTLY_LOCK):
        rows = frame(export_query(target, routed, SPARK).sql)
        if target.format == "csv":
            written = write_csv_from_spark(rows, headers, final)
        elif target.format == "xlsx":
            sheet = xlsx_sheet(target, business_date)
            written = write_xlsx_rows(_arrow_rows(rows), sheet.columns, final, sheet.title, sheet.created)
        else:
            written = write_parquet_rows(list(_arrow_rows(rows)), headers, final)
        files = [written]
        totals = [
            (str(team), int(count), amount)
            for team, count, amount in frame(control_totals_sql(routed, SPARK)).collect()
        ]
        if target.numbers_file:
            numbers = final.with_name(numbers_file_name(target, business_date))
            numbers_frame = frame(numbers_query(routed, SPARK))
            files.append(write_csv_from_spark(numbers_frame, number_headers(target.header_language), numbers))
    return SparkExport(files, totals)


def _arrow_rows(rows: DataFrame) -> Iterator[tuple[Any, ...]]:
    """The rows as tuples of Python values (decimals keep their scale, dates are dates), batch by batch."""
    for batch in rows.toArrow().to_batches():
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


def _csv_lines(rows: DataFrame) -> DataFrame:
    """One column `line`: each row as PostgreSQL's COPY (format csv) writes it, in the rows' order."""
    from pyspark.sql import functions as F

    cells = []
    for name in rows.columns:
        text = F.col(name).cast("string")
        quoted = F.concat(F.lit('"'), F.regexp_replace(text, '"', '""'), F.lit('"'))
        needs_quotes = (text == F.lit("")) | text.rlike('[,"\r\n]')
        cells.append(F.when(text.isNull(), F.lit("")).when(needs_quotes, quoted).otherwise(text))
    return rows.select(F.concat_ws(",", *cells).alias("line"))


def write_csv_from_spark(rows: DataFrame, headers: list[str], final: Path) -> FileWritten:
    """The CSV file (UTF-8 with BOM, PostgreSQL's header and quoting) of a Spark query's rows."""
    positional = rows.toDF(*(f"c{position}" for position in range(len(rows.columns))))
    lines = _csv_lines(positional).toArrow().column("line")
    with atomic_writer(final) as writer:
        writer.write(UTF8_BOM + header_line(headers))
        block = bytearray()
        for chunk in lines.chunks:
            values = chunk.to_pylist()
            if values:
                block += ("\n".join(values) + "\n").encode("utf-8")
            if len(block) >= WRITE_BLOCK:
                writer.write(block)
                block.clear()
        if block:
            writer.write(block)
    return FileWritten(path=final, rows=len(lines), sha256=writer.sha256)
