-- Every active or written-off loan that is pre-due or delinquent at D has exactly one queue row
-- for D, and nothing else is queued (business rules §5).
{{ config(tags=['collections']) }}

with queued as (
    select
        loan_id,
        count(*) as queue_rows
    from {{ ref('fct_work_queue') }}
    where business_date = {{ business_date() }}
    group by loan_id
),

in_scope as (
    select loan_id
    from {{ ref('fct_loan_delinquency_daily') }}
    where
        business_date = {{ business_date() }}
        and stage in ({{ "'" ~ var('queue_stages') | join("', '") ~ "'" }})
        -- pre-due or delinquent: a written-off loan whose recoveries cleared its arrears is neither
        and (stage = 'pre_due' or dpd >= 1)
),

final as (
    select
        coalesce(in_scope.loan_id, queued.loan_id) as loan_id,
        coalesce(queued.queue_rows, 0) as queue_rows,
        in_scope.loan_id is not null as is_in_scope
    from in_scope
    full outer join queued
        on in_scope.loan_id = queued.loan_id
    where
        in_scope.loan_id is null
        or queued.queue_rows is distinct from 1
)

select * from final
