{#- Planner hints and physical upkeep of arrears (PostgreSQL): statistics, index pricing, CTE fences
    and indexes. They change how a model runs, never what it returns; on other engines each is no
    statement or no hint. Measured effects: docs/scaling.md. -#}


{#- Post-hook: refresh the planner's statistics of a table just written (PostgreSQL plans the
    next models on them; docs/scaling.md). Engines without such statistics: no statement.
    `statistics_target` samples fewer rows (300 per unit): for the tables that keep every night's
    rows, a full sample reads pages all over a table that grows with history, while the next models
    only need the new date's rows counted. -#}
{% macro analyze_relation(relation, statistics_target=none) -%}
    {{ return(adapter.dispatch('analyze_relation', 'arrears')(relation, statistics_target)) }}
{%- endmacro %}

{% macro postgres__analyze_relation(relation, statistics_target) -%}
    {%- set sample = 'set local default_statistics_target = ' ~ statistics_target ~ '; ' -%}
    {{ sample if statistics_target is not none }}analyze {{ relation }}
{%- endmacro %}

{% macro default__analyze_relation(relation, statistics_target) -%}
{%- endmacro %}


{#- Post-hook statement: tell the planner how many rows a table holds per value of `column`, where
    ANALYZE cannot see it. A table written in key order (stored_installments: rebuilt sorted by loan,
    then merged a few rows a night) keeps each key's rows on the same pages; ANALYZE samples pages,
    so it sees them together and takes one key's rows for many keys'. Planned on that, a lookup of
    the few loans recomputed tonight reads the whole table instead of probing its index per loan.
    Any figure of the right order gives the right plan; the statement runs before the model's
    ANALYZE. -#}
{% macro declare_rows_per_key(relation, column, rows_per_key) -%}
    {{ return(adapter.dispatch('declare_rows_per_key', 'arrears')(relation, column, rows_per_key)) }}
{%- endmacro %}

{% macro postgres__declare_rows_per_key(relation, column, rows_per_key) -%}
    alter table {{ relation }} alter column {{ column }} set (n_distinct = {{ -1.0 / rows_per_key }})
{%- endmacro %}

{% macro default__declare_rows_per_key(relation, column, rows_per_key) -%}
    select 1
{%- endmacro %}


{#- Planner hint after `as` in a CTE used several times: plan each use on the underlying
    table's statistics instead of materialising the CTE. Elsewhere: no hint. -#}
{% macro cte_inlined() -%}
    {{ return(adapter.dispatch('cte_inlined', 'arrears')()) }}
{%- endmacro %}

{% macro postgres__cte_inlined() -%}
    not materialized
{%- endmacro %}

{% macro default__cte_inlined() -%}
{%- endmacro %}


{#- Planner hint after `as` in a CTE: compute it once, first, and read the result. For a small set
    that must be narrowed before a per-row lookup runs on it (the planner would otherwise evaluate
    the lookup on the wider input and filter afterwards). Elsewhere: no hint. -#}
{% macro cte_computed_first() -%}
    {{ return(adapter.dispatch('cte_computed_first', 'arrears')()) }}
{%- endmacro %}

{% macro postgres__cte_computed_first() -%}
    materialized
{%- endmacro %}

{% macro default__cte_computed_first() -%}
{%- endmacro %}


{#- Pre-hook of an incremental table whose `indexes` config lost an index: drop every index on the
    existing table whose column list is not configured. dbt creates the configured indexes only when it
    creates the table, so without this a warehouse built before the change would keep paying for the
    dropped index every night. One catalog query when there is nothing to drop. -#}
{% macro drop_unconfigured_indexes() -%}
    {{ return(adapter.dispatch('drop_unconfigured_indexes', 'arrears')()) }}
{%- endmacro %}

{% macro postgres__drop_unconfigured_indexes() -%}
    {%- set configured = [] -%}
    {%- for index in config.get('indexes', []) -%}
        {%- do configured.append(index['columns'] | join(',')) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- if execute and is_incremental() -%}
        {%- set existing = run_query(
            "select index_class.oid::regclass::text, string_agg(attribute.attname, ',' order by key.position)"
            ~ " from pg_index as index_class_info"
            ~ " inner join pg_class as index_class on index_class.oid = index_class_info.indexrelid"
            ~ " cross join unnest(index_class_info.indkey) with ordinality as key (attnum, position)"
            ~ " inner join pg_attribute as attribute"
            ~ " on attribute.attrelid = index_class_info.indrelid and attribute.attnum = key.attnum"
            ~ " where index_class_info.indrelid = '" ~ this ~ "'::regclass"
            ~ " group by index_class.oid"
        ) -%}
        {%- for row in existing.rows if row[1] not in configured -%}
            {%- do statements.append('drop index ' ~ row[0]) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ statements | join('; ') if statements else 'select 1' }}
{%- endmacro %}

{% macro default__drop_unconfigured_indexes() -%}
    select 1
{%- endmacro %}


{#- Pre-hook of a model that reads a few rows per key of a large, cached table: price a random page
    read like a sequential one (1.1, the usual setting for SSD or memory-resident data) for this
    model's transaction only. With the default (4) PostgreSQL scans all of stored_payments to pick the
    recomputed loans' payments instead of probing its loan_id index. Elsewhere: no statement. -#}
{% macro prefer_index_lookups() -%}
    {{ return(adapter.dispatch('prefer_index_lookups', 'arrears')()) }}
{%- endmacro %}

{% macro postgres__prefer_index_lookups() -%}
    set local random_page_cost = 1.1
{%- endmacro %}

{% macro default__prefer_index_lookups() -%}
    select 1
{%- endmacro %}


{#- Post-hook statement, before the model's ANALYZE: multi-column statistics (most common combinations) on
    `columns`, sampled with `target` whatever the table's own sample. fct_work_queue selects a recipient's rows
    of one night (business_date, recipient): in a warehouse whose older nights predate the recipient column,
    the columns' separate statistics estimate a recipient's night far too low, and the export's joins are
    planned on that (benchmarks/results.md, session 6). -#}
{% macro combined_statistics(relation, columns, target=100) -%}
    {{ return(adapter.dispatch('combined_statistics', 'arrears')(relation, columns, target)) }}
{%- endmacro %}

{% macro postgres__combined_statistics(relation, columns, target) -%}
    {%- set name = relation.schema ~ '.' ~ relation.identifier ~ '_' ~ columns | join('_') -%}
    create statistics if not exists {{ name }} (mcv) on {{ columns | join(', ') }} from {{ relation }};
    alter statistics {{ name }} set statistics {{ target }}
{%- endmacro %}

{% macro default__combined_statistics(relation, columns, target) -%}
{%- endmacro %}


{#- Planner hint at the end of a subquery whose output columns the query above reads several times: compute
    each row once and hand the values up, instead of copying the subquery's expressions into every place
    they are read (PostgreSQL pulls a simple subquery up into its parent; an `offset 0` keeps it as a
    step of its own, streamed, not materialised). Elsewhere: no hint. -#}
{% macro subquery_computed_once() -%}
    {{ return(adapter.dispatch('subquery_computed_once', 'arrears')()) }}
{%- endmacro %}

{% macro postgres__subquery_computed_once() -%}
    offset 0
{%- endmacro %}

{% macro default__subquery_computed_once() -%}
{%- endmacro %}
