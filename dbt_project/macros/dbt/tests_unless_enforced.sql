{#- Generic tests for what PostgreSQL's own DDL already guarantees (docs/decisions/040): a contracted table's
    `constraints: [{type: not_null}]` is NOT NULL in its CREATE TABLE, and a unique index in a model's
    `indexes` config refuses a duplicate. Proving it again with a data test scans the table for nothing, so on
    PostgreSQL these tests are disabled (no node at all). dbt-spark creates parquet tables without either
    (it only alters Delta tables, and never builds indexes), so on Spark they run as dbt's own not_null and
    unique. -#}
{% test not_null_unless_enforced(model, column_name) %}
    {{ config(enabled=target.type != 'postgres') }}
    {{ dbt.default__test_not_null(model, column_name) }}
{% endtest %}

{% test unique_unless_indexed(model, column_name) %}
    {{ config(enabled=target.type != 'postgres') }}
    {{ dbt.default__test_unique(model, column_name) }}
{% endtest %}
