{#- on-run-start: give the incremental tables of a warehouse built before a column's not_null constraint was
    declared (docs/decisions/040) their NOT NULL. dbt writes a contract's DDL only when it creates a table, and an
    incremental model's table is created once: without this an upgraded warehouse would keep nullable columns
    whose data test is now gone on PostgreSQL. One catalog query a night; `alter table ... set not null` runs only
    for a column still nullable (once, checking the rows already there: a NULL among them fails the build). -#}
{% macro adopt_not_null_constraints() -%}
    {{ return(adapter.dispatch('adopt_not_null_constraints')()) }}
{%- endmacro %}

{% macro default__adopt_not_null_constraints() -%}
    select 1
{%- endmacro %}

{% macro postgres__adopt_not_null_constraints() -%}
    {%- set declared = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.config.materialized == 'incremental'
            and node.config.contract.enforced -%}
            {%- for column in node.columns.values()
                if 'not_null' in column.constraints | map(attribute='type') | list -%}
                {%- do declared.append("('" ~ node.schema ~ "', '" ~ node.alias ~ "', '" ~ column.name ~ "')") -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set statements = [] -%}
    {%- if declared -%}
        {%- set nullable -%}
            select format('alter table %I.%I alter column %I set not null', namespace.nspname, class.relname, attribute.attname)
            from pg_attribute as attribute
            inner join pg_class as class on attribute.attrelid = class.oid
            inner join pg_namespace as namespace on class.relnamespace = namespace.oid
            where
                not attribute.attnotnull
                and class.relkind in ('r', 'p')
                and (namespace.nspname, class.relname, attribute.attname::text) in (values {{ declared | join(', ') }})
        {%- endset -%}
        {%- set statements = run_query(nullable).columns[0].values() -%}
    {%- endif -%}
    {{ statements | join(';\n') if statements else 'select 1' }}
{%- endmacro %}
