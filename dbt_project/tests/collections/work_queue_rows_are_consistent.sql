-- Queue rows that contradict the rules: a held row with a team or channels, a worked non-legal
-- row without channels, a call offered while the loan has an open promise, or a priority rank
-- on a held row (business rules §5).
{{ config(tags=['collections']) }}

with queue_today as (
    select *
    from {{ ref('fct_work_queue') }}
    where business_date = {{ business_date() }}
),

final as (
    select
        loan_id,
        case
            when hold_reason is not null and team_id is not null then 'held row has a team'
            when hold_reason is not null and {{ array_size('allowed_channels') }} > 0 then 'held row has channels'
            when hold_reason is not null and priority_rank is not null then 'held row has a priority'
            when team_id is null and hold_reason is null then 'no team and no hold reason'
            when team_id <> 'legal' and {{ array_size('allowed_channels') }} = 0 then 'worked row without channels'
            when has_open_promise and {{ array_contains('allowed_channels', "'call'") }}
                then 'call despite an open promise'
        end as problem
    from queue_today
)

select * from final
where problem is not null
