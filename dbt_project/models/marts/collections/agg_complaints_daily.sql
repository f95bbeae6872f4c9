-- Complaints per borrower-local day and team (agencies as team agency:<name>), with the team's
-- outbound contacts that day and complaints per 1,000 contacts (business rules §7). A complaint
-- counts once for each team it is attributed to (fct_complaint_attributions), on its date.
-- Contacts are agg_collection_performance_daily's attempts. Rebuilt whole each night, like the
-- attributions it counts.
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    contract={'enforced': true},
) }}

with complaints_per_team as (
    select
        complaint_date as business_date,
        team_id,
        count(distinct complaint_id) as complaints
    from {{ ref('fct_complaint_attributions') }}
    group by complaint_date, team_id
),

contacts_per_team as (
    select
        business_date,
        team_id,
        sum(attempts) as contacts
    from {{ ref('agg_collection_performance_daily') }}
    where
        business_date <= {{ business_date() }}
        and team_id is not null
    group by business_date, team_id
),

final as (
    select
        cast(coalesce(complaints_per_team.business_date, contacts_per_team.business_date) as date) as business_date,
        cast(coalesce(complaints_per_team.team_id, contacts_per_team.team_id) as {{ dbt.type_string() }}) as team_id,
        cast(case
            when coalesce(complaints_per_team.team_id, contacts_per_team.team_id) like 'agency:%'
                then substr(coalesce(complaints_per_team.team_id, contacts_per_team.team_id), length('agency:') + 1)
        end as {{ dbt.type_string() }}) as agency_name,
        cast(coalesce(complaints_per_team.complaints, 0) as integer) as complaints,
        cast(coalesce(contacts_per_team.contacts, 0) as integer) as contacts,
        cast(
            1000.0 * coalesce(complaints_per_team.complaints, 0) / nullif(contacts_per_team.contacts, 0)
            as numeric(12, 3)
        ) as complaints_per_1000_contacts
    from complaints_per_team
    full outer join contacts_per_team
        on
            complaints_per_team.business_date = contacts_per_team.business_date
            and complaints_per_team.team_id = contacts_per_team.team_id
)

select * from final
