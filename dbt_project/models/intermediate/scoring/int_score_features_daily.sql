-- The collection score's features (business rules §10): one row per loan in D's delinquency snapshot,
-- as known at D. Incremental by business date: the history counters (max DPD, delinquent days, episodes,
-- late and partial payments, last right-party contact) carry forward from D-1's row of this model and
-- D's snapshot, so a night reads one day of the book, not its history, and rebuilding D reads exactly
-- what it read the first time. Counters start on the first night this model is built.
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
            net_paid,
            max_dpd_ever,
            delinquent_days,
            episodes_started,
            late_payments,
            partial_payments,
            last_rpc_on
        from {{ this }}
        where business_date = {{ add_days(business_date(), -1) }}
    {% else %}
        select
            cast(null as {{ dbt.type_string() }}) as loan_id,
            cast(null as integer) as dpd,
            cast(null as numeric(18, 2)) as net_paid,
            cast(null as integer) as max_dpd_ever,
            cast(null as integer) as delinquent_days,
            cast(null as integer) as episodes_started,
            cast(null as integer) as late_payments,
            cast(null as integer) as partial_payments,
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

-- Collection actions delivered by D in the last 30 local days.
recent_actions as (
    select
        loan_id,
        sum(case when channel = 'call' and direction is distinct from 'inbound' then 1 else 0 end) as calls_30d,
        sum(case when is_right_party_contact then 1 else 0 end) as rpc_30d,
        max(case when is_right_party_contact then action_local_date end) as last_rpc_on
    from {{ ref('stored_collection_actions') }}
    where
        delivered_on <= {{ business_date() }}
        and action_local_date <= {{ business_date() }}
        and action_local_date > {{ add_days(business_date(), -30) }}
    group by loan_id
),

final as (
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
        coalesce(recent_actions.calls_30d, 0) as calls_30d,
        coalesce(recent_actions.rpc_30d, 0) as rpc_30d,
        coalesce(recent_actions.last_rpc_on, yesterday.last_rpc_on) as last_rpc_on,
        case
            when coalesce(recent_actions.last_rpc_on, yesterday.last_rpc_on) is not null
                then {{ dbt.datediff(
                    'coalesce(recent_actions.last_rpc_on, yesterday.last_rpc_on)', 'today.business_date', 'day'
                ) }}
        end as days_since_rpc,
        case when coalesce(contactability.is_lost_contact, true) then 1 else 0 end as is_lost_contact
    from today
    left join yesterday
        on today.loan_id = yesterday.loan_id
    left join promises
        on today.loan_id = promises.loan_id
    left join recent_actions
        on today.loan_id = recent_actions.loan_id
    left join {{ ref('int_borrower_contactability') }} as contactability
        on today.borrower_id = contactability.borrower_id
)

select * from final
