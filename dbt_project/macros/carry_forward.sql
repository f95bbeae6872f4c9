{#- Models that keep one state "as of" a night (column as_of_date: the night each row was last
    computed) and carry it forward (fct_promises_to_pay, int_contact_point_recent_calls; decisions 012,
    016). Their table is as of the night it was last built for, L (audit.carried_forward_nights,
    written by record_night_built in the model's transaction; on a warehouse from before that record,
    max(as_of_date)). Building night D, the mode is:
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
            ~ " (select max(as_of_date) from " ~ this ~ ")) as night) as built"
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
    {%- set model = this.schema ~ '.' ~ this.identifier -%}
    delete from audit.carried_forward_nights where model = '{{ model }}';
    insert into audit.carried_forward_nights (model, business_date) values ('{{ model }}', {{ business_date() }})
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
