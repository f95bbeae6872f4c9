-- Contact points as known at the business date, stored once per night with indexes and
-- statistics: the queue contacts, lost contact and the compliance audit all join them, and
-- a staging view (a window over every version) would be recomputed by each of them.
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['contact_point_id'], 'unique': true}, {'columns': ['borrower_id']}],
) }}

with final as (
    select
        contact_point_id,
        borrower_id,
        kind,
        is_valid,
        is_third_party
    from {{ ref('stg_contact_points') }}
)

select * from final
