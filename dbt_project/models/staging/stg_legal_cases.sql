-- Legal cases as known at the business date (latest status of each referral).
with legal_cases_known as (
    {{ point_in_time(source('raw', 'legal_cases'), ['case_id'], 'upsert') }}
),

final as (
    select
        case_id,
        loan_id,
        status,
        opened_on,
        court,
        claim_amount,
        judgment_amount,
        updated_at
    from legal_cases_known
)

select * from final
