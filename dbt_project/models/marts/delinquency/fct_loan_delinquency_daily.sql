-- Published (§8): one row per loan in the snapshot and business date. Incremental by business date:
-- a night deletes and re-inserts only D's rows, so its cost does not grow with the days already built.
-- The post-hook refreshes the planner's statistics (autovacuum may not have seen D's rows yet):
-- without them every model reading D's snapshot expects one row and nests its joins (the work
-- queue's signals went quadratic in loans; docs/scaling.md). ANALYZE samples, so it stays cheap.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ replace_business_date() }}",
        post_hook='{{ analyze_relation(this) }}',
        indexes=[
            {'columns': ['business_date', 'loan_id'], 'unique': true},
            {'columns': ['loan_id', 'business_date']},
        ],
    )
}}

with loan_dpd_at_date as (
    select * from {{ ref('int_loan_dpd_at_date') }}
),

final as (
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
        cast(overdue_principal as numeric(18, 2)) as overdue_principal,
        cast(overdue_interest as numeric(18, 2)) as overdue_interest,
        cast(overdue_fee as numeric(18, 2)) as overdue_fee,
        cast(overdue_amount as numeric(18, 2)) as overdue_amount,
        cast(outstanding_principal as numeric(18, 2)) as outstanding_principal,
        cast(net_paid as numeric(18, 2)) as net_paid,
        oldest_unpaid_due_date,
        next_due_date
    from loan_dpd_at_date
)

select * from final
