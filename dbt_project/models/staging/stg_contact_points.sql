-- Contact points (phone numbers) as known at the business date, without the number itself.
with contact_points_known as (
    {{ point_in_time(source('pii', 'contact_points'), ['contact_point_id'], 'upsert') }}
),

final as (
    select
        contact_points_known.contact_point_id,
        contact_points_known.borrower_id,
        contact_points_known.kind,
        contact_points_known.relationship,
        -- A number is usable until the source says it is wrong (NULL = not known to be wrong).
        coalesce(contact_points_known.is_valid, true) as is_valid,
        coalesce(contact_point_kinds.is_third_party, false) as is_third_party,
        contact_points_known.updated_at
    from contact_points_known
    left join {{ ref('contact_point_kinds') }} as contact_point_kinds
        on contact_points_known.kind = contact_point_kinds.kind
)

select * from final
