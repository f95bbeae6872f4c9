-- Borrowers as known at the business date, without personal data: the marts carry
-- borrower_id and non-identifying attributes only (exports read pii.borrowers directly).
with borrowers_known as (
    {{ point_in_time(source('pii', 'borrowers'), ['borrower_id'], 'upsert') }}
),

final as (
    select
        borrower_id,
        province,
        city,
        -- Field visits need an address; whether one is known is not itself identifying.
        coalesce(nullif(trim(address), '') is not null, false) as has_address,
        birth_date,
        updated_at,
        _business_date as known_since
    from borrowers_known
)

select * from final
