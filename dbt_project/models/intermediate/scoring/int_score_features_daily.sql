-- The collection score's features (business rules §10): one row per loan in D's delinquency snapshot,
-- as known at D, scored in the same pass by the scorecard active at D (int_loan_scores_daily is a view of
-- these score columns; decision 043). Incremental by business date: the history counters (max DPD,
-- delinquent days, episodes, late and partial payments, last right-party contact) and the 30-day action
-- counts carry forward from D-1's row of this model, so a night reads one day of the book and of the
-- actions, not their history, and rebuilding D reads exactly what it read the first time. Counters start on
-- the first night this model is built; a loan without a row at D-1 (new to the snapshot, or the first night)
-- counts its 30 days in full. is_label_event marks the nights int_score_label_events keeps.
-- depends_on: {{ ref('stg_scorecard_bins') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ replace_business_date() }}",
        post_hook='{{ analyze_relation(this, statistics_target=10) }}',
        indexes=[{'columns': ['business_date', 'loan_id'], 'unique': true}],
    )
}}

{%- set window_start = add_days(business_date(), -30) %}
{%- set previous_night = add_days(business_date(), -1) %}
{%- set feature_columns = [
    'business_date', 'loan_id', 'borrower_id', 'product_code', 'dpd', 'bucket_order', 'net_paid', 'months_on_book',
    'overdue_to_principal', 'paid_to_principal', 'max_dpd_ever', 'delinquent_days', 'episodes_started',
    'late_payments', 'partial_payments', 'promises_made', 'promises_kept', 'promises_broken', 'calls_30d',
    'rpc_30d', 'last_rpc_on', 'days_since_rpc', 'is_lost_contact', 'is_label_event',
] %}

with today as (
    select
        business_date,
        loan_id,
        borrower_id,
        product_code,
        disbursed_on,
        principal,
        dpd,
        bucket_order,
        overdue_amount,
        net_paid
    from {{ ref('int_loan_delinquency_daily') }}
    where business_date = {{ business_date() }}
),

yesterday as (
    {% if is_incremental() %}
        select
            loan_id,
            dpd,
            bucket_order,
            net_paid,
            max_dpd_ever,
            delinquent_days,
            episodes_started,
            late_payments,
            partial_payments,
            calls_30d,
            rpc_30d,
            last_rpc_on
        from {{ this }}
        where business_date = {{ previous_night }}
    {% else %}
        select
            cast(null as {{ dbt.type_string() }}) as loan_id,
            cast(null as integer) as dpd,
            cast(null as integer) as bucket_order,
            cast(null as numeric(18, 2)) as net_paid,
            cast(null as integer) as max_dpd_ever,
            cast(null as integer) as delinquent_days,
            cast(null as integer) as episodes_started,
            cast(null as integer) as late_payments,
            cast(null as integer) as partial_payments,
            cast(null as integer) as calls_30d,
            cast(null as integer) as rpc_30d,
            cast(null as date) as last_rpc_on
        where 1 = 0
    {% endif %}
),

promises as (
    select
        loan_id,
        count(*) as promises_made,
        sum(case when status = 'kept' and kept_on <= {{ business_date() }} then 1 else 0 end) as promises_kept,
        sum(case when status = 'broken' and broken_on <= {{ business_date() }} then 1 else 0 end) as promises_broken
    from {{ ref('int_promises_to_pay') }}
    where promised_on <= {{ business_date() }}
    group by loan_id
),

-- The 30-day action counts (actions known at D, dated D-29 .. D) move from D-1's by the actions that
-- enter the window (delivered on D and dated in it, or delivered earlier and dated D) and those that
-- leave it (known at D-1 and dated D-30): lookups by index of one day's actions, not 30 days'.
action_changes as (
    select
        loan_id,
        1 as change,
        channel,
        direction,
        is_right_party_contact,
        action_local_date
    from {{ ref('stored_collection_actions') }}
    where
        (
            delivered_on = {{ business_date() }}
            and action_local_date <= {{ business_date() }}
            and action_local_date > {{ window_start }}
        )
        or (delivered_on < {{ business_date() }} and action_local_date = {{ business_date() }})
    union all
    select
        loan_id,
        -1 as change,
        channel,
        direction,
        is_right_party_contact,
        action_local_date
    from {{ ref('stored_collection_actions') }}
    where
        delivered_on < {{ business_date() }}
        and action_local_date = {{ window_start }}
),

carried_actions as (
    select
        loan_id,
        sum(
            case when channel = 'call' and direction is distinct from 'inbound' then change else 0 end
        ) as calls_change,
        sum(case when is_right_party_contact then change else 0 end) as rpc_change,
        max(case when change > 0 and is_right_party_contact then action_local_date end) as last_rpc_on
    from action_changes
    group by loan_id
),

features as (
    select
        today.business_date,
        today.loan_id,
        today.borrower_id,
        today.product_code,
        today.dpd,
        today.bucket_order,
        today.net_paid,
        {{ calendar_months_between('today.disbursed_on', 'today.business_date') }} as months_on_book,
        case when today.principal > 0 then cast(today.overdue_amount / today.principal as numeric(12, 4)) end
            as overdue_to_principal,
        case when today.principal > 0 then cast(today.net_paid / today.principal as numeric(12, 4)) end
            as paid_to_principal,
        greatest(coalesce(yesterday.max_dpd_ever, 0), today.dpd) as max_dpd_ever,
        coalesce(yesterday.delinquent_days, 0) + case when today.dpd > 0 then 1 else 0 end as delinquent_days,
        coalesce(yesterday.episodes_started, 0)
        + case when today.dpd > 0 and coalesce(yesterday.dpd, 0) = 0 then 1 else 0 end as episodes_started,
        -- A payment counted today (net paid rose) while the loan was past due yesterday: late; a late
        -- payment that leaves the loan still past due: partial.
        coalesce(yesterday.late_payments, 0)
        + case when today.net_paid > yesterday.net_paid and yesterday.dpd > 0 then 1 else 0 end as late_payments,
        coalesce(yesterday.partial_payments, 0)
        + case when today.net_paid > yesterday.net_paid and yesterday.dpd > 0 and today.dpd > 0 then 1 else 0 end
            as partial_payments,
        coalesce(promises.promises_made, 0) as promises_made,
        coalesce(promises.promises_kept, 0) as promises_kept,
        coalesce(promises.promises_broken, 0) as promises_broken,
        -- A loan without a row at D-1 (new to the snapshot; every loan on the first night) counts its
        -- window in full, by index on its actions; the others carry D-1's counts forward.
        case
            when yesterday.loan_id is not null then yesterday.calls_30d + coalesce(carried_actions.calls_change, 0)
            else (
                {{ score_window_actions("count(case when actions.channel = 'call'"
                    " and actions.direction is distinct from 'inbound' then 1 end)", 'today.loan_id') }}
            )
        end as calls_30d,
        case
            when yesterday.loan_id is not null then yesterday.rpc_30d + coalesce(carried_actions.rpc_change, 0)
            else (
                {{ score_window_actions(
                    'count(case when actions.is_right_party_contact then 1 end)', 'today.loan_id'
                ) }}
            )
        end as rpc_30d,
        -- The latest right-party contact known: D-1's, unless a later one became known at D.
        case
            when yesterday.loan_id is null
                then (
                    {{ score_window_actions(
                        'max(case when actions.is_right_party_contact then actions.action_local_date end)',
                        'today.loan_id'
                    ) }}
                )
            when
                yesterday.last_rpc_on is null or carried_actions.last_rpc_on > yesterday.last_rpc_on
                then coalesce(carried_actions.last_rpc_on, yesterday.last_rpc_on)
            else yesterday.last_rpc_on
        end as last_rpc_on,
        case when coalesce(contactability.is_lost_contact, true) then 1 else 0 end as is_lost_contact,
        -- A night on which the §10 event can first show (int_score_label_events): the bucket rose or the DPD
        -- reached 30 since D-1's row; without a row at D-1, whenever past due.
        case
            when yesterday.loan_id is null then today.dpd > 0 or today.bucket_order > 0
            when today.bucket_order > yesterday.bucket_order then true
            when today.dpd >= 30 and yesterday.dpd < 30 then true
            else false
        end as is_label_event
    from today
    left join yesterday
        on today.loan_id = yesterday.loan_id
    left join promises
        on today.loan_id = promises.loan_id
    left join carried_actions
        on today.loan_id = carried_actions.loan_id
    left join {{ ref('int_borrower_contactability') }} as contactability
        on today.borrower_id = contactability.borrower_id
),

final as (
    select
        business_date,
        loan_id,
        borrower_id,
        product_code,
        dpd,
        bucket_order,
        net_paid,
        months_on_book,
        overdue_to_principal,
        paid_to_principal,
        max_dpd_ever,
        delinquent_days,
        episodes_started,
        late_payments,
        partial_payments,
        promises_made,
        promises_kept,
        promises_broken,
        calls_30d,
        rpc_30d,
        last_rpc_on,
        case
            when last_rpc_on is not null then {{ dbt.datediff('last_rpc_on', 'business_date', 'day') }}
        end as days_since_rpc,
        is_lost_contact,
        is_label_event
    from features
    -- each row's features computed once: the score's CASEs below read them many times
    {{ subquery_computed_once() }}
),

-- The score of every row by the version active at D (no version: NULL score columns).
scored as (
    {{ scorecard_scores_select(active_scorecard_bins(), 'final', feature_columns) }}
)

select * from scored
