-- §6 Delinquency episodes, one row per loan and business date while an episode is open, including
-- the day it ends (end_reason set). Each night derives D's rows from D-1's rows and D's snapshot
-- only, so a night's cost does not grow with history and rebuilding D gives the same rows.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ replace_business_date() }}",
        indexes=[
            {'columns': ['business_date', 'loan_id'], 'unique': true},
            {'columns': ['loan_id', 'business_date']},
        ],
    )
}}

-- Inlined (cte_inlined): D's snapshot and D-1's open episodes are read several times; each read is
-- planned on the indexed, analysed table instead of a materialised CTE without statistics
-- (docs/scaling.md, "Planner hints").
with snapshot_today as {{ cte_inlined() }} (
    select * from {{ ref('int_loan_delinquency_daily') }}
    where business_date = {{ business_date() }}
),

signed_payments as (
    select * from {{ ref('int_payments_signed') }}
),

-- The actions that became known for D: delivered on D, or delivered earlier and dated (borrower-local)
-- D. An episode's count is yesterday's plus these, so a night reads a day of actions (both by index),
-- not every action of every open episode: exactly the actions known at D dated from the start to D.
actions_new_today as (
    select * from {{ ref('stored_collection_actions') }}
    where delivered_on = {{ business_date() }}
    union all
    select * from {{ ref('stored_collection_actions') }}
    where delivered_on < {{ business_date() }} and action_local_date = {{ business_date() }}
),

{% if is_incremental() %}
    open_yesterday as {{ cte_inlined() }} (
        select * from {{ this }}
        where business_date = {{ add_days(business_date(), -1) }} and end_reason is null
    ),

    -- The loans that start an episode today (late today, no episode open yesterday), computed first:
    -- only they look up their last episode number below.
    loans_starting_an_episode as {{ cte_computed_first() }} (
        select snapshot_today.loan_id
        from snapshot_today
        where
            snapshot_today.dpd >= 1
            and not exists (
                select 1 from open_yesterday
                where open_yesterday.loan_id = snapshot_today.loan_id
            )
    ),

    -- One indexed lookup per starting loan on (loan_id, business_date), so the cost does not grow with
    -- the days built; fenced (cte_computed_first above), so it runs for the starting loans only.
    earlier_episode_numbers as (
        select
            starting.loan_id,
            (
                select max(episode_days.episode_no)
                from {{ this }} as episode_days
                where
                    episode_days.loan_id = starting.loan_id
                    and episode_days.business_date < {{ business_date() }}
            ) as last_episode_no
        from loans_starting_an_episode as starting
    ),
{% else %}
-- First build (or full refresh): no episode is open before D.
    open_yesterday as (
        select
            cast(null as {{ dbt.type_string() }}) as loan_id,
            cast(null as integer) as episode_no,
            cast(null as date) as started_on,
            cast(null as integer) as schedule_version,
            cast(null as integer) as max_dpd,
            cast(null as integer) as max_bucket_order,
            cast(null as numeric(18, 2)) as collected_amount,
            cast(null as integer) as actions,
            cast(null as integer) as right_party_contacts
        where false
    ),

    earlier_episode_numbers as (
        select
            cast(null as {{ dbt.type_string() }}) as loan_id,
            cast(null as integer) as last_episode_no
        where false
    ),
{% endif %}

continuing_episodes as (
    select
        open_yesterday.loan_id,
        open_yesterday.episode_no,
        open_yesterday.started_on,
        coalesce(snapshot_today.schedule_version, open_yesterday.schedule_version) as schedule_version,
        greatest(open_yesterday.max_dpd, coalesce(snapshot_today.dpd, 0)) as max_dpd,
        greatest(open_yesterday.max_bucket_order, coalesce(snapshot_today.bucket_order, 0)) as max_bucket_order,
        snapshot_today.dpd,
        open_yesterday.collected_amount as collected_until_yesterday,
        open_yesterday.actions as actions_until_yesterday,
        open_yesterday.right_party_contacts as right_party_contacts_until_yesterday,
        -- The first reason that holds ends the episode (closing beats everything, then write-off).
        case
            when snapshot_today.loan_id is null or snapshot_today.loan_status = 'closed' then 'paid_off'
            when snapshot_today.loan_status = 'written_off' then 'written_off'
            when snapshot_today.schedule_version > open_yesterday.schedule_version then 'restructured'
            when snapshot_today.dpd = 0 then 'cured'
        end as end_reason
    from open_yesterday
    left join snapshot_today
        on open_yesterday.loan_id = snapshot_today.loan_id
),

starting_episodes as (
    select
        snapshot_today.loan_id,
        coalesce(earlier_episode_numbers.last_episode_no, 0) + 1 as episode_no,
        {{ business_date() }} as started_on,
        snapshot_today.schedule_version,
        snapshot_today.dpd as max_dpd,
        snapshot_today.bucket_order as max_bucket_order,
        snapshot_today.dpd,
        cast(null as numeric(18, 2)) as collected_until_yesterday,
        0 as actions_until_yesterday,
        0 as right_party_contacts_until_yesterday,
        cast(null as {{ dbt.type_string() }}) as end_reason
    from snapshot_today
    left join earlier_episode_numbers
        on snapshot_today.loan_id = earlier_episode_numbers.loan_id
    where
        snapshot_today.dpd >= 1
        and snapshot_today.loan_status = 'active'
        and not exists (
            select 1 from open_yesterday
            where open_yesterday.loan_id = snapshot_today.loan_id
        )
),

episodes_today as (
    select * from continuing_episodes
    union all
    select * from starting_episodes
),

-- Payments are read for the loans recomputed tonight only (int_payments_signed): a loan that is not
-- had no money delivered on D nor valued on D, so its episode keeps yesterday's collected amount.
loans_recomputed as (
    select loan_id from {{ ref('int_loans_to_recompute') }}
),

collected_during_episode as (
    -- Net money (payments minus their reversals) with value date from the episode's start up to D,
    -- as known at D. A reversal counts where its payment did (belongs_to_date): a payment made before
    -- the episode and bounced during it was never collected by the episode, so it does not make the
    -- episode's collection negative.
    select
        episodes_today.loan_id,
        sum(signed_payments.signed_amount) as collected_amount
    from episodes_today
    inner join signed_payments
        on
            episodes_today.loan_id = signed_payments.loan_id
            and signed_payments.belongs_to_date between episodes_today.started_on and {{ business_date() }}
            and signed_payments.counts_from <= {{ business_date() }}
    group by episodes_today.loan_id
),

actions_new_during_episode as (
    -- Actions on the loan dated (local) from the episode's start up to D that became known for D.
    select
        episodes_today.loan_id,
        count(*) as actions,
        count(case when actions_new_today.is_right_party_contact then 1 end) as right_party_contacts
    from episodes_today
    inner join actions_new_today
        on
            episodes_today.loan_id = actions_new_today.loan_id
            and actions_new_today.action_local_date between episodes_today.started_on and {{ business_date() }}
    group by episodes_today.loan_id
),

final as (
    select
        {{ business_date() }} as business_date,
        episodes_today.loan_id,
        episodes_today.episode_no,
        episodes_today.started_on,
        case when episodes_today.end_reason is not null then {{ business_date() }} end as ended_on,
        episodes_today.end_reason,
        episodes_today.schedule_version,
        episodes_today.dpd,
        episodes_today.max_dpd,
        episodes_today.max_bucket_order,
        cast(case
            when loans_recomputed.loan_id is null and episodes_today.collected_until_yesterday is not null
                then episodes_today.collected_until_yesterday
            else coalesce(collected_during_episode.collected_amount, 0)
        end as numeric(18, 2)) as collected_amount,
        cast(
            episodes_today.actions_until_yesterday + coalesce(actions_new_during_episode.actions, 0) as integer
        ) as actions,
        cast(
            episodes_today.right_party_contacts_until_yesterday
            + coalesce(actions_new_during_episode.right_party_contacts, 0) as integer
        ) as right_party_contacts
    from episodes_today
    left join collected_during_episode
        on episodes_today.loan_id = collected_during_episode.loan_id
    left join actions_new_during_episode
        on episodes_today.loan_id = actions_new_during_episode.loan_id
    left join loans_recomputed
        on episodes_today.loan_id = loans_recomputed.loan_id
)

select * from final
