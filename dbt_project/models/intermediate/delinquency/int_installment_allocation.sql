-- §3 The allocation waterfall at D: the loan's net paid (towards the schedule in force) fills the
-- installments oldest first and, within each, fee -> interest -> principal; money beyond what is
-- due so far prepays the next installments in the same order.
with schedule_in_force as (
    select * from {{ ref('int_schedule_in_force') }}
),

signed_payments as (
    select * from {{ ref('int_payments_signed') }}
),

versions_in_force as (
    select distinct
        loan_id,
        version_effective_from
    from schedule_in_force
),

net_paid_by_loan as (
    select
        versions_in_force.loan_id,
        -- Reversals of payments delivered before the payment itself cannot drive it below zero.
        cast(greatest(sum(signed_payments.signed_amount), 0) as numeric(18, 2)) as net_paid
    from versions_in_force
    inner join signed_payments
        on
            versions_in_force.loan_id = signed_payments.loan_id
            and signed_payments.counts_from <= {{ business_date() }}
            and versions_in_force.version_effective_from <= signed_payments.belongs_to_date
    group by versions_in_force.loan_id
),

money_reaching_installment as (
    select
        schedule_in_force.*,
        coalesce(net_paid_by_loan.net_paid, 0.00) as net_paid,
        greatest(coalesce(net_paid_by_loan.net_paid, 0) - schedule_in_force.due_before, 0) as available
    from schedule_in_force
    left join net_paid_by_loan
        on schedule_in_force.loan_id = net_paid_by_loan.loan_id
),

final as (
    select
        loan_id,
        schedule_version,
        version_effective_from,
        installment_no,
        due_date,
        fee_due,
        interest_due,
        principal_due,
        total_due,
        net_paid,
        cast(least(fee_due, available) as numeric(18, 2)) as fee_allocated,
        cast(least(interest_due, greatest(available - fee_due, 0)) as numeric(18, 2)) as interest_allocated,
        cast(least(principal_due, greatest(available - fee_due - interest_due, 0)) as numeric(18, 2))
            as principal_allocated,
        -- Unpaid remainder of the whole installment; paid when <= arrears_tolerance.
        cast(total_due - least(total_due, available) as numeric(18, 2)) as unpaid_remainder,
        total_due - least(total_due, available) <= {{ var('arrears_tolerance') }} as is_paid
    from money_reaching_installment
)

select * from final
