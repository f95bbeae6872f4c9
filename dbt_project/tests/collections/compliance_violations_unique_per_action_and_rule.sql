-- fct_compliance_violations has one row per action and rule (checked for the night's date
-- only, so the test's cost does not grow with history).
{{ config(tags=['collections']) }}

with final as (
    select
        action_id,
        rule,
        count(*) as rows_found
    from {{ ref('fct_compliance_violations') }}
    where business_date = {{ business_date() }}
    group by action_id, rule
    having count(*) > 1
)

select * from final
