-- Every schedule version's installments as known at the business date (§1); §2 picks the version in force.
-- Only the loans recomputed tonight (stg_loans_to_recompute): the others' snapshot rows are carried forward.
with installments_known_at_date as (
    {{ point_in_time(
        source('raw', 'installments'),
        ['loan_id', 'schedule_version', 'installment_no'],
        'upsert',
        filter=only_loans_to_recompute(),
    ) }}
),

final as (
    select
        loan_id,
        schedule_version,
        effective_from,
        installment_no,
        due_date,
        principal_due,
        interest_due,
        fee_due,
        updated_at,
        _business_date as delivered_on
    from installments_known_at_date
)

select * from final
