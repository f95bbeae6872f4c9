-- Each loan as known at the business date (business rules §1): the latest version delivered on or before D.
with loans_known_at_date as (
    {{ point_in_time(source('raw', 'loans'), ['loan_id'], 'upsert') }}
),

final as (
    select
        loan_id,
        borrower_id,
        product_code,
        principal,
        coalesce(currency, 'CNY') as currency,
        annual_rate,
        term_months,
        disbursed_on,
        coalesce(status, 'active') as status,
        closed_on,
        written_off_on,
        updated_at,
        _business_date as delivered_on
    from loans_known_at_date
)

select * from final
