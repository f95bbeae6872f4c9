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
        effective_from,
        effective_to,
        updated_at
    from restrictions_known
)

select * from final
