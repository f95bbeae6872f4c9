{#- on-run-start: give the incremental tables of a warehouse built before a column's not_null constraint was
    declared (docs/decisions/040) their NOT NULL. dbt writes a contract's DDL only when it creates a table, and an
    incremental model's table is created once: without this an upgraded warehouse would keep nullable columns
    whose data test is now gone on PostgreSQL. One catalog query a night; `alter table ... set not null` runs only
    for a column still nullable (once, checking the rows already there). Where rows written before the column was
    filled hold NULLs (agg_compliance_violations_daily.actions of older nights, docs/work-queue.md), the column
    gets `check (... is not null) not valid` instead, named not_null_<column>: every new row is checked, the
    history is kept as it is, and the night builds. -#}
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
            select format(
                'do $adopt$ begin alter table %1$I.%2$I alter column %3$I set not null; '
                'exception when not_null_violation then '
                'alter table %1$I.%2$I add constraint %4$I check (%3$I is not null) not valid; end $adopt$',
                namespace.nspname, class.relname, attribute.attname, 'not_null_' || attribute.attname
            )
            from pg_attribute as attribute
            inner join pg_class as class on attribute.attrelid = class.oid
            inner join pg_namespace as namespace on class.relnamespace = namespace.oid
            where
                not attribute.attnotnull
                and class.relkind in ('r', 'p')
                and (namespace.nspname, class.relname, attribute.attname::text) in (values {{ declared | join(', ') }})
                and not exists (
                    select 1 from pg_constraint as adopted
                    where adopted.conrelid = class.oid and adopted.conname = 'not_null_' || attribute.attname
                )
        {%- endset -%}
        {%- set statements = run_query(nullable).columns[0].values() -%}
    {%- endif -%}
    {{ statements | join(';\n') if statements else 'select 1' }}
{%- endmacro %}
