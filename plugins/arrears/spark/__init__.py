"""The night on Apache Spark (ARREARS_ENGINE=spark; docs/decisions/029-the-night-on-spark.md).

`session` configures the one local Spark session (the same settings dbt-spark's `session` profile
uses), `schema` creates the Spark-side schemas and typed raw tables from the landing contract, and
`build` runs the dbt project against Spark for a business date.
"""
