-- Compliance restrictions as known at the business date (latest version of each).
with restrictions_known as (
    {{ point_in_time(source('raw', 'restrictions'), ['restriction_id'], 'upsert') }}
),

final as (
    select
        restriction_id,
        borrower_id,
        kind,
        channel,
        -- Only a do_not_contact may name a number (business rules §5 "Per-number bars"); any other
        -- kind applies to the whole borrower whatever the column says.
        case when kind = 'do_not_contact' then contact_point_id end as contact_point_id,
        effective_from,
        effective_to,
        updated_at,
        _business_date as delivered_on
    from restrictions_known
)

select * from final
