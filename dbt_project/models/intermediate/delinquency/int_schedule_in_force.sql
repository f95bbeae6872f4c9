-- §2 The schedule in force at D: per loan, the installments of the highest schedule_version whose
-- effective_from <= D, with what falls due on the loan before each installment (the waterfall's start).
-- Only the loans recomputed tonight (int_loans_to_recompute), read from the stored installment
-- versions by their loan index: the others' snapshot rows are carried forward.
-- Window functions pick the version in one pass: no self-join of the schedule.
with installments_known_at_date as (
    select * from {{ ref('stored_installments') }}
    where {{ only_loans_to_recompute() }}
),

installments_with_version_start as (
    select
        installments_known_at_date.*,
        -- A version starts on the earliest effective_from among its rows.
        min(installments_known_at_date.effective_from) over (
            partition by installments_known_at_date.loan_id, installments_known_at_date.schedule_version
        ) as version_effective_from
    from installments_known_at_date
),

installments_with_version_in_force as (
    select
        installments_with_version_start.*,
        max(
            case
                when installments_with_version_start.version_effective_from <= {{ business_date() }}
                    then installments_with_version_start.schedule_version
            end
        ) over (partition by installments_with_version_start.loan_id) as version_in_force
    from installments_with_version_start
),

installments_in_force as (
    select
        loan_id,
        schedule_version,
        version_effective_from,
        installment_no,
        due_date,
        fee_due,
        interest_due,
        principal_due,
        fee_due + interest_due + principal_due as total_due
    from installments_with_version_in_force
    where schedule_version = version_in_force
),

final as (
    select
        installments_in_force.*,
        -- Oldest due date first, then installment_no (§3): everything ahead of this installment.
        cast(coalesce(sum(installments_in_force.total_due) over (
            partition by installments_in_force.loan_id
            order by installments_in_force.due_date asc, installments_in_force.installment_no asc
            rows between unbounded preceding and 1 preceding
        ), 0) as numeric(18, 2)) as due_before
    from installments_in_force
)

select * from final
