-- Violations per business date, team, agent, agency and rule, with the actions the audit judged for
-- that team, agent and agency and the rate per 1,000 of them (business rules §7): the compliance
-- officer's morning summary of fct_compliance_violations. The denominator is the night's audited
-- population (outbound or unknown-direction actions delivered on D, as in fct_compliance_violations),
-- so a rate never exceeds 1,000 and a late delivery counts in numerator and denominator the same night.
-- A group that acted without breaking a rule has one row with rule NULL and 0 violations (docs/work-queue.md).
-- append_new_columns: a warehouse built before `actions` existed keeps its nights (NULL there).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ replace_business_date() }}",
    indexes=[{'columns': ['business_date']}],
    contract={'enforced': true},
) }}

with violations_per_rule as (
    select
        team_id,
        agent_id,
        agency_name,
        rule,
        count(*) as violations
    from {{ ref('fct_compliance_violations') }}
    where business_date = {{ business_date() }}
    group by team_id, agent_id, agency_name, rule
),

-- The actions the audit judged tonight (same filter as fct_compliance_violations), by the delivered_on index.
actions_audited as (
    select
        team_id,
        agent_id,
        agency_name,
        count(*) as actions
    from {{ ref('stored_collection_actions') }}
    where
        delivered_on = {{ business_date() }}
        and direction is distinct from 'inbound'
    group by team_id, agent_id, agency_name
),

-- The groups that acted or broke a rule (by construction every violation's action was audited; the union
-- keeps a violation whose action is missing visible, with NULL actions, rather than dropping it).
groups as (
    select
        team_id,
        agent_id,
        agency_name
    from actions_audited
    union
    select
        team_id,
        agent_id,
        agency_name
    from violations_per_rule
),

-- Every rule the group broke, or one row with rule NULL and 0 violations for a group that broke none.
rows_per_group as (
    select
        groups.team_id,
        groups.agent_id,
        groups.agency_name,
        violations_per_rule.rule,
        coalesce(violations_per_rule.violations, 0) as violations,
        actions_audited.actions
    from groups
    left join violations_per_rule
        on
            groups.team_id is not distinct from violations_per_rule.team_id
            and groups.agent_id is not distinct from violations_per_rule.agent_id
            and groups.agency_name is not distinct from violations_per_rule.agency_name
    left join actions_audited
        on
            groups.team_id is not distinct from actions_audited.team_id
            and groups.agent_id is not distinct from actions_audited.agent_id
            and groups.agency_name is not distinct from actions_audited.agency_name
),

final as (
    select
        {{ business_date() }} as business_date,
        cast(team_id as {{ dbt.type_string() }}) as team_id,
        cast(agent_id as {{ dbt.type_string() }}) as agent_id,
        cast(agency_name as {{ dbt.type_string() }}) as agency_name,
        cast(rule as {{ dbt.type_string() }}) as rule,
        cast(violations as integer) as violations,
        cast(actions as integer) as actions,
        cast(1000.0 * violations / actions as numeric(12, 3)) as violations_per_1000_actions
    from rows_per_group
)

select * from final
