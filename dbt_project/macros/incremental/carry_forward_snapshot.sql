{#- Incremental pattern "carry the snapshot forward" (int_loan_delinquency_daily, docs/decisions/010):
    a night recomputes only the loans that can have changed since D-1 (int_loans_to_recompute) and
    carries every other loan's row of D-1. Probe: previous_night_rows (read by the recompute scope).
    Reset: replace_business_date (incremental/by_business_date.sql). The model carries from {{ this }}. -#}


{#- The relation of `model_name` (a model of the caller's schema, keyed by business_date) when it holds
    rows of D-1, else none: a first night, a gap, a full refresh or a missing table recompute every loan.
    By name in the caller's schema, not ref(): the model reads the caller, so a ref back would be a
    cycle. -#}
{% macro previous_night_rows(model_name) -%}
    {%- if execute and not flags.FULL_REFRESH -%}
        {%- set relation = adapter.get_relation(database=this.database, schema=this.schema, identifier=model_name) -%}
        {%- if relation is not none -%}
            {%- set found = run_query(
                'select count(*) > 0 from (select 1 from ' ~ relation ~ ' where business_date = '
                ~ add_days(business_date(), -1) ~ ' limit 1) as previous_night'
            ) -%}
            {%- if found.columns[0].values()[0] -%}
                {{- return(relation) -}}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}


{#- `alias.column` of an existing incremental table when the table has the column, else an empty value
    of `data_type`. A column added to the delinquency snapshot (on_schema_change: append_new_columns)
    exists only after the snapshot's first night with it, and the recompute scope and the carry read
    D-1's rows before that; an empty value makes them recompute what the column would have spared. -#}
{% macro existing_column_or_null(relation, alias, column, data_type) -%}
    {%- if execute and relation is not none
        and column in (adapter.get_columns_in_relation(relation) | map(attribute='name') | list) -%}
        {{ alias }}.{{ column }}
    {%- else -%}
        cast(null as {{ data_type }})
    {%- endif -%}
{%- endmacro %}
