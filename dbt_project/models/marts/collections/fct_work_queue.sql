-- Tomorrow's work queue (business rules §5): for business date D, one row per active or
-- written-off loan that is pre-due or delinquent, for work on D+1. The routing table picks a
-- team and its channels (or holds the loan); then an open promise removes `call`, restrictions
-- remove the channels they bar, the optional weekly rules remove `call`, and a non-legal row
-- left with no channel is held. The dialer gets the contact window and daily caps with each row.
{{ config(
    post_hook='{{ analyze_relation(this) }}',
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_business_date() }}",
    indexes=[{'columns': ['business_date', 'loan_id'], 'unique': true}, {'columns': ['business_date', 'team_id']}],
    contract={'enforced': true},
) }}

with narrowed as (
    select *
    from {{ ref('int_work_queue_narrowed') }}
),

prioritised as (
    select
        narrowed.*,
        case
            when narrowed.team_id is not null
                then row_number() over (
                    partition by narrowed.team_id
                    order by
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
        business_date::date as business_date,
        (business_date + 1)::date as work_date,
        loan_id::text as loan_id,
        borrower_id::text as borrower_id,
        team_id::text as team_id,
        coalesce(string_to_array(nullif(allowed_channels, ''), '|'), array[]::text[])::text[] as allowed_channels,
        priority_rank::integer as priority_rank,
        reason::text as reason,
        hold_reason::text as hold_reason,
        routing_rule::text as routing_rule,
        stage::text as stage,
        dpd::integer as dpd,
        bucket::text as bucket,
        overdue_amount::numeric(18, 2) as overdue_amount,
        outstanding_principal::numeric(18, 2) as outstanding_principal,
        days_to_next_bucket::integer as days_to_next_bucket,
        broke_promise_today::boolean as broke_promise_today,
        has_open_promise::boolean as has_open_promise,
        is_lost_contact::boolean as is_lost_contact,
        case
            when 'visit' = any(string_to_array(allowed_channels, '|')) then {{ var('field_min_collectors') }}
        end::integer
            as min_collectors,
        '{{ var("source_timezone") }}'::text as contact_timezone,
        '{{ var("contact_window_start") }}'::time as contact_window_start,
        '{{ var("contact_window_end") }}'::time as contact_window_end,
        {{ var('max_connected_calls_per_day_per_borrower') }}::integer as max_connected_calls_per_day_per_borrower,
        {{ var('max_unanswered_attempts_per_day_per_number') }}::integer as max_unanswered_attempts_per_day_per_number
    from prioritised
)

select * from final
