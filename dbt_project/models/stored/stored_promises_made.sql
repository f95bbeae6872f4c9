-- Every promise to pay (a collection action with outcome promise_to_pay) once, at its first delivery,
-- appended by delivery date like stored_collection_actions and indexed on loan_id: int_promises_to_pay
-- reads the promises of the loans it recomputes from here, not among all their calls and messages.
-- The rows with delivered_on <= D are the promises known at D.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook='{{ reset_deliveries_of_business_date() }}',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[
        {'columns': ['action_id'], 'unique': true},
        {'columns': ['loan_id']},
        {'columns': ['action_local_date']},
    ],
) }}

{%- set stored_day = stored_until(is_incremental()) %}

with promises_delivered as (
    select
        action_id,
        loan_id,
        borrower_id,
        team_id,
        agent_id,
        channel,
        action_at,
        action_local_date,
        promised_date,
        promised_amount,
        delivered_on
    from {{ ref('stored_collection_actions') }}
    where
        outcome = 'promise_to_pay'
        -- stored_collection_actions holds each action once, so the days after the last one stored here
        -- hold exactly the promises not stored yet (normally D alone; every day on a first build).
        {% if stored_day is not none %}
            and delivered_on > cast('{{ stored_day }}' as date) and delivered_on <= {{ business_date() }}
        {% else %}
            and delivered_on <= {{ business_date() }}
        {% endif %}
)

select * from promises_delivered
