-- Loans that left the book on D with principal still outstanding because the source closed them
-- (docs/decisions/014): the reconciliation's explained exception `closed_with_balance`. A loan in
-- D-1's snapshot (not written off) that is absent from D's and whose status known at D is closed
-- takes its D-1 outstanding principal with it; the gate (principal_reconciles) counts that amount as
-- a movement of D, and fails on anything else that leaves. One row per loan and night, for the report.
-- The loans that left are looked up among the loans as known at D (stg_loans).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_business_date() }}",
    indexes=[{'columns': ['business_date']}],
    contract={'enforced': true},
) }}

with snapshot_yesterday as (
    select
        loan_id,
        borrower_id,
        loan_status,
        outstanding_principal
    from {{ ref('fct_loan_delinquency_daily') }}
    where
        business_date = {{ add_days(business_date(), -1) }}
        and stage <> 'written_off'
        and outstanding_principal > 0
),

snapshot_today as (
    select loan_id
    from {{ ref('fct_loan_delinquency_daily') }}
    where business_date = {{ business_date() }}
),

left_the_book as (
    select snapshot_yesterday.*
    from snapshot_yesterday
    where not exists (
        select 1 from snapshot_today
        where snapshot_today.loan_id = snapshot_yesterday.loan_id
    )
),

loans_known_at_date as (
    select
        loan_id,
        status,
        closed_on,
        delivered_on
    from {{ ref('stg_loans') }}
    where loan_id in (select left_the_book.loan_id from left_the_book)
),

final as (
    select
        cast({{ business_date() }} as date) as business_date,
        cast(left_the_book.loan_id as {{ dbt.type_string() }}) as loan_id,
        cast(left_the_book.borrower_id as {{ dbt.type_string() }}) as borrower_id,
        cast('closed_with_balance' as {{ dbt.type_string() }}) as movement,
        cast(loans_known_at_date.closed_on as date) as closed_on,
        cast(loans_known_at_date.delivered_on as date) as closure_delivered_on,
        cast(left_the_book.outstanding_principal as numeric(18, 2)) as outstanding_principal
    from left_the_book
    inner join loans_known_at_date
        on left_the_book.loan_id = loans_known_at_date.loan_id
    where loans_known_at_date.status = 'closed'
)

select * from final
