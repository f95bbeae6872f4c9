-- Every collection action delivered on the business date that broke a contact rule (business
-- rules §7), one row per action and rule, for the compliance officer's morning review: the rules
-- judged from the actions alone (int_contact_rule_violations) and outside_placement, which needs the
-- agency placements. The placements read the other rules for misconduct, so this model comes after
-- them (decision 033). Rule names are fixed (the simulator's ground truth uses them): see
-- docs/work-queue.md and docs/agencies.md.
{{ config(
    post_hook='{{ analyze_relation(this) }}',
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_business_date() }}",
    indexes=[{'columns': ['business_date']}, {'columns': ['action_id']}],
    contract={'enforced': true},
) }}

with contact_rule_violations as (
    select * from {{ ref('int_contact_rule_violations') }}
),

-- outside_placement: an agency's outbound action (unknown direction counts as outbound) delivered
-- today on a loan not placed with that agency on its local date X. Tonight's placements were built
-- first; for X <= D they answer as the night before's would (placements made on D never cover X,
-- recalls made on D leave X covered: decision 024).
outside_placement as (
    select {{ compliance_violation_columns('actions', "'outside_placement'") }}
    from {{ ref('stored_collection_actions') }} as actions
    where
        actions.delivered_on = {{ business_date() }}
        and actions.direction is distinct from 'inbound'
        and {{ is_outside_placement('actions', ref('fct_agency_placements')) }}
),

final as (
    select * from contact_rule_violations
    union all
    select * from outside_placement
)

select * from final
