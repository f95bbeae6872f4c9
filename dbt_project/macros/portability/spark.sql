{#- The Spark SQL bodies of the dispatched macros (docs/decisions/009, 029). deduplicate, bool_and and
    the planner hints use their generic default__ (Spark 4 has `qualify`). Timestamps are Spark's
    TIMESTAMP (an instant, as timestamptz) with the session time zone UTC; local wall-clock time is
    TIMESTAMP_NTZ, as PostgreSQL's timestamp without time zone. -#}

{% macro spark__local_timestamp(timestamp_column) -%}
    cast(from_utc_timestamp({{ timestamp_column }}, '{{ var("source_timezone") }}') as timestamp_ntz)
{%- endmacro %}

{% macro spark__type_timestamp_tz() -%}
    timestamp
{%- endmacro %}

{#- Spark's split takes a regular expression: the delimiter is quoted literally. -#}
{% macro spark__split_to_array(text_expression, delimiter) -%}
    coalesce(
        split(nullif({{ text_expression }}, ''), concat('\\Q', {{ delimiter }}, '\\E'), -1),
        cast(array() as array<string>)
    )
{%- endmacro %}

{% macro spark__array_to_text(array_expression, delimiter) -%}
    array_join({{ array_expression }}, {{ delimiter }})
{%- endmacro %}

{% macro spark__array_filter(array_expression, element, condition) -%}
    filter({{ array_expression }}, {{ element }} -> {{ condition }})
{%- endmacro %}

{% macro spark__array_contains(array_expression, value) -%}
    array_contains({{ array_expression }}, {{ value }})
{%- endmacro %}

{% macro spark__arrays_overlap(first_array, second_array) -%}
    arrays_overlap({{ first_array }}, {{ second_array }})
{%- endmacro %}

{% macro spark__array_size(array_expression) -%}
    array_size({{ array_expression }})
{%- endmacro %}

{% macro spark__days_following_frame(first_day, last_day) -%}
    range between interval {{ first_day }} days following and interval {{ last_day }} days following
{%- endmacro %}

{#- dbt.listagg on Spark with its order kept: dbt-spark's collect_list ignores the order_by_clause (its
    order is the scan's). The project orders only by the aggregated value itself (`order by <measure>`,
    optionally `distinct`), which array_sort gives; any other order is a compiler error, not a silent one. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- set value = measure | trim -%}
    {%- set value = value[9:] | trim if value.lower().startswith('distinct ') else value -%}
    {%- set collected = 'collect_list(' ~ measure ~ ')' -%}
    {%- if order_by_clause -%}
        {%- set ordered_by = order_by_clause | trim -%}
        {%- if (ordered_by[9:] | trim) != value or not (ordered_by | lower).startswith('order by ') -%}
            {{ exceptions.raise_compiler_error(
                "arrears: listagg on Spark orders by the aggregated value only, not '" ~ order_by_clause ~ "'"
            ) }}
        {%- endif -%}
        {%- set collected = 'array_sort(' ~ collected ~ ')' -%}
    {%- endif -%}
    {%- if limit_num -%}
        {%- set collected = 'slice(' ~ collected ~ ', 1, ' ~ limit_num ~ ')' -%}
    {%- endif -%}
    array_join({{ collected }}, {{ delimiter_text }})
{%- endmacro %}
