{#- The incremental models on Spark (docs/decisions/029): plain parquet tables, which have no DELETE,
    UPDATE or MERGE. The project's strategies keep their meaning:
    - 'append' with `partition_by` (the models replacing one business date, and the stored events by
      delivery date): the night's rows overwrite exactly their partitions (dynamic partition overwrite),
      which is what PostgreSQL's delete pre-hook + append does;
    - 'append' without `partition_by`: the rows are appended;
    - 'delete+insert' with `unique_key`: the table is rewritten as its rows whose key the night did not
      produce plus the night's rows (a new table swapped in by rename), what delete+insert leaves.
    The night's select is first written to a parquet table `<model>__dbt_tmp`, not a view: a carried
    model reads its own table (D-1's partition), and Spark refuses to overwrite a table a view of the
    same statement reads. This overrides dbt-spark's incremental materialization for this project only. -#}
{% materialization incremental, adapter='spark' -%}
    {%- set strategy = config.get('incremental_strategy') or 'append' -%}
    {%- set unique_key = config.get('unique_key', none) -%}
    {%- set partition_by = config.get('partition_by', none) -%}
    {%- set schema_change_setting = config.get('on_schema_change') -%}
    {%- set on_schema_change = incremental_validate_on_schema_change(schema_change_setting, default='ignore') -%}
    {%- set target_relation = this -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- set night_relation = this.incorporate(path={"identifier": this.identifier ~ '__dbt_tmp'}) -%}

    {{ run_hooks(pre_hooks) }}

    {%- if existing_relation is none or existing_relation.is_view or should_full_refresh() -%}
        {%- if existing_relation is not none -%}
            {%- do adapter.drop_relation(existing_relation) -%}
        {%- endif -%}
        {%- call statement('main') -%}
            {{ create_table_as(False, target_relation, compiled_code) }}
        {%- endcall -%}
    {%- else -%}
        {%- do spark_drop_table_if_exists(night_relation) -%}
        {%- call statement('night_rows') -%}
            create table {{ night_relation }} using parquet as {{ compiled_code }}
        {%- endcall -%}
        {%- do process_schema_changes(on_schema_change, night_relation, existing_relation) -%}
        {%- set columns = adapter.get_columns_in_relation(target_relation) | map(attribute='quoted') | list -%}
        {%- if partition_by -%}
            {%- set partition_columns = [partition_by] if partition_by is string else partition_by -%}
            {%- call statement('main') -%}
                insert overwrite table {{ target_relation }} partition ({{ partition_columns | join(', ') }})
                select {{ columns | join(', ') }} from {{ night_relation }}
            {%- endcall -%}
        {%- elif strategy == 'delete+insert' and unique_key -%}
            {%- set keys = [unique_key] if unique_key is string else unique_key -%}
            {%- set same_key = [] -%}
            {%- for key in keys -%}
                {%- do same_key.append('night.' ~ key ~ ' = kept.' ~ key) -%}
            {%- endfor -%}
            {%- call statement('main') -%}
                {{ spark_rewrite_table(target_relation,
                    'select ' ~ columns | join(', ') ~ ' from ' ~ target_relation ~ ' as kept'
                    ~ ' where not exists (select 1 from ' ~ night_relation ~ ' as night where '
                    ~ same_key | join(' and ') ~ ')'
                    ~ ' union all select ' ~ columns | join(', ') ~ ' from ' ~ night_relation) }}
            {%- endcall -%}
        {%- else -%}
            {%- call statement('main') -%}
                insert into table {{ target_relation }} select {{ columns | join(', ') }} from {{ night_relation }}
            {%- endcall -%}
        {%- endif -%}
        {%- do spark_drop_table_if_exists(night_relation) -%}
    {%- endif -%}

    {%- do persist_docs(target_relation, model) -%}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}


{#- Drop a table of this project if it exists (one statement). -#}
{% macro spark_drop_table_if_exists(relation) -%}
    {%- do run_query('drop table if exists ' ~ relation) -%}
{%- endmacro %}


{#- Replace an unpartitioned table by the rows of `select_sql`, which may read the table itself:
    the rows are written to `<table>__dbt_next` first, then the table is dropped and the new one renamed.
    Returns the last statement (the rename) for the caller to run, so it can be a hook's one statement. -#}
{% macro spark_rewrite_table(relation, select_sql) -%}
    {%- set next_relation = relation.incorporate(path={"identifier": relation.identifier ~ '__dbt_next'}) -%}
    {%- do spark_drop_table_if_exists(next_relation) -%}
    {%- do run_query('create table ' ~ next_relation ~ ' using parquet as ' ~ select_sql) -%}
    {%- do run_query('drop table ' ~ relation) -%}
    alter table {{ next_relation }} rename to {{ relation }}
{%- endmacro %}
