-- Tomorrow's work queue (business rules §5): for business date D, one row per active or
-- written-off loan that is pre-due or delinquent, for work on D+1. The routing table picks a
-- team and its channels (or holds the loan); then an open promise removes `call`, restrictions
-- remove the channels they bar, the optional weekly rules remove `call`, and a non-legal row
-- left with no channel is held. The dialer gets the contact window and daily caps with each row,
-- and each worked row names the one recipient whose file carries it.
{{ config(
    post_hook=[
        "{{ combined_statistics(this, ['business_date', 'recipient']) }}",
        '{{ analyze_relation(this, statistics_target=10) }}',
    ],
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_business_date() }}",
    indexes=[{'columns': ['business_date', 'loan_id'], 'unique': true}, {'columns': ['business_date', 'team_id']}],
    contract={'enforced': true},
) }}

-- A loan routed to `agency` goes to the agency it is placed with tonight (fct_agency_placements).
with narrowed as (
    select
        routed.*,
        coalesce('agency:' || placements.agency_id, routed.team_id) as placed_team_id,
        scores.scorecard_version,
        scores.score_probability
    -- int_work_queue_narrowed with the §10 experiment arms applied (docs/experiments.md)
    from {{ ref('int_work_queue_experiments') }} as routed
    left join {{ ref('fct_agency_placements') }} as placements
        on
            routed.loan_id = placements.loan_id
            and routed.team_id = 'agency'
            and placements.recalled_on is null
            and placements.placed_on <= {{ business_date() }}
    left join {{ ref('int_loan_scores_daily') }} as scores
        on routed.business_date = scores.business_date and routed.loan_id = scores.loan_id
),

prioritised as (
    select
        narrowed.*,
        case
            when narrowed.placed_team_id is not null
                then row_number() over (
                    partition by narrowed.placed_team_id
                    order by
                        narrowed.experiment_position asc nulls first,
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
        cast(placed_team_id as {{ dbt.type_string() }}) as team_id,
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
        cast(experiment_id as {{ dbt.type_string() }}) as experiment_id,
        cast(arm_id as {{ dbt.type_string() }}) as arm_id,
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

-- The one recipient whose file carries the row (config/recipients.yml, var recipient_routing).
select
    final.*,
    {{ work_queue_recipient('final.team_id', 'final.allowed_channels') }} as recipient
from final
