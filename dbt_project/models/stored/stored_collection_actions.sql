-- Every collection action with its borrower-local time and outcome classes, stored once per
-- delivery date so later models read a few days of actions by index instead of all history.
-- Analysed after each night's insert: the models downstream plan their joins on its statistics.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    post_hook='{{ analyze_relation(this) }}',
    pre_hook='{{ reset_deliveries_of_business_date() }}',
    indexes=[
        {'columns': ['action_id'], 'unique': true},
        {'columns': ['delivered_on']},
        {'columns': ['action_local_date', 'borrower_id']},
        {'columns': ['contact_point_id', 'action_at']},
        {'columns': ['loan_id', 'action_local_date']},
    ],
) }}

{%- set stored_day = stored_until(is_incremental()) %}

with actions_delivered as (
    {#- The date filter runs inside the deduplication (staged_collection_actions): filtering
        the staging view instead would sort every action ever delivered, every night. An
        action is new only if it is not stored already (first delivery wins): one probe of the
        stored table's unique index, not one per delivered date's partition. -#}
    {% if stored_day is not none %}
        {{ staged_collection_actions(filter=delivered_since_and_not_stored(stored_day, 'action_id')) }}
    {% else %}
        {{ staged_collection_actions() }}
    {% endif %}
),

actions_local as (
    select
        actions_delivered.*,
        -- Borrower-local time: every borrower is in the source time zone (mainland China).
        {{ local_timestamp('actions_delivered.action_at') }} as action_local_at
    from actions_delivered
),

final as (
    select
        actions_local.action_id,
        actions_local.loan_id,
        actions_local.borrower_id,
        actions_local.contact_point_id,
        actions_local.action_at,
        actions_local.action_local_at,
        cast(actions_local.action_local_at as date) as action_local_date,
        cast(actions_local.action_local_at as time) as action_local_time,
        actions_local.channel,
        actions_local.direction,
        actions_local.team_id,
        -- Agencies act as team `agency:<name>`; the compliance officer counts per agency.
        case
            when actions_local.team_id like 'agency:%' then substr(actions_local.team_id, length('agency:') + 1)
        end as agency_name,
        actions_local.agent_id,
        actions_local.outcome,
        coalesce(action_outcomes.is_right_party_contact, false) as is_right_party_contact,
        coalesce(action_outcomes.is_connected, false) as is_connected,
        coalesce(action_outcomes.is_unanswered, false) as is_unanswered,
        coalesce(action_outcomes.is_failed_call, false) as is_failed_call,
        actions_local.promised_amount,
        actions_local.promised_date,
        actions_local.collectors_present,
        actions_local.delivered_on
    from actions_local
    left join {{ ref('action_outcomes') }} as action_outcomes
        on actions_local.outcome = action_outcomes.outcome
)

select * from final
