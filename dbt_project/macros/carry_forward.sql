{#- Models that keep one state "as of" a night (column as_of_date) and carry it forward from D-1 to D
    (fct_promises_to_pay, int_contact_point_recent_calls; docs/decisions/012): they may do so only
    when the table is exactly as of D-1 (max as_of_date). Any other state (first build, a rerun of D,
    a backfill of an older date, a skipped night) recomputes the whole state as of D. The model's body
    and its pre-hook both ask, before either changes the table.
    `incremental` is the caller's is_incremental(): a unit test overrides that for the model only. -#}
{% macro carry_forward_possible(incremental) -%}
    {%- if incremental and execute and not flags.FULL_REFRESH -%}
        {%- set built = run_query(
            'select coalesce(max(as_of_date) = ' ~ add_days(business_date(), -1) ~ ', false) from ' ~ this
        ) -%}
        {{- return(built.columns[0].values()[0]) -}}
    {%- endif -%}
    {{- return(false) -}}
{%- endmacro %}


{#- Pre-hook: without last night's state to carry forward, the night rebuilds the whole table (in the
    model's transaction), so nothing known only after D survives a rebuild of D. -#}
{% macro reset_unless_carried_forward() -%}
    {%- if is_incremental() and not carry_forward_possible(is_incremental()) -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
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


{#- Upsert entities stored as known at the last night built (int_contact_points): the latest delivery
    stored, when it is before D — the night then merges the versions delivered after it, up to D.
    None (rebuild as of D) on a first build, a full refresh, or when the table holds a delivery of D
    or later (a rerun of D, a backfill of an older date): a later version may have replaced the one
    known at D. The model's body and its pre-hook both ask, before either changes the table. -#}
{% macro versions_stored_before_business_date(incremental) -%}
    {%- if incremental and execute and not flags.FULL_REFRESH -%}
        {%- set found = run_query(
            'select case when max(delivered_on) < ' ~ business_date() ~ ' then max(delivered_on) end from ' ~ this
        ) -%}
        {{- return(found.columns[0].values()[0]) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}


{#- Pre-hook of those models: without versions to merge onto, the night rebuilds the whole table (in
    the model's transaction), so nothing delivered after D survives a rebuild of D. -#}
{% macro reset_unless_versions_stored_before_business_date() -%}
    {%- if is_incremental() and versions_stored_before_business_date(is_incremental()) is none -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- The merge guard of those models: keep a delivered version (alias `versions`) unless the stored row
    of its key has a later updated_at — it replaces the stored row only when it wins under §1 (ties go
    to the later delivery, which the merge is). -#}
{% macro not_older_than_stored(key_columns) -%}
    {%- set same_key = [] -%}
    {%- for column in key_columns -%}
        {%- do same_key.append('stored.' ~ column ~ ' = versions.' ~ column) -%}
    {%- endfor -%}
    not exists (
        select 1 from {{ this }} as stored
        where {{ same_key | join(' and ') }} and stored.updated_at > versions.updated_at
    )
{%- endmacro %}
