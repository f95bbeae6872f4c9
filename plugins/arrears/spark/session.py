"""The engine setting and the local Spark session of a home (dbt-spark `method: session` shares it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from arrears.errors import ArrearsError
from arrears.settings import paths

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ENGINES = ("postgres", "spark")


def engine() -> str:
    """ARREARS_ENGINE: `postgres` (default) or `spark`; anything else is a one-line error."""
    chosen = os.environ.get("ARREARS_ENGINE", "postgres").strip().lower() or "postgres"
    if chosen not in ENGINES:
        raise ArrearsError(f"ARREARS_ENGINE={chosen!r} is not one of {', '.join(ENGINES)}")
    return chosen


def spark_dir() -> Path:
    """Where a home keeps its Spark warehouse (parquet files) and Hive metastore (Derby)."""
    return paths().home / "spark"


def dbt_environment() -> dict[str, str]:
    """The variables dbt_project/profiles.yml reads for the `spark` target of this home."""
    folder = spark_dir()
    return {
        "ARREARS_DBT_TARGET": os.environ.get("ARREARS_DBT_TARGET", "spark"),
        "ARREARS_SPARK_WAREHOUSE": str(folder / "warehouse"),
        "ARREARS_SPARK_METASTORE_URL": f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true",
        "ARREARS_SPARK_MASTER": os.environ.get("ARREARS_SPARK_MASTER", "local[2]"),
        "ARREARS_SPARK_DRIVER_MEMORY": os.environ.get("ARREARS_SPARK_DRIVER_MEMORY", "2g"),
        "ARREARS_SPARK_SHUFFLE_PARTITIONS": os.environ.get("ARREARS_SPARK_SHUFFLE_PARTITIONS", "4"),
    }


def session_settings() -> dict[str, str]:
    """The Spark settings of the profile's `spark` target, for this home."""
    env = dbt_environment()
    return {
        "spark.master": env["ARREARS_SPARK_MASTER"],
        "spark.driver.memory": env["ARREARS_SPARK_DRIVER_MEMORY"],
        "spark.sql.warehouse.dir": env["ARREARS_SPARK_WAREHOUSE"],
        "spark.hadoop.javax.jdo.option.ConnectionURL": env["ARREARS_SPARK_METASTORE_URL"],
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": env["ARREARS_SPARK_SHUFFLE_PARTITIONS"],
        "spark.sql.sources.partitionOverwriteMode": "DYNAMIC",
        "spark.sql.legacy.timeParserPolicy": "CORRECTED",
        "spark.ui.enabled": "false",
        "spark.sql.timeType.enabled": "true",
        "spark.sql.hive.metastorePartitionPruning": "false",
        "spark.sql.ansi.enabled": "false",
    }


def spark_session() -> SparkSession:
    """The process's Spark session for this home (created on first use; dbt's `session` target reuses it).

    Derby writes derby.log into the current folder: it is pointed into the home's spark folder.
    """
    from pyspark.sql import SparkSession

    folder = spark_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SPARK_LOCAL_DIRS", str(folder / "tmp"))
    builder = SparkSession.builder.appName("arrears").enableHiveSupport()
    for name, value in session_settings().items():
        builder = builder.config(name, value)
    builder = builder.config("spark.driver.extraJavaOptions", f"-Dderby.system.home={folder}")
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def stop_spark_session() -> None:
    """Stop the process's Spark session, if one runs (its JVM holds ~1-3 GB)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
