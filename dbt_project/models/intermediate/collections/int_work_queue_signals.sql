-- Everything the routing table and the channel narrowing need to know about each loan that
-- belongs in tomorrow's work queue (business rules §5), one row per loan, as of the business date.
-- Relies on int_loan_delinquency_daily's post-hook ANALYZE: without statistics for D's rows the
-- planner expects one loan in scope and nests every join below (a scan of each aggregate per
-- queued loan: quadratic in loans, growing with the history of actions and promises).
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['loan_id'], 'unique': true}],
) }}

with loans_in_scope as (
    -- Active or written-off loans that are pre-due or delinquent at D (closed loans have left
    -- the snapshot; current loans are not worked). A written-off loan whose recoveries cleared
    -- its overdue amount has DPD 0: not delinquent, so not in the queue (§5).
    select
        business_date,
        loan_id,
        borrower_id,
        stage,
        dpd,
        bucket,
        overdue_amount,
        outstanding_principal,
        next_due_date
    from {{ ref('int_loan_delinquency_daily') }}
    where
        business_date = {{ business_date() }}
        and stage in ({{ "'" ~ var('queue_stages') | join("', '") ~ "'" }})
        and (stage = 'pre_due' or dpd >= 1)
),

restrictions_active as (
    select
        borrower_id,
        kind,
        channel
    from {{ ref('stg_restrictions') }}
    where
        contact_point_id is null  -- a per-number bar bars that number only (fct_work_queue_contacts)
        and effective_from <= {{ business_date() }}
        and (effective_to is null or effective_to >= {{ business_date() }})
),

borrower_restrictions as (
    select
        borrower_id,
        {{ dbt.bool_or("kind in ('deceased', 'bankruptcy')") }} as has_estate_or_bankruptcy,
        {{ dbt.bool_or("kind = 'legal_hold'") }} as has_legal_hold,
        {{ dbt.bool_or("kind = 'dispute'") }} as has_dispute,
        {{ dbt.bool_or("kind = 'cease_communication'") }} as has_cease_communication
    from restrictions_active
    group by borrower_id
),

-- Channels barred by active restrictions (seed restriction_channel_bars: '*' = the
-- restriction's own channel, or every channel when it names none), `|`-separated like the
-- routing seed (intermediate models keep channel lists as text; the published mart has text[]).
all_channels as (
    {%- for channel in ['call', 'sms', 'email', 'app_push', 'letter', 'visit', 'legal_notice'] %}
        select '{{ channel }}' as channel{{ " union all" if not loop.last }}
    {%- endfor %}
),

borrower_barred_channels as (
    select
        restrictions_active.borrower_id,
        {{ dbt.listagg('distinct all_channels.channel', "'|'", 'order by all_channels.channel') }} as barred_channels
    from restrictions_active
    inner join {{ ref('restriction_channel_bars') }} as bars
        on restrictions_active.kind = bars.restriction_kind
    inner join all_channels
        on
            bars.channel = all_channels.channel
            or (
                bars.channel = '*'
                and (restrictions_active.channel is null or restrictions_active.channel = all_channels.channel)
            )
    group by restrictions_active.borrower_id
),

loans_with_open_legal_case as (
    select distinct loan_id
    from {{ ref('stg_legal_cases') }}
    where
        status not in ('closed', 'withdrawn')
        and opened_on <= {{ business_date() }}
),

-- Active as delivered and not yet kept, completed or broken as judged from payments and the plan
-- (int_arrangement_states, §9): a settlement past settle_by returns the loan to normal routing.
loans_with_active_arrangement as (
    select
        loan_id,
        {{ dbt.bool_or('is_settlement_pending') }} as has_pending_settlement
    from {{ ref('int_arrangement_states') }}
    where
        delivered_status = 'active'
        and derived_status = 'performing'
    group by loan_id
),

-- A settlement judged kept (§9): the rest of the debt is waived, so the loan is not collected any more,
-- whatever the delivered status says, until the source closes it.
loans_with_kept_settlement as (
    select distinct loan_id
    from {{ ref('int_arrangement_states') }}
    where
        kind = 'settlement'
        and derived_status = 'kept'
),

loan_promises as (
    select
        loan_id,
        {{ dbt.bool_or("status = 'open'") }} as has_open_promise,
        {{ dbt.bool_or("status = 'broken' and broken_on = " ~ business_date()) }} as broke_promise_today
    from {{ ref('int_promises_to_pay') }}
    -- Only the promises either flag can see: not every promise ever made.
    where status = 'open' or (status = 'broken' and broken_on = {{ business_date() }})
    group by loan_id
),

-- `not materialized`: used three times, each use plans on the indexed table's statistics.
recent_actions as {{ cte_inlined() }} (
    select
        borrower_id,
        loan_id,
        channel,
        direction,
        is_right_party_contact,
        action_local_date
    from {{ ref('stored_collection_actions') }}
    where
        delivered_on <= {{ business_date() }}
        and action_local_date <= {{ business_date() }}
        and action_local_date > {{ add_days(
            business_date(),
            '-greatest(' ~ var('field_rpc_lookback_days')
            ~ ', ' ~ var('weekly_window_days')
            ~ ', ' ~ var('weekly_quiet_days_after_conversation') ~ ')'
        ) }}
),

borrowers_with_recent_rpc as (
    select distinct borrower_id
    from recent_actions
    where
        is_right_party_contact
        and action_local_date > {{ add_days(business_date(), '-' ~ var('field_rpc_lookback_days')) }}
),

-- Optional weekly rules (US Regulation F style) for work on D+1: the 7-day window that ends
-- on D+1 already holds the maximum of call attempts, or a conversation happened within the
-- 7 days before D+1. `union` keeps one row per loan.
loans_weekly_call_blocked as (
    select loan_id
    from recent_actions
    where
        channel = 'call'
        and direction is distinct from 'inbound'
        and action_local_date > {{ add_days(business_date(), '1 - ' ~ var('weekly_window_days')) }}
    group by loan_id
    having count(*) >= {{ var('weekly_max_call_attempts') }}
    union
    select loan_id
    from recent_actions
    where
        channel = 'call'
        and is_right_party_contact
        and action_local_date >= {{ add_days(business_date(), '1 - ' ~ var('weekly_quiet_days_after_conversation')) }}
),

buckets as (
    select
        bucket,
        max_dpd
    from {{ ref('dpd_buckets') }}
),

final as (
    select
        loans_in_scope.business_date,
        loans_in_scope.loan_id,
        loans_in_scope.borrower_id,
        loans_in_scope.stage,
        loans_in_scope.dpd,
        loans_in_scope.bucket,
        loans_in_scope.overdue_amount,
        loans_in_scope.outstanding_principal,
        coalesce(borrower_restrictions.has_estate_or_bankruptcy, false) as has_estate_or_bankruptcy,
        coalesce(borrower_restrictions.has_legal_hold, false) as has_legal_hold,
        loans_with_open_legal_case.loan_id is not null as has_open_legal_case,
        coalesce(borrower_restrictions.has_dispute, false) as has_dispute,
        coalesce(borrower_restrictions.has_cease_communication, false) as has_cease_communication,
        loans_with_active_arrangement.loan_id is not null as has_active_arrangement,
        coalesce(loans_with_active_arrangement.has_pending_settlement, false) as has_pending_settlement,
        loans_with_kept_settlement.loan_id is not null as has_kept_settlement,
        coalesce(loan_promises.has_open_promise, false) as has_open_promise,
        coalesce(loan_promises.broke_promise_today, false) as broke_promise_today,
        borrowers_with_recent_rpc.borrower_id is not null as has_recent_rpc,
        coalesce(borrowers.has_address, false) as has_address,
        -- No own number on file counts as lost contact: nobody can be reached directly.
        coalesce(contactability.is_lost_contact, true) as is_lost_contact,
        borrower_barred_channels.barred_channels,
        {{ var('weekly_rules_enabled') }} and loans_weekly_call_blocked.loan_id is not null
            as is_weekly_call_blocked,
        -- Days until the loan rolls into the next bucket if nothing is paid: a pre-due loan
        -- becomes 1 DPD the day after its due date; none once past the last bucket.
        case
            when loans_in_scope.stage = 'pre_due'
                then {{ dbt.datediff(business_date(), 'loans_in_scope.next_due_date', 'day') }} + 1
            when buckets.max_dpd is not null then buckets.max_dpd + 1 - loans_in_scope.dpd
        end as days_to_next_bucket
    from loans_in_scope
    left join borrower_restrictions
        on loans_in_scope.borrower_id = borrower_restrictions.borrower_id
    left join borrower_barred_channels
        on loans_in_scope.borrower_id = borrower_barred_channels.borrower_id
    left join loans_with_open_legal_case
        on loans_in_scope.loan_id = loans_with_open_legal_case.loan_id
    left join loans_with_active_arrangement
        on loans_in_scope.loan_id = loans_with_active_arrangement.loan_id
    left join loans_with_kept_settlement
        on loans_in_scope.loan_id = loans_with_kept_settlement.loan_id
    left join loan_promises
        on loans_in_scope.loan_id = loan_promises.loan_id
    left join borrowers_with_recent_rpc
        on loans_in_scope.borrower_id = borrowers_with_recent_rpc.borrower_id
    left join {{ ref('stg_borrowers') }} as borrowers
        on loans_in_scope.borrower_id = borrowers.borrower_id
    left join {{ ref('int_borrower_contactability') }} as contactability
        on loans_in_scope.borrower_id = contactability.borrower_id
    left join loans_weekly_call_blocked
        on loans_in_scope.loan_id = loans_weekly_call_blocked.loan_id
    left join buckets
        on loans_in_scope.bucket = buckets.bucket
)

select * from final
