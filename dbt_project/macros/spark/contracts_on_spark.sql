{#- Model contracts on Spark (docs/decisions/029). The models' YAML states each column's type as
    PostgreSQL names it (text, integer, numeric(p,s), timestamptz, text[], ...); on Spark the contract
    is checked against the same types under Spark's names, so one YAML holds on both engines. -#}

{#- A contract data_type (PostgreSQL's name) as Spark's. -#}
{% macro spark_type_of_contract_type(data_type) -%}
    {%- set name = data_type | trim | lower -%}
    {%- set same = {
        'text': 'string', 'text[]': 'array<string>', 'integer': 'int', 'bigint': 'bigint',
        'timestamptz': 'timestamp', 'timestamp': 'timestamp_ntz', 'date': 'date', 'boolean': 'boolean',
        'time': 'time', 'double precision': 'double'
    } -%}
    {%- if name == 'numeric' -%}
        {#- an unconstrained numeric in a contract is what dbt.type_numeric() casts to (decimal(28,6) on Spark) -#}
        {{- return(dbt.type_numeric()) -}}
    {%- elif name in same -%}
        {{- return(same[name]) -}}
    {%- elif name.startswith('numeric(') -%}
        {{- return('decimal(' ~ name[8:]) -}}
    {%- endif -%}
    {{- return(name) -}}
{%- endmacro %}


{#- dbt's empty-schema query of the contract (what the model's columns are compared with), in Spark types. -#}
{% macro spark__get_empty_schema_sql(columns) -%}
    select
    {% for name in columns -%}
        {%- set column = columns[name] -%}
        {%- if column['data_type'] is not defined -%}
            {{ exceptions.column_type_missing(column_names=[column['name']]) }}
        {%- endif -%}
        cast(null as {{ spark_type_of_contract_type(column['data_type']) }}) as {{ column['name'] }}{{ ", " if not loop.last }}
    {% endfor %}
{%- endmacro %}
