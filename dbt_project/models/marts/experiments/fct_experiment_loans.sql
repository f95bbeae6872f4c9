-- §10 What became of each loan an experiment took in, once its outcome window has passed: on night D, the
-- loans that entered an experiment on E = D - experiment_outcome_days (in the experiment's queue at E,
-- not at E-1; on an experiment's first night every loan enters), with their arm and what happened in
-- (E, D] as known at D: contacts, right-party contacts, promises (kept / decided), money collected,
-- cured (DPD 0 or paid off at D), rolled (a later bucket at D than at E). Intent to treat: a loan counts
-- in its arm whatever the arm did to it (held rows too).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_business_date() }}",
    indexes=[{'columns': ['business_date']}, {'columns': ['experiment_id', 'arm_id']}],
    contract={'enforced': true},
) }}

{%- set entered_on = add_days(business_date(), '-' ~ var('experiment_outcome_days')) %}
{%- set day_before = add_days(entered_on, -1) %}

with queue_at_entry as (
    select
        loan_id,
        experiment_id,
        arm_id,
        team_id,
        dpd
    from {{ ref('fct_work_queue') }}
    where
        business_date = {{ entered_on }}
        and experiment_id is not null
),

queue_day_before as (
    select
        loan_id,
        experiment_id
    from {{ ref('fct_work_queue') }}
    where
        business_date = {{ day_before }}
        and experiment_id is not null
),

arms as (
    {{ experiment_arms_relation() }}
),

entries as (
    select
        queue_at_entry.*,
        coalesce(arms.is_champion, false) as is_champion
    from queue_at_entry
    left join arms
        on
            queue_at_entry.experiment_id = arms.experiment_id
            and queue_at_entry.arm_id = arms.arm_id
    left join queue_day_before
        on
            queue_at_entry.loan_id = queue_day_before.loan_id
            and queue_at_entry.experiment_id = queue_day_before.experiment_id
    where queue_day_before.loan_id is null
),

snapshot_at_entry as (
    select
        loan_id,
        bucket_order
    from {{ ref('fct_loan_delinquency_daily') }}
    where business_date = {{ entered_on }}
),

snapshot_now as (
    select
        loan_id,
        dpd,
        bucket_order
    from {{ ref('fct_loan_delinquency_daily') }}
    where business_date = {{ business_date() }}
),

actions_in_window as (
    select
        actions.loan_id,
        count(case when actions.direction is distinct from 'inbound' then 1 end) as contacts,
        count(case when actions.is_right_party_contact then 1 end) as right_party_contacts,
        count(case when actions.outcome = 'promise_to_pay' then 1 end) as promises_made
    from {{ ref('stored_collection_actions') }} as actions
    inner join entries
        on actions.loan_id = entries.loan_id
    where
        actions.delivered_on <= {{ business_date() }}
        and actions.action_local_date > {{ entered_on }}
        and actions.action_local_date <= {{ business_date() }}
    group by actions.loan_id
),

-- Promises made in the window whose fate is known at D (superseded ones never fell due).
promises_in_window as (
    select
        promises.loan_id,
        count(case when promises.kept_on <= {{ business_date() }} then 1 end) as promises_kept,
        count(
            case
                when promises.kept_on <= {{ business_date() }} or promises.broken_on <= {{ business_date() }} then 1
            end
        ) as promises_decided
    from {{ ref('fct_promises_to_pay') }} as promises
    inner join entries
        on promises.loan_id = entries.loan_id
    where
        promises.promised_on > {{ entered_on }}
        and promises.promised_on <= {{ business_date() }}
        and promises.status <> 'superseded'
    group by promises.loan_id
),

-- Net money valued in the window, as delivered by D: a reversal known by D cancels its payment.
payments_in_window as (
    select
        payments.loan_id,
        sum(case when payments.reversal_of is null then payments.amount else -payments.amount end) as collected
    from {{ ref('stored_payments') }} as payments
    inner join entries
        on payments.loan_id = entries.loan_id
    where
        payments.delivered_on <= {{ business_date() }}
        and payments.value_date > {{ entered_on }}
        and payments.value_date <= {{ business_date() }}
    group by payments.loan_id
),

final as (
    select
        {{ business_date() }} as business_date,
        cast({{ entered_on }} as date) as entered_on,
        cast(entries.experiment_id as {{ dbt.type_string() }}) as experiment_id,
        cast(entries.arm_id as {{ dbt.type_string() }}) as arm_id,
        entries.is_champion,
        cast(entries.loan_id as {{ dbt.type_string() }}) as loan_id,
        cast(entries.team_id as {{ dbt.type_string() }}) as team_id,
        cast(entries.dpd as integer) as dpd_at_entry,
        cast(coalesce(actions_in_window.contacts, 0) as integer) as contacts,
        cast(coalesce(actions_in_window.right_party_contacts, 0) as integer) as right_party_contacts,
        cast(coalesce(actions_in_window.promises_made, 0) as integer) as promises_made,
        cast(coalesce(promises_in_window.promises_kept, 0) as integer) as promises_kept,
        cast(coalesce(promises_in_window.promises_decided, 0) as integer) as promises_decided,
        cast(coalesce(payments_in_window.collected, 0) as numeric(18, 2)) as collected_amount,
        entries.dpd > 0 as was_delinquent,
        entries.dpd > 0 and coalesce(snapshot_now.dpd = 0, true) as is_cured,
        coalesce(snapshot_now.bucket_order > snapshot_at_entry.bucket_order, false) as has_rolled
    from entries
    left join snapshot_at_entry
        on entries.loan_id = snapshot_at_entry.loan_id
    left join snapshot_now
        on entries.loan_id = snapshot_now.loan_id
    left join actions_in_window
        on entries.loan_id = actions_in_window.loan_id
    left join promises_in_window
        on entries.loan_id = promises_in_window.loan_id
    left join payments_in_window
        on entries.loan_id = payments_in_window.loan_id
)

select * from final
