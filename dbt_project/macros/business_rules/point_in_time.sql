{#- Point in time (business rules §1): what a model for business date D may see.

    Every staging model reads its source through this macro, so "as known at D" is defined once.
    - upsert entities: the version known at D = latest updated_at among rows delivered with
      _business_date <= D; ties go to the later delivery, then the later line of the file.
    - event entities: deduplicated by key, keeping the FIRST delivery (earliest _business_date,
      then _line): a redelivered event never changes what an earlier night saw.
    `filter` (optional) is applied BEFORE the deduplication, so it is pushed into the scan (a filter on
    the view could not pass `distinct on`). It must not change which version wins: for upsert
    entities filter on key columns only; for events any delivered column is safe, because a
    redelivered event with other content is quarantined by the loader (every kept delivery of a
    key is identical).
    Returns a select (use it inside a CTE); all source columns, lineage included, are kept. -#}
{% macro point_in_time(relation, key_columns, kind, filter=none) -%}
    {%- if kind == 'upsert' -%}
        {%- set version_order = 'updated_at desc, _business_date desc, _line desc' -%}
    {%- elif kind == 'event' -%}
        {%- set version_order = '_business_date asc, _line asc' -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("point_in_time: kind must be 'upsert' or 'event', got " ~ kind) }}
    {%- endif -%}
    {%- set where = '_business_date <= ' ~ business_date() ~ ((' and (' ~ filter ~ ')') if filter else '') %}
    {#- distinct on in PostgreSQL, qualify row_number() elsewhere (macros/portability/cross_database.sql) -#}
    {{ deduplicate(relation, key_columns, version_order, where=where) }}
{%- endmacro %}


{#- The business date D of this run as a SQL date.
    The runner sets it in the environment (DBT_ENV_CUSTOM_ENV_ARREARS_BUSINESS_DATE, read only while executing):
    a --vars that changes every night would make dbt re-parse the whole project every night (decision 003).
    A var given explicitly (`dbt build --vars`, a unit test's overrides) wins over the environment. -#}
{% macro business_date() -%}
    cast('{{ business_date_text() }}' as date)
{%- endmacro %}


{% macro business_date_text() -%}
    {%- set given = var("business_date") -%}
    {%- if execute and given == "2000-01-01" -%}
        {{- env_var("DBT_ENV_CUSTOM_ENV_ARREARS_BUSINESS_DATE", given) -}}
    {%- else -%}
        {{- given -}}
    {%- endif -%}
{%- endmacro %}


{#- The local calendar date of a timestamptz in the source time zone (var source_timezone). -#}
{% macro local_date(timestamp_column) -%}
    cast({{ local_timestamp(timestamp_column) }} as date)
{%- endmacro %}


{#- Whole calendar months from the month of start_date to the month of end_date (both dates). -#}
{% macro calendar_months_between(start_date, end_date) -%}
    cast((
        (extract(year from {{ end_date }}) * 12 + extract(month from {{ end_date }}))
        - (extract(year from {{ start_date }}) * 12 + extract(month from {{ start_date }}))
    ) as integer)
{%- endmacro %}
