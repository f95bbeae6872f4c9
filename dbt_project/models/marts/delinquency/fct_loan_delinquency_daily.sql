-- Published (§8): the delinquency snapshot, one row per loan in the snapshot and business date. A view
-- over the stored state (int_loan_delinquency_daily, incremental and carried forward): downstream teams
-- read this name, the contract fixes its columns and types.
{{ config(materialized='view') }}

with final as (
    select
        business_date,
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
        overdue_principal,
        overdue_interest,
        overdue_fee,
        overdue_amount,
        outstanding_principal,
        net_paid,
        oldest_unpaid_due_date,
        next_due_date,
        oldest_unsettled_due_date
    from {{ ref('int_loan_delinquency_daily') }}
)

select * from final
