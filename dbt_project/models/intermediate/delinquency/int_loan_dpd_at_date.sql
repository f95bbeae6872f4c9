-- §3-4 Per loan recomputed for D (int_loans_to_recompute; the snapshot carries the others forward):
-- days past due, the overdue split, outstanding principal, and the classification every snapshot row
-- gets (bucket, stage, regulatory class: macro classify_delinquency).
with loans_in_snapshot as (
    select * from {{ ref('int_loans_in_snapshot') }}
),

installment_allocation as (
    select * from {{ ref('int_installment_allocation') }}
),

dpd_buckets as (
    select * from {{ ref('dpd_buckets') }}
),

regulatory_classes as (
    select * from {{ ref('regulatory_classes') }}
),

installments_summed as (
    select
        loan_id,
        max(schedule_version) as schedule_version,
        max(net_paid) as net_paid,
        min(case when not is_paid then due_date end) as oldest_unpaid_due_date,
        min(case when not is_paid and due_date >= {{ business_date() }} then due_date end) as next_due_date,
        -- Any remainder, even one within the tolerance, counts in the overdue split once its installment
        -- is past due: the snapshot carries a loan whose installment falls due without one (decision 010).
        min(case when unpaid_remainder > 0 then due_date end) as oldest_unsettled_due_date,
        -- An installment due on D itself does not make the loan pre_due (§4).
        coalesce({{ dbt.bool_or(
            'not is_paid'
            ~ ' and due_date > ' ~ business_date()
            ~ ' and due_date <= ' ~ add_days(business_date(), var('predue_days'))
        ) }}, false) as has_unpaid_installment_due_soon,
        coalesce(sum(case when due_date < {{ business_date() }} then principal_due - principal_allocated end), 0)
            as overdue_principal,
        coalesce(sum(case when due_date < {{ business_date() }} then interest_due - interest_allocated end), 0)
            as overdue_interest,
        coalesce(sum(case when due_date < {{ business_date() }} then fee_due - fee_allocated end), 0)
            as overdue_fee,
        sum(principal_due) - sum(principal_allocated) as outstanding_principal
    from installment_allocation
    group by loan_id
),

loan_dpd as (
    select
        loans_in_snapshot.*,
        installments_summed.schedule_version,
        coalesce(installments_summed.net_paid, 0) as net_paid,
        installments_summed.oldest_unpaid_due_date,
        installments_summed.next_due_date,
        installments_summed.oldest_unsettled_due_date,
        coalesce(installments_summed.has_unpaid_installment_due_soon, false) as has_unpaid_installment_due_soon,
        coalesce(installments_summed.overdue_principal, 0) as overdue_principal,
        coalesce(installments_summed.overdue_interest, 0) as overdue_interest,
        coalesce(installments_summed.overdue_fee, 0) as overdue_fee,
        -- A loan without a schedule in force yet owes its whole principal.
        coalesce(installments_summed.outstanding_principal, loans_in_snapshot.principal) as outstanding_principal,
        {{ days_past_due('installments_summed.oldest_unpaid_due_date') }} as dpd
    from loans_in_snapshot
    left join installments_summed
        on loans_in_snapshot.loan_id = installments_summed.loan_id
),

loan_dpd_classified as (
    {{ classify_delinquency(
        'loan_dpd',
        'loan_dpd.dpd',
        'loan_dpd.is_written_off',
        'loan_dpd.has_unpaid_installment_due_soon',
        'dpd_buckets',
        'regulatory_classes',
    ) }}
),

final as (
    select
        {{ business_date() }} as business_date,
        loan_id,
        borrower_id,
        product_code,
        loan_status,
        disbursed_on,
        principal,
        schedule_version,
        dpd,
        bucket,
        bucket_order,
        stage,
        regulatory_class,
        is_charge_off_candidate,
        cast(overdue_principal as numeric(18, 2)) as overdue_principal,
        cast(overdue_interest as numeric(18, 2)) as overdue_interest,
        cast(overdue_fee as numeric(18, 2)) as overdue_fee,
        cast(overdue_principal + overdue_interest + overdue_fee as numeric(18, 2)) as overdue_amount,
        cast(outstanding_principal as numeric(18, 2)) as outstanding_principal,
        cast(net_paid as numeric(18, 2)) as net_paid,
        oldest_unpaid_due_date,
        next_due_date,
        oldest_unsettled_due_date
    from loan_dpd_classified
)

select * from final
