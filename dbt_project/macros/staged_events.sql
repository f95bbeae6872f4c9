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
