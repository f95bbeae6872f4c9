-- Compliance restrictions as known at the business date (latest version of each).
with restrictions_known as (
    {{ point_in_time(source('raw', 'restrictions'), ['restriction_id'], 'upsert') }}
),

final as (
    select
        restriction_id as restriction_id,
        borrower_id as borrower_id,
        kind as kind,
        channel as channel,
        effective_from as effective_from,
        effective_to as effective_to,
        updated_at as updated_at
    from restrictions_known
)

select * from final
