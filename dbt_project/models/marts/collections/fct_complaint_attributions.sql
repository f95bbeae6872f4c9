-- Each complaint (restriction kind `complaint`, dated by effective_from) attributed to every team,
-- agent and agency with an outbound action on the borrower's loans in the 7 borrower-local days up
-- to and including the complaint date, C-6 .. C (business rules §7), as known at the business date. Rebuilt
-- whole each night: complaints are few, and a complaint dated later than its delivery (or a late
-- delivery of actions) changes its attribution, so no night's rows are final.
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['complaint_date', 'team_id']}],
    contract={'enforced': true},
) }}

-- From the analysed table of restrictions known at D, not the staging view: planned on the view's guess
-- of one complaint, each complaint probed a week of every borrower's actions by index; on the true
-- count the actions are hashed once (figures: docs/scaling.md).
with complaints as {{ cte_computed_first() }} (
    select
        restriction_id as complaint_id,
        borrower_id,
        effective_from as complaint_date
    from {{ ref('int_restrictions_known') }}
    where
        kind = 'complaint'
        and effective_from <= {{ business_date() }}
),

-- Outbound = not inbound, as in the audit. Actions delivered after D are not known yet.
actions_in_window as (
    select
        complaints.complaint_id,
        complaints.borrower_id,
        complaints.complaint_date,
        actions.team_id,
        actions.agent_id,
        actions.agency_name,
        actions.action_at
    from complaints
    inner join {{ ref('stored_collection_actions') }} as actions
        on
            complaints.borrower_id = actions.borrower_id
            and actions.action_local_date
            between {{ add_days('complaints.complaint_date', '-6') }}
            and complaints.complaint_date
    where
        actions.delivered_on <= {{ business_date() }}
        and actions.direction is distinct from 'inbound'
        and actions.team_id is not null
),

final as (
    select
        cast(complaint_id as {{ dbt.type_string() }}) as complaint_id,
        cast(borrower_id as {{ dbt.type_string() }}) as borrower_id,
        cast(complaint_date as date) as complaint_date,
        cast(team_id as {{ dbt.type_string() }}) as team_id,
        cast(agent_id as {{ dbt.type_string() }}) as agent_id,
        cast(agency_name as {{ dbt.type_string() }}) as agency_name,
        cast(count(*) as integer) as contacts_in_window,
        cast(max(action_at) as {{ type_timestamp_tz() }}) as last_contact_at
    from actions_in_window
    group by complaint_id, borrower_id, complaint_date, team_id, agent_id, agency_name
)

select * from final
