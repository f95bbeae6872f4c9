-- The loans recomputed tonight (int_loans_to_recompute) that are in the snapshot of D (§4): disbursed by
-- D, and not closed before D (a loan closed on D is still in D's snapshot and leaves it the day after).
with loans_known_at_date as (
    select * from {{ ref('stg_loans') }}
    where {{ only_loans_to_recompute() }}
),

closure_dates as (
    select
        loans_known_at_date.*,
        -- A closed/written-off status without its date counts from the day it was delivered.
        case
            when loans_known_at_date.status = 'closed'
                then coalesce(loans_known_at_date.closed_on, loans_known_at_date.delivered_on)
        end as closed_from,
        case
            when loans_known_at_date.status = 'written_off'
                then coalesce(loans_known_at_date.written_off_on, loans_known_at_date.delivered_on)
        end as written_off_from
    from loans_known_at_date
),

final as (
    select
        loan_id,
        borrower_id,
        product_code,
        principal,
        disbursed_on,
        case
            when closed_from <= {{ business_date() }} then 'closed'
            when written_off_from <= {{ business_date() }} then 'written_off'
            else 'active'
        end as loan_status,
        coalesce(written_off_from <= {{ business_date() }}, false) as is_written_off
    from closure_dates
    where
        disbursed_on <= {{ business_date() }}
        and not coalesce(closed_from < {{ business_date() }}, false)
)

select * from final
