{#- Incremental pattern "carry the state forward": models that keep one state "as of" a night (column
    as_of_date) and carry it forward from D-1 to D (int_promises_to_pay, int_contact_point_recent_calls;
    docs/decisions/012). Probe: carry_forward_possible. Reset: reset_unless_carried_forward. They may do so only
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
