-- Every installment row delivered on or before the business date, not deduplicated: which loans a
-- schedule delivery or a due date named (the recompute scope, int_loans_to_recompute).
-- stg_installments is the version known at D.
with final as (
    select
        loan_id,
        effective_from,
        due_date,
        _business_date as delivered_on
    from {{ source('raw', 'installments') }}
    where _business_date <= {{ business_date() }}
)

select * from final
