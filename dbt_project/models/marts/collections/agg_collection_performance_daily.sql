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

with actions_today as (
    select
        team_id,
        agent_id,
        channel,
        direction,
        is_right_party_contact,
        outcome
    from {{ ref('int_collection_actions') }}
    where
        delivered_on <= {{ business_date() }}
        and action_local_date = {{ business_date() }}
),

activity as (
    select
        team_id,
        agent_id,
        channel,
        count(*) filter (where direction is distinct from 'inbound') as attempts,
        count(*) filter (where is_right_party_contact) as rpc,
        count(*) filter (where outcome = 'promise_to_pay') as ptp
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
        count(*) filter (where status = 'kept') as promises_kept
    from {{ ref('fct_promises_to_pay') }}
    where
        window_ends_on = {{ business_date() }}
        and status <> 'superseded'
    group by team_id, agent_id, channel
),

payments_known as (
    select
        payment_id,
        loan_id,
        received_at,
        value_date,
        amount,
        reversal_of
    from {{ ref('stg_payments_valued_today') }}
    where value_date <= {{ business_date() }}
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
        and payments.reversal_of is null
        and not exists (
            select 1
            from payments_known as reversals
            where reversals.reversal_of = payments.payment_id
        )
),

payments_attributed as (
    select
        payments_collected_today.amount,
        last_rpc.team_id,
        last_rpc.agent_id,
        last_rpc.channel
    from payments_collected_today
    left join lateral (
        select
            rpc_actions.team_id,
            rpc_actions.agent_id,
            rpc_actions.channel
        from {{ ref('int_collection_actions') }} as rpc_actions
        where
            rpc_actions.loan_id = payments_collected_today.loan_id
            and rpc_actions.is_right_party_contact
            and rpc_actions.delivered_on <= {{ business_date() }}
            and rpc_actions.action_at <= payments_collected_today.received_at
            and rpc_actions.action_at
            >= payments_collected_today.received_at - interval '{{ var("attribution_days") }} days'
        order by rpc_actions.action_at desc, rpc_actions.action_id desc
        limit 1
    ) as last_rpc on true
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
        keys.team_id::text as team_id,
        keys.agent_id::text as agent_id,
        keys.channel::text as channel,
        coalesce(activity.attempts, 0)::integer as attempts,
        coalesce(activity.rpc, 0)::integer as rpc,
        coalesce(activity.ptp, 0)::integer as ptp,
        (activity.rpc::numeric / nullif(activity.attempts, 0))::numeric(9, 4) as rpc_rate,
        (activity.ptp::numeric / nullif(activity.rpc, 0))::numeric(9, 4) as ptp_rate,
        coalesce(promises_falling_due.promises_due, 0)::integer as promises_due,
        coalesce(promises_falling_due.promises_kept, 0)::integer as promises_kept,
        (promises_falling_due.promises_kept::numeric / nullif(promises_falling_due.promises_due, 0))::numeric(9, 4)
            as ptp_kept_rate,
        coalesce(collections.collected_amount, 0)::numeric(18, 2) as collected_amount
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
