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
        cast(business_date as date) as business_date,
        cast(team_id as {{ dbt.type_string() }}) as team_id,
        cast(agent_id as {{ dbt.type_string() }}) as agent_id,
        cast(agency_name as {{ dbt.type_string() }}) as agency_name,
        cast(rule as {{ dbt.type_string() }}) as rule,
        cast(count(*) as integer) as violations
    from violations_today
    group by business_date, team_id, agent_id, agency_name, rule
)

select * from final
