-- Every schedule version's installments as known at the business date (§1); §2 picks the version in force.
with installments_known_at_date as (
    {{ point_in_time(source('raw', 'installments'), ['loan_id', 'schedule_version', 'installment_no'], 'upsert') }}
),

final as (
    select
        loan_id as loan_id,
        schedule_version as schedule_version,
        effective_from as effective_from,
        installment_no as installment_no,
        due_date as due_date,
        principal_due as principal_due,
        interest_due as interest_due,
        fee_due as fee_due,
        updated_at as updated_at,
        _business_date as delivered_on
    from installments_known_at_date
)

select * from final
