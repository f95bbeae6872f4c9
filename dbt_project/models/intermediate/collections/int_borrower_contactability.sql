-- Whether each borrower has lost contact at the end of the business date (business rules §5):
-- every own number is invalid, or its last N outbound calls all failed. Only then may
-- third-party numbers (emergency contact, employer) be used, and only to locate the borrower.
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['borrower_id'], 'unique': true}],
) }}

with own_numbers as (
    select
        contact_point_id,
        borrower_id,
        is_valid
    from {{ ref('stored_contact_points') }}
    where not is_third_party
),

-- The last lost_contact_last_calls outbound calls of each number within the look-back, as of D
-- (carried forward night to night: int_contact_point_recent_calls).
last_calls_per_number as (
    select
        contact_point_id,
        count(*) as calls,
        count(case when is_failed_call then 1 end) as failed_calls
    from {{ ref('int_contact_point_recent_calls') }}
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
