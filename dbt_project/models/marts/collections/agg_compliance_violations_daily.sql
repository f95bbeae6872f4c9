-- Violations per business date, team, agent, agency and rule: the compliance officer's
-- morning summary of fct_compliance_violations.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_business_date() }}",
    indexes=[{'columns': ['business_date']}],
    contract={'enforced': true},
) }}

with violations_today as (
    select *
    from {{ ref('fct_compliance_violations') }}
    where business_date = {{ business_date() }}
),

final as (
    select
        business_date::date as business_date,
        team_id::text as team_id,
        agent_id::text as agent_id,
        agency_name::text as agency_name,
        rule::text as rule,
        count(*)::integer as violations
    from violations_today
    group by business_date, team_id, agent_id, agency_name, rule
)

select * from final
