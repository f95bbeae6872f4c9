"""The Spark side of `arrears db init`: schemas, the typed raw tables (from the landing contract) and audit.

The raw tables are parquet, partitioned by `_business_date` (one partition per delivered date, as the
PostgreSQL partitions are), with Spark types for the contract's types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arrears.contract import Entity, load_contract

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Contract type -> Spark SQL type (arrears.contract.SQL_TYPES is the PostgreSQL side).
SPARK_TYPES = {
    "text": "string",
    "date": "date",
    "timestamp": "timestamp",
    "amount": "decimal(18,2)",
    "decimal": "decimal(12,6)",
    "integer": "int",
    "boolean": "boolean",
}

LINEAGE_SPARK_TYPES = {
    "_business_date": "date",
    "_file": "string",
    "_line": "int",
    "_loaded_at": "timestamp",
}

SPARK_SCHEMAS = ("raw", "pii", "audit")

AUDIT_DDL = [
    # Partitioned by model: record_night_built overwrites one model's partition (no DELETE on parquet).
    """create table if not exists audit.carried_forward_nights (business_date date, model string)
       using parquet partitioned by (model)""",
    # audit.batches and audit.quarantine: the columns of arrears.warehouse.schema's tables (`jsonb` as text), the
    # date last: arrears.spark.landing overwrites a delivery's partition of each.
    """create table if not exists audit.batches (status string, manifest string, rows_loaded bigint,
       rows_quarantined bigint, loaded_at timestamp, business_date date)
       using parquet partitioned by (business_date)""",
    """create table if not exists audit.quarantine (entity string, file string, line_no int, raw_row string,
       reason string, detail string, loaded_at timestamp, business_date date)
       using parquet partitioned by (business_date)""",
]

# The collection scorecards (arrears.warehouse.score_tables: PostgreSQL's `numeric` as decimal(38,18),
# `jsonb` as text): the score models read them; empty until a scorecard is trained and activated.
SCORECARD_DDL = [
    """create table if not exists audit.scorecard_versions (version string, trained_through date,
       trained_at timestamp, rows_train bigint, rows_holdout bigint, holdout_ks decimal(38,18),
       holdout_auc decimal(38,18), holdout_gini decimal(38,18), intercept decimal(38,18), base_points int,
       report string) using parquet""",
    """create table if not exists audit.scorecard_bins (version string, feature string, bin_no int,
       lower_bound double, upper_bound double, category string, is_missing boolean, woe double,
       logit decimal(38,18), points int) using parquet""",
    """create table if not exists audit.scorecard_reference (version string, band_no int, lower_points int,
       upper_points int, expected_share double) using parquet""",
    """create table if not exists audit.scorecard_activations (version string, effective_from date,
       activated_by string, activated_at timestamp) using parquet""",
]


def spark_columns(entity: Entity) -> list[tuple[str, str]]:
    """(name, Spark type) of an entity's raw table: the contract's columns, then the lineage columns."""
    columns = [(column.name, SPARK_TYPES[column.type]) for column in entity.columns]
    return columns + list(LINEAGE_SPARK_TYPES.items())


def spark_schema_ddl(entity: Entity) -> str:
    """The columns as a Spark DDL schema string (`a string, b date, ...`), for readers and createDataFrame."""
    return ", ".join(f"{name} {spark_type}" for name, spark_type in spark_columns(entity))


def raw_table_ddl(entity: Entity) -> str:
    return (
        f"create table if not exists {entity.raw_table} ({spark_schema_ddl(entity)}) "
        "using parquet partitioned by (_business_date)"
    )


def init_spark_schema(spark: SparkSession) -> None:
    """Create the schemas and tables the night reads on Spark; safe to run any number of times."""
    for schema in SPARK_SCHEMAS:
        spark.sql(f"create database if not exists {schema}")
    for entity in load_contract().entities.values():
        spark.sql(raw_table_ddl(entity))
    for statement in AUDIT_DDL + SCORECARD_DDL:
        spark.sql(statement)
