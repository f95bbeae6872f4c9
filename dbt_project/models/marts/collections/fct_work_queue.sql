-- Tomorrow's work queue (business rules §5): for business date D, one row per active or
-- written-off loan that is pre-due or delinquent, for work on D+1. The routing table picks a
-- team and its channels (or holds the loan); then an open promise removes `call`, restrictions
-- remove the channels they bar, the optional weekly rules remove `call`, and a non-legal row
-- left with no channel is held. The dialer gets the contact window and daily caps with each row.
{{ config(
    post_hook='{{ analyze_relation(this, statistics_target=10) }}',
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_business_date() }}",
    indexes=[{'columns': ['business_date', 'loan_id'], 'unique': true}, {'columns': ['business_date', 'team_id']}],
    contract={'enforced': true},
) }}

with narrowed as (
    select
        queue.*,
        scores.scorecard_version,
        scores.score_probability
    from {{ ref('int_work_queue_narrowed') }} as queue
    left join {{ ref('int_loan_scores_daily') }} as scores
        on queue.business_date = scores.business_date and queue.loan_id = scores.loan_id
),

prioritised as (
    select
        narrowed.*,
        case
            when narrowed.team_id is not null
                then row_number() over (
                    partition by narrowed.team_id
                    order by
                        {{ queue_priority_order('narrowed') }}
                        narrowed.broke_promise_today desc,
                        narrowed.days_to_next_bucket asc nulls last,
                        narrowed.overdue_amount desc,
                        narrowed.loan_id asc
                )
        end as priority_rank
    from narrowed
),

final as (
    select
        cast(business_date as date) as business_date,
        {{ add_days('business_date', 1) }} as work_date,
        cast(loan_id as {{ dbt.type_string() }}) as loan_id,
        cast(borrower_id as {{ dbt.type_string() }}) as borrower_id,
        cast(team_id as {{ dbt.type_string() }}) as team_id,
        {{ split_to_array('allowed_channels', "'|'") }} as allowed_channels,
        cast(priority_rank as integer) as priority_rank,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(hold_reason as {{ dbt.type_string() }}) as hold_reason,
        cast(routing_rule as {{ dbt.type_string() }}) as routing_rule,
        cast(stage as {{ dbt.type_string() }}) as stage,
        cast(dpd as integer) as dpd,
        cast(bucket as {{ dbt.type_string() }}) as bucket,
        cast(overdue_amount as numeric(18, 2)) as overdue_amount,
        cast(outstanding_principal as numeric(18, 2)) as outstanding_principal,
        cast(days_to_next_bucket as integer) as days_to_next_bucket,
        cast(broke_promise_today as boolean) as broke_promise_today,
        cast(has_open_promise as boolean) as has_open_promise,
        cast(is_lost_contact as boolean) as is_lost_contact,
        cast(scorecard_version as {{ dbt.type_string() }}) as scorecard_version,
        cast(score_probability as numeric(10, 8)) as score_probability,
        case
            when {{ array_contains(split_to_array('allowed_channels', "'|'"), "'visit'") }}
                then cast({{ var('field_min_collectors') }} as integer)
        end as min_collectors,
        cast('{{ var("source_timezone") }}' as {{ dbt.type_string() }}) as contact_timezone,
        cast('{{ var("contact_window_start") }}' as time) as contact_window_start,
        cast('{{ var("contact_window_end") }}' as time) as contact_window_end,
        cast({{ var('max_connected_calls_per_day_per_borrower') }} as integer)
            as max_connected_calls_per_day_per_borrower,
        cast({{ var('max_unanswered_attempts_per_day_per_number') }} as integer)
            as max_unanswered_attempts_per_day_per_number
    from prioritised
)

select * from final
