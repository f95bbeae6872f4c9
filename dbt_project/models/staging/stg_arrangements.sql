-- Repayment plans, restructures and settlements as known at the business date.
with arrangements_known as (
    {{ point_in_time(source('raw', 'arrangements'), ['arrangement_id'], 'upsert') }}
),

final as (
    select
        arrangement_id as arrangement_id,
        loan_id as loan_id,
        kind as kind,
        agreed_on as agreed_on,
        status as status,
        new_schedule_version as new_schedule_version,
        updated_at as updated_at
    from arrangements_known
)

select * from final
