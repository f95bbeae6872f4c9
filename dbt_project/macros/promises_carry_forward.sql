{#- fct_promises_to_pay carries forward last night's statuses when its table is exactly as of D-1
    (max as_of_date): then only the loans whose promises can change on D are recomputed. Any other
    state (first build, a rerun of D, a backfill of an older date, a skipped night) rebuilds every
    promise as of D. The model's body and its pre-hook both ask, before either changes the table.
    `incremental` is the caller's is_incremental(): a unit test overrides that for the model only. -#}
{% macro promises_carry_forward(incremental) -%}
    {%- if incremental and execute and not flags.FULL_REFRESH -%}
        {%- set built = run_query(
            'select coalesce(max(as_of_date) = ' ~ add_days(business_date(), -1) ~ ', false) from ' ~ this
        ) -%}
        {{- return(built.columns[0].values()[0]) -}}
    {%- endif -%}
    {{- return(false) -}}
{%- endmacro %}


{#- Pre-hook: without last night's statuses to carry forward, the night rebuilds the whole table
    (in the model's transaction), so no promise known only after D survives a rebuild of D. -#}
{% macro promises_reset_unless_carried_forward() -%}
    {%- if is_incremental() and not promises_carry_forward(is_incremental()) -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
