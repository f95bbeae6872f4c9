{#- Cross-database SQL of arrears (docs/decisions/009-cross-database-sql.md).

    Rule: models and singular tests use portable SQL, dbt's own cross-database macros
    (dbt.date_trunc, dbt.dateadd, dbt.datediff, dbt.last_day, dbt.bool_or, dbt.listagg,
    dbt.type_string, dbt.array_construct, ...) or one of the macros below. PostgreSQL-only syntax
    lives only in the `postgres__` implementations here. Porting to another adapter = add
    `<adapter>__<name>` for the macros whose `default__` raises, then change the profile.
    tests/test_portable_sql.py scans models and tests for PostgreSQL-only syntax.

    Each macro dispatches through adapter.dispatch(name, 'arrears'). A `default__` is either
    generic SQL that most warehouses accept (said so) or raises a compiler error naming the
    implementation to add: untested SQL for an engine nobody ran is worse than a clear error. -#}


{#- The first row per key of `relation` (a relation or a CTE name) by `order_by`, optionally
    filtered by `where` first. Every column of the relation is kept. -#}
{% macro deduplicate(relation, key_columns, order_by, where=none) -%}
    {{ return(adapter.dispatch('deduplicate', 'arrears')(relation, key_columns, order_by, where)) }}
{%- endmacro %}

{% macro postgres__deduplicate(relation, key_columns, order_by, where) -%}
    select distinct on ({{ key_columns | join(', ') }}) *
    from {{ relation }} as delivered
    {%- if where %}
    where {{ where }}
    {%- endif %}
    order by {{ key_columns | join(', ') }}, {{ order_by }}
{%- endmacro %}

{#- Snowflake, BigQuery, Databricks, Redshift and DuckDB all have `qualify`. -#}
{% macro default__deduplicate(relation, key_columns, order_by, where) -%}
    select *
    from {{ relation }} as delivered
    {%- if where %}
    where {{ where }}
    {%- endif %}
    qualify row_number() over (partition by {{ key_columns | join(', ') }} order by {{ order_by }}) = 1
{%- endmacro %}


{#- A timestamp with time zone as wall-clock time in the source time zone (var source_timezone). -#}
{% macro local_timestamp(timestamp_column) -%}
    {{ return(adapter.dispatch('local_timestamp', 'arrears')(timestamp_column)) }}
{%- endmacro %}

{% macro postgres__local_timestamp(timestamp_column) -%}
    {#- An expression goes in parentheses: `at time zone` binds tighter than + and -. -#}
    {%- set is_column = timestamp_column.replace('_', '').replace('.', '').isalnum() -%}
    {%- set operand = timestamp_column if is_column else '(' ~ timestamp_column ~ ')' -%}
    ({{ operand }} at time zone '{{ var("source_timezone") }}')
{%- endmacro %}

{% macro default__local_timestamp(timestamp_column) -%}
    {{ arrears_not_ported('local_timestamp') }}
{%- endmacro %}


{#- The type of an instant (timestamp with time zone), as the raw tables and contracts use it. -#}
{% macro type_timestamp_tz() -%}
    {{ return(adapter.dispatch('type_timestamp_tz', 'arrears')()) }}
{%- endmacro %}

{% macro postgres__type_timestamp_tz() -%}
    timestamptz
{%- endmacro %}

{% macro default__type_timestamp_tz() -%}
    {{ arrears_not_ported('type_timestamp_tz') }}
{%- endmacro %}


{#- bool_and (dbt has bool_or only): true when every non-null value is true. -#}
{% macro bool_and(expression) -%}
    {{ return(adapter.dispatch('bool_and', 'arrears')(expression)) }}
{%- endmacro %}

{% macro postgres__bool_and(expression) -%}
    bool_and({{ expression }})
{%- endmacro %}

{#- Generic: nulls are ignored, as bool_and does. -#}
{% macro default__bool_and(expression) -%}
    (min(case when ({{ expression }}) then 1 when not ({{ expression }}) then 0 end) = 1)
{%- endmacro %}


{#- Arrays of text (channel lists). dbt has array_construct/append/concat only. -#}

{#- A delimited string as an array; null or '' gives an empty array. -#}
{% macro split_to_array(text_expression, delimiter) -%}
    {{ return(adapter.dispatch('split_to_array', 'arrears')(text_expression, delimiter)) }}
{%- endmacro %}

{% macro postgres__split_to_array(text_expression, delimiter) -%}
    coalesce(
        string_to_array(nullif({{ text_expression }}, ''), {{ delimiter }}),
        {{ dbt.array_construct([], dbt.type_string()) }}
    )
{%- endmacro %}

{% macro default__split_to_array(text_expression, delimiter) -%}
    {{ arrears_not_ported('split_to_array') }}
{%- endmacro %}


{#- The array's elements joined by a delimiter ('' for an empty array). -#}
{% macro array_to_text(array_expression, delimiter) -%}
    {{ return(adapter.dispatch('array_to_text', 'arrears')(array_expression, delimiter)) }}
{%- endmacro %}

{% macro postgres__array_to_text(array_expression, delimiter) -%}
    array_to_string({{ array_expression }}, {{ delimiter }})
{%- endmacro %}

{% macro default__array_to_text(array_expression, delimiter) -%}
    {{ arrears_not_ported('array_to_text') }}
{%- endmacro %}


{#- The elements of the array for which `condition` holds, in their order; the condition names the
    element `element` (unqualified). -#}
{% macro array_filter(array_expression, element, condition) -%}
    {{ return(adapter.dispatch('array_filter', 'arrears')(array_expression, element, condition)) }}
{%- endmacro %}

{% macro postgres__array_filter(array_expression, element, condition) -%}
    array(
        select {{ element }}
        from unnest({{ array_expression }}) with ordinality as listed ({{ element }}, element_ordinal)
        where {{ condition }}
        order by element_ordinal
    )
{%- endmacro %}

{% macro default__array_filter(array_expression, element, condition) -%}
    {{ arrears_not_ported('array_filter') }}
{%- endmacro %}


{#- Whether the array contains the value. -#}
{% macro array_contains(array_expression, value) -%}
    {{ return(adapter.dispatch('array_contains', 'arrears')(array_expression, value)) }}
{%- endmacro %}

{% macro postgres__array_contains(array_expression, value) -%}
    ({{ value }} = any({{ array_expression }}))
{%- endmacro %}

{% macro default__array_contains(array_expression, value) -%}
    {{ arrears_not_ported('array_contains') }}
{%- endmacro %}


{#- Whether the two arrays have an element in common. -#}
{% macro arrays_overlap(first_array, second_array) -%}
    {{ return(adapter.dispatch('arrays_overlap', 'arrears')(first_array, second_array)) }}
{%- endmacro %}

{% macro postgres__arrays_overlap(first_array, second_array) -%}
    ({{ first_array }} && {{ second_array }})
{%- endmacro %}

{% macro default__arrays_overlap(first_array, second_array) -%}
    {{ arrears_not_ported('arrays_overlap') }}
{%- endmacro %}


{#- The number of elements of the array. -#}
{% macro array_size(array_expression) -%}
    {{ return(adapter.dispatch('array_size', 'arrears')(array_expression)) }}
{%- endmacro %}

{% macro postgres__array_size(array_expression) -%}
    cardinality({{ array_expression }})
{%- endmacro %}

{% macro default__array_size(array_expression) -%}
    {{ arrears_not_ported('array_size') }}
{%- endmacro %}


{#- A window frame over a date ordering: the rows dated first_day .. last_day days after the current
    row's date (a RANGE frame, so gaps in the dates are not counted as rows). -#}
{% macro days_following_frame(first_day, last_day) -%}
    {{ return(adapter.dispatch('days_following_frame', 'arrears')(first_day, last_day)) }}
{%- endmacro %}

{% macro postgres__days_following_frame(first_day, last_day) -%}
    range between interval '{{ first_day }} days' following and interval '{{ last_day }} days' following
{%- endmacro %}

{% macro default__days_following_frame(first_day, last_day) -%}
    {{ arrears_not_ported('days_following_frame') }}
{%- endmacro %}


{#- The one error of a macro nobody implemented for this adapter yet. -#}
{% macro arrears_not_ported(name) -%}
    {{ exceptions.raise_compiler_error(
        "arrears: macro " ~ name ~ " has no implementation for adapter '" ~ target.type
        ~ "': add " ~ target.type ~ "__" ~ name ~ " in dbt_project/macros/ (docs/decisions/009-cross-database-sql.md)"
    ) }}
{%- endmacro %}


{#- Portable date arithmetic (no dispatch: dbt's macros already are): a date plus a number of days,
    as a date (`date + integer` is PostgreSQL's; dbt.dateadd returns a timestamp on some engines). -#}
{% macro add_days(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, '(' ~ date_expression ~ ')') }} as date)
{%- endmacro %}
