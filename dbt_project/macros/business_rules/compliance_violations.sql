{#- The columns of a compliance violation (§7), as fct_compliance_violations' contract types them: the
    action `action` (an alias of stored_collection_actions) that broke `rule` (an expression), judged
    on the business date. Shared by int_contact_rule_violations and fct_compliance_violations. -#}
{% macro compliance_violation_columns(action, rule) -%}
    cast({{ action }}.action_id as {{ dbt.type_string() }}) as action_id,
    {{ business_date() }} as business_date,
    cast({{ rule }} as {{ dbt.type_string() }}) as rule,
    cast({{ action }}.team_id as {{ dbt.type_string() }}) as team_id,
    cast({{ action }}.agent_id as {{ dbt.type_string() }}) as agent_id,
    cast({{ action }}.agency_name as {{ dbt.type_string() }}) as agency_name,
    cast({{ action }}.loan_id as {{ dbt.type_string() }}) as loan_id,
    cast({{ action }}.borrower_id as {{ dbt.type_string() }}) as borrower_id,
    cast({{ action }}.channel as {{ dbt.type_string() }}) as channel,
    cast({{ action }}.action_at as {{ type_timestamp_tz() }}) as action_at,
    cast({{ action }}.action_local_date as date) as action_local_date
{%- endmacro %}
