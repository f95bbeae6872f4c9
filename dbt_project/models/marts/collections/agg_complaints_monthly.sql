-- Complaints per calendar month and team (agencies as team agency:<name>) with complaints per
-- 1,000 contacts (business rules §7): the month's sums of agg_complaints_daily (both counts add up
-- over days: a complaint counts on its one date).
{{ config(
    materialized='table',
    contract={'enforced': true},
) }}

with final as (
    select
        cast({{ dbt.date_trunc('month', 'business_date') }} as date) as month_start,
        cast(team_id as {{ dbt.type_string() }}) as team_id,
        cast(agency_name as {{ dbt.type_string() }}) as agency_name,
        cast(sum(complaints) as integer) as complaints,
        cast(sum(contacts) as integer) as contacts,
        cast(1000.0 * sum(complaints) / nullif(sum(contacts), 0) as numeric(12, 3)) as complaints_per_1000_contacts
    from {{ ref('agg_complaints_daily') }}
    group by {{ dbt.date_trunc('month', 'business_date') }}, team_id, agency_name
)

select * from final
