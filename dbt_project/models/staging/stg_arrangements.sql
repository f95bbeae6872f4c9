-- Repayment plans, restructures and settlements as known at the business date.
with arrangements_known as (
    {{ point_in_time(source('raw', 'arrangements'), ['arrangement_id'], 'upsert') }}
),

final as (
    select
        arrangement_id,
        loan_id,
        kind,
        agreed_on,
        status,
        new_schedule_version,
        settlement_amount,
        settle_by,
        updated_at,
        _business_date as delivered_on
    from arrangements_known
)

select * from final
