-- Every loan version delivered on or before the business date, not deduplicated: which loans a
-- delivery or a date named (the recompute scope, int_loans_to_recompute). stg_loans is the version known at D.
with final as (
    select
        loan_id,
        status,
        disbursed_on,
        closed_on,
        written_off_on,
        _business_date as delivered_on
    from {{ source('raw', 'loans') }}
    where _business_date <= {{ business_date() }}
)

select * from final
