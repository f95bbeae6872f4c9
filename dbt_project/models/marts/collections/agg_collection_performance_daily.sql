-- Team performance per borrower-local day, team, agent and channel (business rules §6):
-- attempts, right-party contacts, promises, the kept rate of promises falling due that day, and
-- the money collected that day attributed to the last right-party contact in the 7 days before.
-- Money no contact can claim is reported with team, agent and channel NULL.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_business_date() }}",
    indexes=[{'columns': ['business_date', 'team_id']}],
    contract={'enforced': true},
) }}

{%- set attribution_start = dbt.dateadd(
    'day', '-' ~ var('attribution_days'), 'payments_collected_today.received_at'
) %}

with actions_today as (
    select
        team_id,
        agent_id,
        channel,
        direction,
        is_right_party_contact,
        outcome
    from {{ ref('stored_collection_actions') }}
    where
        delivered_on <= {{ business_date() }}
        and action_local_date = {{ business_date() }}
),

activity as (
    select
        team_id,
        agent_id,
        channel,
        count(case when direction is distinct from 'inbound' then 1 end) as attempts,
        count(case when is_right_party_contact then 1 end) as rpc,
        count(case when outcome = 'promise_to_pay' then 1 end) as ptp
    from actions_today
    group by team_id, agent_id, channel
),

-- Promises whose window ends today, by who took them (superseded ones never fell due).
promises_falling_due as (
    select
        team_id,
        agent_id,
        channel,
        count(*) as promises_due,
        count(case when status = 'kept' then 1 end) as promises_kept
    from {{ ref('fct_promises_to_pay') }}
    where
        window_ends_on = {{ business_date() }}
        and status <> 'superseded'
    group by team_id, agent_id, channel
),

-- The payments known at D (stored once each, stored_payments) valued on D and not reversed by a
-- reversal known at D and valued by D: read by the value_date and reversal_of indexes, not by
-- scanning every payment ever delivered (`not materialized`: each use keeps its own index scan).
payments_known as {{ cte_inlined() }} (
    {{ payments_known_at_business_date(ref('stored_payments'), extra_columns=['received_at']) }}
),

payments_collected_today as (
    select
        payments.payment_id,
        payments.loan_id,
        payments.received_at,
        payments.amount
    from payments_known as payments
    where
        payments.value_date = {{ business_date() }}
        and {{ is_unreversed_payment('payments', 'payments_known') }}
),

-- Each payment with the right-party contacts on its loan in the attribution window before it,
-- latest first. The local-date bounds follow from the action_at bounds (a day of slack for a
-- time zone whose clocks change at midnight) and let the (loan_id, action_local_date) index bound
-- the look-up to the window instead of the loan's whole history.
rpc_before_payment as (
    select
        payments_collected_today.payment_id,
        payments_collected_today.amount,
        rpc_actions.team_id,
        rpc_actions.agent_id,
        rpc_actions.channel,
        row_number() over (
            partition by payments_collected_today.payment_id
            order by rpc_actions.action_at desc, rpc_actions.action_id desc
        ) as recency
    from payments_collected_today
    left join {{ ref('stored_collection_actions') }} as rpc_actions
        on
            payments_collected_today.loan_id = rpc_actions.loan_id
            and rpc_actions.is_right_party_contact
            and rpc_actions.delivered_on <= {{ business_date() }}
            and payments_collected_today.received_at >= rpc_actions.action_at
            and rpc_actions.action_at >= {{ attribution_start }}
            and rpc_actions.action_local_date <= {{ add_days(local_date('payments_collected_today.received_at'), 1) }}
            and rpc_actions.action_local_date >= {{ add_days(local_date(attribution_start), -1) }}
),

-- The last of them claims the payment (none: team, agent and channel null).
payments_attributed as (
    select
        amount,
        team_id,
        agent_id,
        channel
    from rpc_before_payment
    where recency = 1
),

collections as (
    select
        team_id,
        agent_id,
        channel,
        sum(amount) as collected_amount
    from payments_attributed
    group by team_id, agent_id, channel
),

keys as (
    select
        team_id,
        agent_id,
        channel
    from activity
    union
    select
        team_id,
        agent_id,
        channel
    from promises_falling_due
    union
    select
        team_id,
        agent_id,
        channel
    from collections
),

final as (
    select
        {{ business_date() }} as business_date,
        cast(keys.team_id as {{ dbt.type_string() }}) as team_id,
        cast(keys.agent_id as {{ dbt.type_string() }}) as agent_id,
        cast(keys.channel as {{ dbt.type_string() }}) as channel,
        cast(coalesce(activity.attempts, 0) as integer) as attempts,
        cast(coalesce(activity.rpc, 0) as integer) as rpc,
        cast(coalesce(activity.ptp, 0) as integer) as ptp,
        cast(cast(activity.rpc as {{ dbt.type_numeric() }}) / nullif(activity.attempts, 0) as numeric(9, 4))
            as rpc_rate,
        cast(cast(activity.ptp as {{ dbt.type_numeric() }}) / nullif(activity.rpc, 0) as numeric(9, 4))
            as ptp_rate,
        cast(coalesce(promises_falling_due.promises_due, 0) as integer) as promises_due,
        cast(coalesce(promises_falling_due.promises_kept, 0) as integer) as promises_kept,
        cast(
            cast(promises_falling_due.promises_kept as {{ dbt.type_numeric() }})
            / nullif(promises_falling_due.promises_due, 0)
            as numeric(9, 4)
        ) as ptp_kept_rate,
        cast(coalesce(collections.collected_amount, 0) as numeric(18, 2)) as collected_amount
    from keys
    left join activity
        on
            keys.team_id is not distinct from activity.team_id
            and keys.agent_id is not distinct from activity.agent_id
            and keys.channel is not distinct from activity.channel
    left join promises_falling_due
        on
            keys.team_id is not distinct from promises_falling_due.team_id
            and keys.agent_id is not distinct from promises_falling_due.agent_id
            and keys.channel is not distinct from promises_falling_due.channel
    left join collections
        on
            keys.team_id is not distinct from collections.team_id
            and keys.agent_id is not distinct from collections.agent_id
            and keys.channel is not distinct from collections.channel
)

select * from final
