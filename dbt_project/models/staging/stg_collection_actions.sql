-- Collection actions delivered up to the business date, each once (its first delivery).
with actions_known as (
    {{ point_in_time(source('raw', 'collection_actions'), ['action_id'], 'event') }}
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
