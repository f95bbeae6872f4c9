-- The overdue split adds up (§3): for every loan of D's snapshot, overdue principal + interest + fee
-- equals overdue_amount, no part is negative, outstanding principal is never negative, and a
-- loan past due owes more than the tolerance. Returns the offending rows.
select
    snapshots.business_date,
    snapshots.loan_id,
    snapshots.dpd,
    snapshots.overdue_principal,
    snapshots.overdue_interest,
    snapshots.overdue_fee,
    snapshots.overdue_amount,
    snapshots.outstanding_principal
from {{ ref('fct_loan_delinquency_daily') }} as snapshots
where
    snapshots.business_date = {{ business_date() }}
    and (
        snapshots.overdue_principal + snapshots.overdue_interest + snapshots.overdue_fee
        <> snapshots.overdue_amount
        or least(snapshots.overdue_principal, snapshots.overdue_interest, snapshots.overdue_fee) < 0
        or snapshots.outstanding_principal < 0
        or (snapshots.dpd > 0 and snapshots.overdue_amount <= {{ var('arrears_tolerance') }})
    )
