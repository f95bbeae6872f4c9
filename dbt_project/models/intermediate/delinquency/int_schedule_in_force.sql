-- §2 The schedule in force at D: per loan, the installments of the highest schedule_version whose
-- effective_from <= D, with what falls due on the loan before each installment (the waterfall's start).
-- Only the loans recomputed tonight (int_loans_to_recompute), read from the stored installment
-- versions by their loan index: the others' snapshot rows are carried forward.
-- The version is picked by macro schedule_version_in_force (shared with int_arrangement_states).
with installments_known_at_date as (
    select * from {{ ref('stored_installments') }}
    where {{ only_loans_to_recompute() }}
),

installments_of_version_in_force as (
    {{ schedule_version_in_force('installments_known_at_date', 'loan_id') }}
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
    from installments_of_version_in_force
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
