-- Collection actions delivered up to the business date, each once (its first delivery).
with actions_known as (
    {{ point_in_time(source('raw', 'collection_actions'), ['action_id'], 'event') }}
),

final as (
    select
        action_id as action_id,
        loan_id as loan_id,
        borrower_id as borrower_id,
        contact_point_id as contact_point_id,
        action_at as action_at,
        channel as channel,
        direction as direction,
        team_id as team_id,
        agent_id as agent_id,
        outcome as outcome,
        promised_amount as promised_amount,
        promised_date as promised_date,
        collectors_present as collectors_present,
        _business_date as delivered_on
    from actions_known
)

select * from final
