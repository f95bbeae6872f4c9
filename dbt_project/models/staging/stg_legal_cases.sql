-- Legal cases as known at the business date (latest status of each referral).
with legal_cases_known as (
    {{ point_in_time(source('raw', 'legal_cases'), ['case_id'], 'upsert') }}
),

final as (
    select
        case_id as case_id,
        loan_id as loan_id,
        status as status,
        opened_on as opened_on,
        court as court,
        claim_amount as claim_amount,
        judgment_amount as judgment_amount,
        updated_at as updated_at
    from legal_cases_known
)

select * from final
