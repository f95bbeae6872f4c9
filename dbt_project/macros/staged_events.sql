{#- The event staging models' select, shared with the models that read a narrowed slice of the same
    entity: payments and reversals (stg_payments, int_payments) and collection actions
    (stg_collection_actions, int_collection_actions)
    delivered on or before D, each once (first delivery wins, §1), typed and renamed. `filter`
    narrows the rows before the deduplication (see point_in_time). -#}
{% macro staged_payments(filter=none) -%}
with payments_known_at_date as (
    {{ point_in_time(source('raw', 'payments'), ['payment_id'], 'event', filter=filter) }}
),

final as (
    select
        payment_id,
        loan_id,
        received_at,
        value_date,
        amount,
        channel,
        reversal_of,
        reversal_of is not null as is_reversal,
        _business_date as delivered_on
    from payments_known_at_date
)

select * from final
{%- endmacro %}


{% macro staged_collection_actions(filter=none) -%}
with actions_known as (
    {{ point_in_time(source('raw', 'collection_actions'), ['action_id'], 'event', filter=filter) }}
),

final as (
    select
        action_id,
        loan_id,
        borrower_id,
        contact_point_id,
        action_at,
        channel,
        direction,
        team_id,
        agent_id,
        outcome,
        promised_amount,
        promised_date,
        collectors_present,
        _business_date as delivered_on
    from actions_known
)

select * from final
{%- endmacro %}


{#- Event models stored once per first delivery (int_collection_actions, int_payments), appended by
    delivery date. The last delivery date already stored before D: the night reads only the events
    first delivered after it, up to D (normally D alone; a skipped night is caught up instead of
    leaving a hole). None on a first build or full refresh: read every event known at D.
    `incremental` is the caller's is_incremental().
    (not flags.FULL_REFRESH: lint renders without a warehouse, scripts/sqlfluff_library/flags.py) -#}
{% macro stored_until(incremental) -%}
    {%- if incremental and execute and not flags.FULL_REFRESH -%}
        {%- set found = run_query(
            'select max(delivered_on) from ' ~ this ~ ' where delivered_on < ' ~ business_date()
        ) -%}
        {{- return(found.columns[0].values()[0]) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}


{#- The point_in_time filter of those events: delivered after `stored_day` and not stored yet (first
    delivery wins): one probe of the stored table's unique index on `key`, not one per delivered
    date's partition. -#}
{% macro delivered_since_and_not_stored(stored_day, key) -%}
    _business_date > cast('{{ stored_day }}' as date)
    and not exists (select 1 from {{ this }} as stored where stored.{{ key }} = delivered.{{ key }})
{%- endmacro %}
