-- Every version of every legal case delivered up to the business date, once each (a version
-- redelivered unchanged counts once): the history of statuses the legal pipeline is dated from.
with versions_known as (
    select
        case_id,
        loan_id,
        status,
        opened_on,
        claim_amount,
        judgment_amount,
        updated_at,
        min(_business_date) as first_delivered_on
    from {{ source('raw', 'legal_cases') }}
    where _business_date <= {{ business_date() }}
    group by case_id, loan_id, status, opened_on, claim_amount, judgment_amount, updated_at
),

final as (
    select
        case_id,
        loan_id,
        status,
        opened_on,
        claim_amount,
        judgment_amount,
        updated_at,
        {{ local_date('updated_at') }} as updated_on,
        first_delivered_on
    from versions_known
)

select * from final
