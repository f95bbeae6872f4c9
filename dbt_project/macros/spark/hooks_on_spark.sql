{#- The incremental hooks on Spark (docs/decisions/029): parquet tables have no DELETE, so each reset
    is the statement Spark has for it: a partition dropped, a table truncated, a table rewritten.
    sqlfluff 3's jinja tracer reads these macro-only if / else variants as indented SQL (LT02 on every line; the
    file renders no SQL of its own): indentation is not linted here, as in scorecard_case.sql. -#}
-- noqa: disable=LT02


{#- D's partition of a model partitioned by `date_column` is dropped before the night's rows are
    written (the materialization then overwrites the partitions the night produced): a rerun of D whose
    select has no row for D leaves none, as PostgreSQL's delete does. -#}
{% macro spark__replace_business_date(date_column) -%}
    {%- if is_incremental() -%}
        alter table {{ this }} drop if exists partition ({{ date_column }} = '{{ business_date_text() }}')
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{% macro spark__reset_unless_carried_forward() -%}
    {%- if is_incremental() and not carry_forward_possible(is_incremental()) -%}
        truncate table {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{% macro spark__reset_unless_versions_stored_before_business_date() -%}
    {%- if is_incremental() and versions_stored_before_business_date(is_incremental()) is none -%}
        truncate table {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{% macro spark__drop_rows_unknown_at_rebuilt_night(key, known_relation, known_condition) -%}
    {%- if is_incremental() and carry_forward_mode(is_incremental()) == 'rebuilt_night' -%}
        {{ spark_rewrite_table(this,
            'select * from ' ~ this ~ ' as computed where not (computed.as_of_date >= ' ~ business_date()
            ~ ' and not exists (select 1 from ' ~ known_relation ~ ' as known where known.' ~ key
            ~ ' = computed.' ~ key ~ ' and ' ~ known_condition ~ '))') }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- audit.carried_forward_nights is partitioned by model on Spark: one partition overwritten. -#}
{% macro spark__record_night_built() -%}
    insert overwrite table audit.carried_forward_nights partition (model = '{{ this.schema ~ "." ~ this.identifier }}')
    select {{ business_date() }}
{%- endmacro %}


{#- No DELETE on parquet: the table is rewritten without those rows. -#}
{% macro spark__delete_rows_where(condition) -%}
    {{ spark_rewrite_table(this, 'select * from ' ~ this ~ ' where not coalesce(' ~ condition ~ ', false)') }}
{%- endmacro %}


{#- fct_agency_placements rewound to night D-1 (decision 024): the table is rewritten without the
    placements made on D or later, and with the recalls made on D or later undone. -#}
{% macro spark__rewind_placements_to_night_before() -%}
    {%- if is_incremental() -%}
        {%- set undone = 'coalesce(recalled_on >= ' ~ business_date() ~ ', false)' -%}
        {%- set columns = [] -%}
        {%- for column in adapter.get_columns_in_relation(this) | map(attribute='name') -%}
            {%- if column in ('recalled_on', 'recall_reason') -%}
                {%- do columns.append('case when ' ~ undone ~ ' then null else ' ~ column ~ ' end as ' ~ column) -%}
            {%- else -%}
                {%- do columns.append(column) -%}
            {%- endif -%}
        {%- endfor -%}
        {{ spark_rewrite_table(this,
            'select ' ~ columns | join(', ') ~ ' from ' ~ this
            ~ ' where not coalesce(placed_on >= ' ~ business_date() ~ ', false)') }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
