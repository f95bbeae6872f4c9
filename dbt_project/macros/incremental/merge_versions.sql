{#- Incremental pattern "merge versions": upsert entities stored as known at the last night built
    (stored_contact_points, stored_installments; docs/decisions/012). Probe:
    versions_stored_before_business_date. Reset: reset_unless_versions_stored_before_business_date.
    Merge guard: not_older_than_stored. -#}


{#- The latest delivery stored, when it is before D — the night then merges the versions delivered after it, up to D.
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
    {{ return(adapter.dispatch('reset_unless_versions_stored_before_business_date', 'arrears')()) }}
{%- endmacro %}

{% macro default__reset_unless_versions_stored_before_business_date() -%}
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
