{#- Incremental pattern "carry the state forward": models that keep one state "as of" a night (column
    as_of_date: the night each row was last computed) and carry it forward (int_promises_to_pay,
    int_contact_point_recent_calls, int_arrangement_states; decisions 012, 016, 041); fct_agency_placements
    reads the mode only, to know that night D-1 was built (decision 041). Probe: carry_forward_mode (and
    carry_forward_possible). Reset: reset_unless_carried_forward; after a rebuilt night
    drop_rows_unknown_at_rebuilt_night; record_night_built stamps the night the table is as of.
    The table is as of the night it was last built for, L (audit.carried_forward_nights, written by
    record_night_built in the model's transaction; on a warehouse from before that record,
    max(as_of_date), none when the table predates its as_of_date column). Building night D, the mode is:
    - 'next_night' (L = D-1): carry forward, recomputing the rows whose state can change on D;
    - 'rebuilt_night' (L >= D: a rerun of D, a backfill of an older date, a rerun after a kill): carry
      forward too, and also recompute every row computed on a night from D on (as_of_date >= D). The
      other rows have not changed since D-1, so the table becomes exactly what night D first gave;
    - 'recompute' (first build, full refresh, skipped nights L < D-1): every row as of D.
    The model's body and its hooks all ask, before any of them changes the table.
    `incremental` is the caller's is_incremental(): a unit test overrides that for the model only. -#}
{% macro carry_forward_mode(incremental) -%}
    {%- if incremental and execute and not flags.FULL_REFRESH -%}
        {%- set found = run_query(
            "select case when built.night = " ~ add_days(business_date(), -1) ~ " then 'next_night'"
            ~ " when built.night >= " ~ business_date() ~ " then 'rebuilt_night' else 'recompute' end"
            ~ " from (select coalesce((select business_date from audit.carried_forward_nights"
            ~ " where model = '" ~ this.schema ~ "." ~ this.identifier ~ "'),"
            ~ " (select max(" ~ existing_column_or_null(this, 'carried', 'as_of_date', 'date') ~ ")"
            ~ " from " ~ this ~ " as carried)) as night) as built"
        ) -%}
        {{- return(found.columns[0].values()[0]) -}}
    {%- endif -%}
    {{- return('recompute') -}}
{%- endmacro %}


{#- True unless the mode is 'recompute'. -#}
{% macro carry_forward_possible(incremental) -%}
    {{- return(carry_forward_mode(incremental) != 'recompute') -}}
{%- endmacro %}


{#- Pre-hook: without a state to carry forward, the night rebuilds the whole table (in the model's
    transaction), so nothing known only after D survives a rebuild of D. -#}
{% macro reset_unless_carried_forward() -%}
    {{ return(adapter.dispatch('reset_unless_carried_forward', 'arrears')()) }}
{%- endmacro %}

{% macro default__reset_unless_carried_forward() -%}
    {%- if is_incremental() and not carry_forward_possible(is_incremental()) -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- Post-hook of a rebuilt night: a row computed on a later night whose `key` is not known at D (no
    row of `known_relation` with that key satisfies `known_condition`) belonged to an entity with
    nothing left at D, so the delete+insert did not replace it. Every other row computed from D on
    was replaced by tonight's. -#}
{% macro drop_rows_unknown_at_rebuilt_night(key, known_relation, known_condition) -%}
    {%- set implementation = adapter.dispatch('drop_rows_unknown_at_rebuilt_night', 'arrears') -%}
    {{ return(implementation(key, known_relation, known_condition)) }}
{%- endmacro %}

{% macro default__drop_rows_unknown_at_rebuilt_night(key, known_relation, known_condition) -%}
    {%- if is_incremental() and carry_forward_mode(is_incremental()) == 'rebuilt_night' -%}
        delete from {{ this }} as computed
        where
            computed.as_of_date >= {{ business_date() }}
            and not exists (
                select 1 from {{ known_relation }} as known
                where known.{{ key }} = computed.{{ key }} and {{ known_condition }}
            )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- Post-hooks: record the night this table is now as of (delete, then insert: portable SQL). -#}
{% macro record_night_built() -%}
    {{ return(adapter.dispatch('record_night_built', 'arrears')()) }}
{%- endmacro %}

{% macro default__record_night_built() -%}
    {%- set model = this.schema ~ '.' ~ this.identifier -%}
    delete from audit.carried_forward_nights where model = '{{ model }}';
    insert into audit.carried_forward_nights (model, business_date) values ('{{ model }}', {{ business_date() }})
{%- endmacro %}
