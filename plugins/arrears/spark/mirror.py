"""Copy the typed raw tables of a PostgreSQL warehouse into Spark's raw tables, one business date at a time.

For the comparison of the two engines on the same validated rows (and to move an existing warehouse).
PostgreSQL writes each partition as CSV (COPY), pyarrow parses it with the contract's types, and Spark
overwrites that date's partition from the Arrow table: no Python loop over rows.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING

from arrears.contract import Entity, load_contract
from arrears.spark.schema import spark_columns

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa
    from pyspark.sql import SparkSession

_ARROW_TYPES = {
    "string": "string",
    "date": "date32",
    "timestamp": "timestamp_utc",
    "int": "int32",
    "boolean": "bool_",
}


def _arrow_type(spark_type: str) -> pa.DataType:
    import pyarrow as pa

    if spark_type.startswith("decimal"):
        precision, scale = (int(part) for part in spark_type[len("decimal(") : -1].split(","))
        return pa.decimal128(precision, scale)
    name = _ARROW_TYPES[spark_type]
    if name == "timestamp_utc":
        return pa.timestamp("us", tz="UTC")
    return getattr(pa, name)()


def _partition_as_arrow(conn: psycopg.Connection, entity: Entity, business_date: dt.date) -> pa.Table:
    """One delivered date of an entity's raw table, typed as the Spark table is."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = spark_columns(entity)
    names = ", ".join(name for name, _ in columns)
    buffer = io.BytesIO()
    # Timestamps as UTC ISO text: pyarrow reads them as instants whatever the server's time zone.
    with conn.cursor() as cursor:
        cursor.execute("set local time zone 'UTC'")
        query = f"select {names} from {entity.raw_table} where _business_date = '{business_date.isoformat()}'"
        with cursor.copy(f"copy ({query}) to stdout with (format csv, header true)") as copy:
            for chunk in copy:
                buffer.write(chunk)
    schema = pa.schema([(name, _arrow_type(spark_type)) for name, spark_type in columns])
    buffer.seek(0)
    return pacsv.read_csv(
        buffer,
        convert_options=pacsv.ConvertOptions(
            column_types=schema,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )


def mirror_business_date(conn: psycopg.Connection, spark: SparkSession, business_date: dt.date) -> dict[str, int]:
    """Overwrite every raw table's partition of business_date in Spark with PostgreSQL's rows; rows per entity."""
    counts: dict[str, int] = {}
    for entity in load_contract().entities.values():
        table = _partition_as_arrow(conn, entity, business_date)
        counts[entity.name] = table.num_rows
        spark.sql(f"alter table {entity.raw_table} drop if exists partition (_business_date = '{business_date}')")
        if table.num_rows == 0:
            continue
        # insertInto is by position and Spark keeps the partition column last.
        frame = spark.createDataFrame(table).select(*spark.table(entity.raw_table).columns)
        frame.write.insertInto(entity.raw_table, overwrite=True)
    return counts
