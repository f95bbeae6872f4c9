"""Landing a delivery into Spark: the PostgreSQL loader's contract, checks and quarantine reasons, on Spark.

`arrears ingest` under ARREARS_ENGINE=spark (docs/decisions/034-landing-into-spark.md). The manifest
is checked by the same module as PostgreSQL's (arrears.ingest.manifest: checksums, headers, row
counts), so a bad delivery is rejected with the same one line and nothing is written. Each file is then
read by Spark's CSV reader with an explicit all-string schema in the file's header order (bytes as
ISO-8859-1, one character per byte, so the UTF-8 check sees the delivered bytes), validated by
Column expressions (arrears.spark.landing_rules) and split: good rows, typed, overwrite the date's
partition of the raw parquet table; quarantined rows, with their reason and detail, overwrite the
date's partition of `audit.quarantine`, and the delivery's counts its partition of `audit.batches`.
Rerunning a date replaces them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from arrears.contract import Entity, load_contract
from arrears.errors import DeliveryRejected
from arrears.ingest.batch import EntityCount, IngestResult, quarantine_limit
from arrears.ingest.manifest import Manifest, ManifestFile, file_header, validate
from arrears.ingest.quarantine import QUARANTINE_LISTING, QUARANTINE_TOTAL, QuarantineRow, as_listing
from arrears.settings import paths, source_timezone
from arrears.spark.landing_rules import column_failures, quoted, typed
from arrears.spark.schema import init_spark_schema

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame, SparkSession

CORRUPT = "_corrupt_record"
QUARANTINE_TABLE = "audit.quarantine"
BATCHES_TABLE = "audit.batches"


@dataclass(frozen=True)
class CheckedFile:
    """One entity's file read and judged (materialised), before anything is written."""

    entity: Entity
    good: DataFrame
    quarantined: DataFrame
    count: EntityCount


def _read(spark: SparkSession, listed: ManifestFile, header: list[str]) -> DataFrame:
    """The file's records as text columns named by its header, plus the CSV reader's corrupt-record text.

    multiLine: a quoted field may hold a line break (and the file is one partition, read in order).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    if listed.format == ".parquet":
        frame = spark.read.parquet(str(listed.path))
        return frame.select(
            *(_parquet_text(frame, name).alias(name) for name in header), F.lit(None).cast("string").alias(CORRUPT)
        )
    schema = StructType([StructField(name, StringType()) for name in [*header, CORRUPT]])
    return (
        spark.read.option("header", True)
        .option("multiLine", True)
        # Not detected: the reader would then turn a CR LF inside a quoted field into LF (PostgreSQL keeps it).
        .option("lineSep", "\n")
        .option("encoding", "ISO-8859-1")
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .schema(schema)
        .csv(str(listed.path))
    )


def _parquet_text(frame: DataFrame, name: str) -> SparkColumn:
    """A Parquet column as the text the PostgreSQL loader reads from it (instants with their offset)."""
    from pyspark.sql import functions as F

    kind = dict(frame.dtypes)[name]
    if kind == "timestamp":
        return F.date_format(F.col(name), "yyyy-MM-dd HH:mm:ss.SSSSSSXXX")
    # ISO-8859-1 is how the CSV path reads bytes; Parquet strings are already UTF-8: encode them back.
    return F.decode(F.encode(F.col(name).cast("string"), "UTF-8"), "ISO-8859-1")


def _utf8(latin1: SparkColumn) -> SparkColumn:
    """The delivered bytes (read as ISO-8859-1) as UTF-8 text."""
    from pyspark.sql import functions as F

    return F.encode(latin1, "ISO-8859-1").cast("string")


def _bad_bytes(latin1: SparkColumn) -> SparkColumn:
    """Bytes that are not UTF-8, or a NUL byte (PostgreSQL takes neither)."""
    from pyspark.sql import functions as F

    bad = F.is_valid_utf8(_utf8(latin1)).eqNullSafe(False) | (F.instr(latin1, "\x00") > 0)
    return F.coalesce(bad, F.lit(False))


def _field_count(raw: SparkColumn) -> SparkColumn:
    """Fields of a CSV record's text: commas outside quoted fields, plus one."""
    from pyspark.sql import functions as F

    unquoted = F.regexp_replace(raw, r'"(?:[^"]|"")*"', "")
    return F.length(unquoted) - F.length(F.replace(unquoted, F.lit(","), F.lit(""))) + 1


def _csv_field(value: SparkColumn) -> SparkColumn:
    """audit.csv_field: one field as the source would write it (RFC 4180 quoting)."""
    from pyspark.sql import functions as F

    needs_quotes = value.rlike('[",\r\n]')
    return (
        F.when(value.isNull(), F.lit(""))
        .when(needs_quotes, F.concat(F.lit('"'), F.replace(value, F.lit('"'), F.lit('""')), F.lit('"')))
        .otherwise(value)
    )


def _judged(frame: DataFrame, entity: Entity, header: list[str], csv: bool) -> DataFrame:
    """Every record with its line, its contract columns as text and typed, and its failure (null: good)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    # The header is line 1; records are numbered in file order (monotonic ids of the read, in order).
    frame = frame.withColumn("_id", F.monotonically_increasing_id())
    frame = frame.withColumn("_line", (F.row_number().over(Window.orderBy("_id")) + 1).cast("int"))
    latin1 = {name: F.col(name) for name in header}
    if csv:  # a CR LF line end leaves its CR on the record's last field (RFC 4180: a CR in data is quoted)
        latin1[header[-1]] = F.regexp_replace(latin1[header[-1]], "\r\\z", "")
    texts = {
        name: F.nullif(_utf8(latin1[name]), F.lit("")) if name in latin1 else F.lit(None)
        for name in entity.column_names
    }
    frame = frame.select(
        "_line",
        F.regexp_replace(F.col(CORRUPT), "\r\\z", "").alias(CORRUPT),
        *(texts[name].cast("string").alias(name) for name in entity.column_names),
        *(_bad_bytes(latin1[name]).alias(f"_bad_{position}") for position, name in enumerate(header)),
        *(latin1[name].alias(f"_latin1_{position}") for position, name in enumerate(header)),
    )
    values = {name: F.col(name) for name in entity.column_names}
    zone = source_timezone()
    typed_values = {column.name: typed(column, values[column.name], zone) for column in entity.columns}
    frame = frame.select("*", *(typed_values[name].alias(f"_typed_{name}") for name in entity.column_names))
    typed_columns = {name: F.col(f"_typed_{name}") for name in entity.column_names}

    # Structure first, as the loader's Python fallback judges a record: bad bytes (first column in the
    # header's order), then the number of fields.
    branches: list[tuple[SparkColumn, str, SparkColumn]] = [
        (F.col(f"_bad_{position}"), "invalid_encoding", F.lit(f"{name}: bytes that are not UTF-8 (or NUL)"))
        for position, name in enumerate(header)
    ]
    malformed = F.col(CORRUPT).isNotNull()
    fields = F.concat(_field_count(F.col(CORRUPT)).cast("string"), F.lit(f" fields, the header has {len(header)}"))
    branches.append((malformed, "malformed_row", fields))
    branches += column_failures(entity, values, typed_columns)
    # Every record whose key appears more than once among the structurally sound records with a key.
    sound = ~F.greatest(*(F.col(f"_bad_{position}") for position in range(len(header))), malformed)
    keyed = sound
    for key in entity.key:
        keyed = keyed & values[key].isNotNull()
    copies = F.sum(F.when(keyed, 1).otherwise(0)).over(Window.partitionBy(*(values[key] for key in entity.key)))
    keys = F.concat_ws(", ", *(F.concat(F.lit(f"{key} = "), quoted(values[key])) for key in entity.key))
    branches.append(
        (keyed & (copies > 1), "duplicate_key_in_file", F.concat(keys, F.lit(" appears more than once in the file")))
    )

    failure = F.when(branches[0][0], F.struct(F.lit(branches[0][1]).alias("reason"), branches[0][2].alias("detail")))
    for condition, reason, detail in branches[1:]:
        failure = failure.when(condition, F.struct(F.lit(reason).alias("reason"), detail.alias("detail")))
    delivered = [F.col(f"_latin1_{position}") for position in range(len(header))]
    raw_row = F.when(
        malformed | ~sound,
        # The record as read (malformed) or its fields re-quoted, bytes that are not UTF-8 shown as U+FFFD.
        F.make_valid_utf8(_utf8(F.coalesce(F.col(CORRUPT), F.concat_ws(",", *map(_csv_field, delivered))))),
    ).otherwise(F.concat_ws(",", *(_csv_field(values[name]) for name in header)))
    return frame.select("*", failure.alias("_failure"), raw_row.alias("_raw_row"))


def _typed_rows(
    frame: DataFrame, entity: Entity, file: str, business_date: dt.date, loaded_at: dt.datetime
) -> DataFrame:
    """Good rows as the raw table's columns (arrears.spark.schema), lineage included."""
    from pyspark.sql import functions as F

    return frame.select(
        *(F.col(f"_typed_{name}").alias(name) for name in entity.column_names),
        F.lit(business_date).alias("_business_date"),
        F.lit(file).alias("_file"),
        F.col("_line"),
        F.lit(loaded_at).cast("timestamp").alias("_loaded_at"),
        F.col("_raw_row"),
    )


def _quarantine_rows(
    frame: DataFrame, entity: Entity, file: str, business_date: dt.date, loaded_at: dt.datetime
) -> DataFrame:
    from pyspark.sql import functions as F

    return frame.select(
        F.lit(entity.name).alias("entity"),
        F.lit(file).alias("file"),
        F.col("_line").alias("line_no"),
        F.col("_raw_row").alias("raw_row"),
        F.col("_failure.reason").alias("reason"),
        F.col("_failure.detail").alias("detail"),
        F.lit(loaded_at).cast("timestamp").alias("loaded_at"),
        F.lit(business_date).alias("business_date"),
    )


def _conflicts(
    spark: SparkSession, entity: Entity, good: DataFrame, business_date: dt.date
) -> tuple[DataFrame | None, int]:
    """Good events whose key arrived on an earlier date with other typed content: (`_line` and failure, how many).

    Collected (they are few) so that nothing written later reads the table it overwrites.
    """
    from pyspark.sql import functions as F

    earlier = spark.table(entity.raw_table).where(F.col("_business_date") < F.lit(business_date))
    earlier = earlier.select(
        *(F.col(name).alias(f"_earlier_{name}") for name in [*entity.column_names, "_business_date"])
    )
    same_key = [good[key] == earlier[f"_earlier_{key}"] for key in entity.key]
    same_content = [good[name].eqNullSafe(earlier[f"_earlier_{name}"]) for name in entity.column_names]
    content_equal = same_content[0]
    for condition in same_content[1:]:
        content_equal = content_equal & condition
    keys = F.concat_ws(", ", *(F.concat(F.lit(f"{key} = "), quoted(F.col(key))) for key in entity.key))
    found = (
        good.join(earlier, same_key)
        .where(~content_equal)
        .groupBy("_line", *entity.key)
        .agg(F.min("_earlier__business_date").alias("earlier_date"))
        .select(
            "_line",
            F.struct(
                F.lit("event_conflict").alias("reason"),
                F.concat(
                    keys,
                    F.lit(" was delivered on "),
                    F.col("earlier_date").cast("string"),
                    F.lit(" with different content"),
                ).alias("detail"),
            ).alias("_failure"),
        )
        .collect()
    )
    if not found:
        return None, 0
    schema = "_line int, _failure struct<reason: string, detail: string>"
    return spark.createDataFrame([(row["_line"], row["_failure"]) for row in found], schema), len(found)


def _check_file(spark: SparkSession, manifest: Manifest, listed: ManifestFile, loaded_at: dt.datetime) -> CheckedFile:
    from pyspark.sql import functions as F

    entity = load_contract().entity(listed.entity)
    header = file_header(listed)
    # Materialised by the first count: the line numbers are fixed, and the file is read once whatever follows.
    csv = listed.format != ".parquet"
    judged = _judged(_read(spark, listed, header), entity, header, csv).localCheckpoint(eager=False)
    judged_good: dict[bool, int] = dict(judged.groupBy(F.col("_failure").isNull()).count().collect())
    loaded, quarantined_rows = judged_good.get(True, 0), judged_good.get(False, 0)
    if loaded + quarantined_rows != listed.rows:  # e.g. a blank line, which Spark's reader skips: never drop one
        raise DeliveryRejected(
            f"{listed.file}: Spark read {loaded + quarantined_rows} records, the manifest says {listed.rows}"
        )
    business_date, file = manifest.business_date, listed.file
    good = _typed_rows(judged.where(F.col("_failure").isNull()), entity, file, business_date, loaded_at)
    quarantined = judged.where(F.col("_failure").isNotNull()).select("_line", "_raw_row", "_failure")
    conflicts, moved_rows = _conflicts(spark, entity, good, business_date) if entity.is_event else (None, 0)
    if conflicts is not None:
        moved = good.join(conflicts, "_line").select("_line", "_raw_row", "_failure")
        quarantined = quarantined.unionByName(moved)
        good = good.join(conflicts.select("_line"), "_line", "left_anti")
        loaded, quarantined_rows = loaded - moved_rows, quarantined_rows + moved_rows
    return CheckedFile(
        entity=entity,
        good=good.drop("_raw_row"),
        quarantined=_quarantine_rows(quarantined, entity, file, business_date, loaded_at),
        count=EntityCount(entity.name, file, loaded, quarantined_rows),
    )


def _overwrite_partition(
    spark: SparkSession, table: str, column: str, business_date: dt.date, rows: DataFrame | None
) -> None:
    """Replace one date's partition of a table by `rows` (dropped first: no rows leaves none)."""
    spark.sql(f"alter table {table} drop if exists partition ({column} = '{business_date.isoformat()}')")
    if rows is not None:
        # insertInto is by position: the table's order, partition column last.
        rows.select(*spark.table(table).columns).write.insertInto(table, overwrite=True)


def land_delivery(business_date: dt.date, landing_root: Path | None = None) -> IngestResult:
    """Validate and land a whole delivery into Spark's raw tables and quarantine; rerunning replaces the date.

    Raises DeliveryRejected (nothing written) or, after writing, QuarantineThresholdExceeded, as
    `arrears.ingest.ingest_delivery` does on PostgreSQL.
    """
    from arrears.spark.session import spark_dir
    from arrears.warehouse.locks import NIGHTLY_LOCK, file_exclusive

    manifest = validate(business_date, Path(landing_root) if landing_root is not None else paths().landing)
    with file_exclusive(spark_dir(), NIGHTLY_LOCK):  # one run at a time per home, as the nightly lock on PostgreSQL
        return _land(manifest, business_date)


def _land(manifest: Manifest, business_date: dt.date) -> IngestResult:
    from arrears.spark.session import spark_session

    spark = spark_session()
    init_spark_schema(spark)
    loaded_at = dt.datetime.now(dt.UTC)
    checked = {name: _check_file(spark, manifest, manifest.files[name], loaded_at) for name in manifest.entities}
    for entity in load_contract().entities.values():
        landed = checked[entity.name].good if entity.name in checked else None
        _overwrite_partition(spark, entity.raw_table, "_business_date", business_date, landed)
    quarantined = [item.quarantined for item in checked.values()]
    union = quarantined[0] if quarantined else None
    for frame in quarantined[1:]:
        union = union.unionByName(frame)  # type: ignore[union-attr]
    _overwrite_partition(spark, QUARANTINE_TABLE, "business_date", business_date, union)
    counts = tuple(
        checked[name].count if name in checked else EntityCount(name, None, 0, 0) for name in load_contract().entities
    )
    result = IngestResult(business_date, counts, quarantine_limit())
    _overwrite_partition(spark, BATCHES_TABLE, "business_date", business_date, _batch_row(spark, manifest, result))
    result.raise_if_exceeded()
    return result


def _batch_row(spark: SparkSession, manifest: Manifest, result: IngestResult) -> DataFrame:
    """The delivery's audit.batches row, as arrears.ingest.batch records it on PostgreSQL."""
    from pyspark.sql import functions as F

    status = "quarantine_limit_exceeded" if result.exceeded else "loaded"
    row = (status, json.dumps(manifest.document), result.loaded, result.quarantined, dt.datetime.now(dt.UTC))
    schema = "status string, manifest string, rows_loaded bigint, rows_quarantined bigint, loaded_at timestamp"
    return spark.createDataFrame([row], schema).withColumn("business_date", F.lit(result.business_date))


def quarantined_rows_on_spark(business_date: dt.date, limit: int) -> tuple[list[QuarantineRow], int]:
    """`arrears quarantine` on Spark: the date's rows of Spark's audit.quarantine, as on PostgreSQL."""
    from arrears.spark.session import spark_session

    spark = spark_session()
    day = f"date '{business_date.isoformat()}'"
    rows = [tuple(row) for row in spark.sql(QUARANTINE_LISTING.format(day=day, limit=int(limit))).collect()]
    total = spark.sql(QUARANTINE_TOTAL.format(day=day)).collect()[0][0]
    return as_listing(rows), int(total or 0)
