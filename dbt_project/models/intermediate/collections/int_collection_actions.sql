-- Every collection action with its borrower-local time and outcome classes, stored once per
-- delivery date so later models read a few days of actions by index instead of all history.
-- Analysed after each night's insert: the models downstream plan their joins on its statistics.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    post_hook='{{ analyze_relation(this) }}',
    pre_hook="{{ replace_business_date('delivered_on') }}",
    indexes=[
        {'columns': ['delivered_on']},
        {'columns': ['action_local_date', 'borrower_id']},
        {'columns': ['contact_point_id', 'action_at']},
        {'columns': ['loan_id', 'action_local_date']},
    ],
) }}

with actions_delivered as (
    select *
    from {{ ref('stg_collection_actions') }}
    where
        delivered_on <= {{ business_date() }}
        {% if is_incremental() %}
            -- D's deliveries, plus any after the last night built before D: a skipped night
            -- is caught up instead of leaving a hole (max() reads one index entry).
            and delivered_on > coalesce(
                (
                    select max(built.delivered_on)
                    from {{ this }} as built
                    where built.delivered_on < {{ business_date() }}
                ),
                -- (no delivery predates year 1; '-infinity' is PostgreSQL's)
                cast('0001-01-01' as date)
            )
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
