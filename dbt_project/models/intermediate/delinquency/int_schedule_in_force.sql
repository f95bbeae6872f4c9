-- §2 The schedule in force at D: per loan, the installments of the highest schedule_version whose
-- effective_from <= D, with what falls due on the loan before each installment (the waterfall's start).
with installments_known_at_date as (
    select * from {{ ref('stg_installments') }}
),

schedule_versions as (
    select
        loan_id,
        schedule_version,
        min(effective_from) as effective_from
    from installments_known_at_date
    group by loan_id, schedule_version
),

version_in_force as (
    select distinct on (loan_id)
        loan_id,
        schedule_version,
        effective_from
    from schedule_versions
    where effective_from <= {{ business_date() }}
    order by loan_id asc, schedule_version desc
),

installments_in_force as (
    select
        installments_known_at_date.loan_id,
        installments_known_at_date.schedule_version,
        version_in_force.effective_from as version_effective_from,
        installments_known_at_date.installment_no,
        installments_known_at_date.due_date,
        installments_known_at_date.fee_due,
        installments_known_at_date.interest_due,
        installments_known_at_date.principal_due,
        installments_known_at_date.fee_due
        + installments_known_at_date.interest_due
        + installments_known_at_date.principal_due as total_due
    from installments_known_at_date
    inner join version_in_force
        on
            installments_known_at_date.loan_id = version_in_force.loan_id
            and installments_known_at_date.schedule_version = version_in_force.schedule_version
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
