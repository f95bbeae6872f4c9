-- Whether each borrower has lost contact at the end of the business date (business rules §5):
-- every own number is invalid, or its last N outbound calls all failed. Only then may
-- third-party numbers (emergency contact, employer) be used, and only to locate the borrower.
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['borrower_id'], 'unique': true}],
) }}

-- `not materialized`: used twice, each use plans on the table's own statistics.
with own_numbers as {{ not_materialized() }} (
    select
        contact_point_id,
        borrower_id,
        is_valid
    from {{ ref('int_contact_points') }}
    where not is_third_party
),

-- Bounded look-back so a night's cost does not grow with the length of the history.
recent_own_calls as (
    select
        actions.contact_point_id,
        actions.is_failed_call,
        row_number() over (
            partition by actions.contact_point_id
            order by actions.action_at desc, actions.action_id desc
        ) as recency
    from {{ ref('int_collection_actions') }} as actions
    where
        actions.channel = 'call'
        and actions.direction is distinct from 'inbound'
        and actions.delivered_on <= {{ business_date() }}
        and actions.action_local_date <= {{ business_date() }}
        and actions.action_local_date
        > {{ add_days(business_date(), '-' ~ var('lost_contact_lookback_days')) }}
        and actions.contact_point_id in (select own_numbers.contact_point_id from own_numbers)
),

last_calls_per_number as (
    select
        contact_point_id,
        count(*) as calls,
        count(case when is_failed_call then 1 end) as failed_calls
    from recent_own_calls
    where recency <= {{ var('lost_contact_last_calls') }}
    group by contact_point_id
),

own_numbers_reachability as (
    select
        own_numbers.borrower_id,
        own_numbers.contact_point_id,
        not own_numbers.is_valid
        or coalesce(last_calls_per_number.failed_calls, 0) >= {{ var('lost_contact_last_calls') }}
            as is_lost
    from own_numbers
    left join last_calls_per_number
        on own_numbers.contact_point_id = last_calls_per_number.contact_point_id
),

final as (
    select
        borrower_id,
        cast(count(*) as integer) as own_numbers,
        cast(count(case when not is_lost then 1 end) as integer) as own_numbers_reachable,
        {{ bool_and('is_lost') }} as is_lost_contact
    from own_numbers_reachability
    group by borrower_id
)

select * from final
