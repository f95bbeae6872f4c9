-- Every collection action delivered on the business date that broke a contact rule of business rules
-- §7 judged from the actions, contact points, restrictions and legal cases alone, one row per action
-- and rule: every rule but outside_placement, which needs the agency placements and is judged in
-- fct_compliance_violations (the placements read this model for misconduct, so the audit is split
-- there rather than closing a cycle; decision 033). Only the business date's rows: the published,
-- dated history is fct_compliance_violations. Rule names: docs/work-queue.md.
{{ config(
    post_hook='{{ analyze_relation(this) }}',
    materialized='table',
) }}

-- Outbound = not inbound: an action of unknown direction is audited rather than missed.
-- `not materialized`: each use scans the indexed, analysed table with real statistics.
with actions_delivered_today as {{ cte_inlined() }} (
    select *
    from {{ ref('stored_collection_actions') }}
    where
        delivered_on = {{ business_date() }}
        and direction is distinct from 'inbound'
),

-- The borrower-local days of today's actions, materialised: a handful of rows, whose bounds let the
-- (action_local_date, borrower_id) index find those days. Without them every action ever delivered
-- is scanned; with min() over the table itself the planner walks that index from its start instead.
days_delivered_today as {{ cte_computed_first() }} (
    select distinct action_local_date
    from actions_delivered_today
),

-- Caps count every action of the same borrower-local day known so far, including ones
-- delivered earlier (a day's actions can arrive over two deliveries).
calls_on_the_same_days as {{ cte_inlined() }} (
    select *
    from {{ ref('stored_collection_actions') }}
    where
        delivered_on <= {{ business_date() }}
        and direction is distinct from 'inbound'
        and channel = 'call'
        and action_local_date between (select min(days.action_local_date) from days_delivered_today as days)
        and (select max(days.action_local_date) from days_delivered_today as days)
        and action_local_date in (select days.action_local_date from days_delivered_today as days)
),

outside_contact_window as (
    select
        action_id,
        'outside_contact_window' as rule
    from actions_delivered_today
    where
        channel in ({{ "'" ~ var('contact_window_channels') | join("', '") ~ "'" }})
        and (
            action_local_time < cast('{{ var("contact_window_start") }}' as time)
            or action_local_time >= cast('{{ var("contact_window_end") }}' as time)
        )
),

connected_calls_ranked as (
    select
        action_id,
        row_number() over (
            partition by borrower_id, action_local_date
            order by action_at, action_id
        ) as nth_of_day
    from calls_on_the_same_days
    where is_connected
),

over_daily_connected_calls as (
    select
        action_id,
        'over_daily_connected_calls' as rule
    from connected_calls_ranked
    where nth_of_day > {{ var('max_connected_calls_per_day_per_borrower') }}
),

unanswered_attempts_ranked as (
    select
        action_id,
        row_number() over (
            partition by contact_point_id, action_local_date
            order by action_at, action_id
        ) as nth_of_day
    from calls_on_the_same_days
    where
        is_unanswered
        and contact_point_id is not null
),

over_daily_unanswered_attempts as (
    select
        action_id,
        'over_daily_unanswered_attempts' as rule
    from unanswered_attempts_ranked
    where nth_of_day > {{ var('max_unanswered_attempts_per_day_per_number') }}
),

-- Not materialised: each use looks its few contact points up by index instead of copying all of them.
contact_points_known as {{ cte_inlined() }} (
    select
        contact_point_id,
        borrower_id,
        is_valid,
        is_third_party
    from {{ ref('stored_contact_points') }}
),

-- Third-party contacts: lost contact is judged at the moment of the action, from the last
-- outbound calls to each of the borrower's own numbers made before it.
third_party_contacts as (
    select
        actions_delivered_today.action_id,
        actions_delivered_today.borrower_id,
        actions_delivered_today.action_at,
        actions_delivered_today.action_local_date
    from actions_delivered_today
    inner join contact_points_known as contact_points
        on actions_delivered_today.contact_point_id = contact_points.contact_point_id
    where contact_points.is_third_party
),

own_numbers_at_third_party_contact as (
    select
        third_party_contacts.action_id,
        not own_numbers.is_valid
        or (
            select count(case when last_calls.is_failed_call then 1 end)
            from (
                select earlier_calls.is_failed_call
                from {{ ref('stored_collection_actions') }} as earlier_calls
                where
                    earlier_calls.contact_point_id = own_numbers.contact_point_id
                    and earlier_calls.channel = 'call'
                    and earlier_calls.direction is distinct from 'inbound'
                    and earlier_calls.delivered_on <= {{ business_date() }}
                    and earlier_calls.action_at < third_party_contacts.action_at
                    and earlier_calls.action_local_date
                    > {{ add_days('third_party_contacts.action_local_date', '-' ~ var('lost_contact_lookback_days')) }}
                order by earlier_calls.action_at desc
                limit {{ var('lost_contact_last_calls') }}
            ) as last_calls
        ) >= {{ var('lost_contact_last_calls') }} as is_lost
    from third_party_contacts
    inner join contact_points_known as own_numbers
        on
            third_party_contacts.borrower_id = own_numbers.borrower_id
            and not own_numbers.is_third_party
),

third_party_without_lost_contact as (
    -- A borrower with no own number on file has lost contact: only reachable numbers count.
    select
        action_id,
        'third_party_without_lost_contact' as rule
    from own_numbers_at_third_party_contact
    group by action_id
    having not {{ bool_and('is_lost') }}
),

-- Restrictions known at D, read from an analysed table (int_restrictions_known): planned on the
-- staging view's guess of a few rows, the borrower-wide join below probed every action dated since
-- each restriction began, once per restriction (docs/scaling.md). Open legal cases as known at D are
-- computed once (the staging view is point in time over every delivered version).
restrictions_known as {{ cte_inlined() }} (
    select
        borrower_id,
        kind,
        channel,
        contact_point_id,
        effective_from,
        effective_to
    from {{ ref('int_restrictions_known') }}
    where kind != 'complaint'
),

open_legal_cases as {{ cte_computed_first() }} (
    select
        loan_id,
        opened_on
    from {{ ref('stg_legal_cases') }}
    where status not in ('closed', 'withdrawn')
),

-- Borrower-wide restrictions active on each action's borrower-local date (per-number bars apart:
-- they only trigger contact_to_barred_number), and an open legal case on the action's loan (status
-- as known at D), which §5 treats like a legal hold. Complaints bar nothing.
restrictions_at_action as (
    select
        actions_delivered_today.action_id,
        actions_delivered_today.team_id,
        actions_delivered_today.channel,
        restrictions.kind,
        restrictions.channel as restriction_channel
    from actions_delivered_today
    inner join restrictions_known as restrictions
        on
            actions_delivered_today.borrower_id = restrictions.borrower_id
            and actions_delivered_today.action_local_date >= restrictions.effective_from
            and (
                restrictions.effective_to is null
                or actions_delivered_today.action_local_date <= restrictions.effective_to
            )
    where restrictions.contact_point_id is null

    union all

    select
        actions_delivered_today.action_id,
        actions_delivered_today.team_id,
        actions_delivered_today.channel,
        'open_legal_case' as kind,
        null as restriction_channel
    from actions_delivered_today
    inner join open_legal_cases as legal_cases
        on
            actions_delivered_today.loan_id = legal_cases.loan_id
            -- From the day after it opened: the queue routes on the night of opened_on, for the next day.
            and actions_delivered_today.action_local_date > legal_cases.opened_on
),

-- Accounts §5 routes to legal above the dispute rule: there `legal` may act during a dispute.
routed_to_legal_above_dispute as (
    select distinct action_id
    from restrictions_at_action
    where kind in ('deceased', 'bankruptcy', 'legal_hold', 'open_legal_case')
),

-- The §7 table, kind by kind: what each active restriction still allows; everything else breaks it.
contact_during_restriction as (
    select distinct
        restrictions_at_action.action_id,
        'contact_during_restriction' as rule
    from restrictions_at_action
    left join routed_to_legal_above_dispute
        on restrictions_at_action.action_id = routed_to_legal_above_dispute.action_id
    where
        (
            restrictions_at_action.kind = 'dispute'
            and not (
                restrictions_at_action.team_id = 'legal'
                and routed_to_legal_above_dispute.action_id is not null
            )
        )
        or (
            restrictions_at_action.kind = 'cease_communication'
            and not (
                restrictions_at_action.team_id = 'legal'
                and restrictions_at_action.channel in ('letter', 'legal_notice')
            )
        )
        or (
            restrictions_at_action.kind in ('deceased', 'bankruptcy', 'legal_hold', 'open_legal_case')
            and restrictions_at_action.team_id is distinct from 'legal'
        )
        or (
            restrictions_at_action.kind = 'do_not_contact'
            and coalesce(restrictions_at_action.restriction_channel, restrictions_at_action.channel)
            = restrictions_at_action.channel
        )
),

-- Per-number bars (§5): the number itself, on every channel, whoever uses it.
contact_to_barred_number as (
    select distinct
        actions_delivered_today.action_id,
        'contact_to_barred_number' as rule
    from actions_delivered_today
    inner join restrictions_known as number_bars
        on
            actions_delivered_today.contact_point_id = number_bars.contact_point_id
            and actions_delivered_today.action_local_date >= number_bars.effective_from
            and (
                number_bars.effective_to is null
                or actions_delivered_today.action_local_date <= number_bars.effective_to
            )
),

visit_under_two_collectors as (
    select
        action_id,
        'visit_under_two_collectors' as rule
    from actions_delivered_today
    where
        channel = 'visit'
        and coalesce(collectors_present, 0) < {{ var('field_min_collectors') }}
),

violations as (
    select * from outside_contact_window
    union all
    select * from over_daily_connected_calls
    union all
    select * from over_daily_unanswered_attempts
    union all
    select * from third_party_without_lost_contact
    union all
    select * from contact_during_restriction
    union all
    select * from contact_to_barred_number
    union all
    select * from visit_under_two_collectors
),

final as (
    select {{ compliance_violation_columns('actions', 'violations.rule') }}
    from violations
    -- Only today's deliveries are judged (the caps look at earlier ones for context only).
    inner join {{ ref('stored_collection_actions') }} as actions
        on
            violations.action_id = actions.action_id
            and actions.delivered_on = {{ business_date() }}
)

select * from final
