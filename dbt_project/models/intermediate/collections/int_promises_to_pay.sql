-- Every promise to pay made up to the business date, with its status as of that date
-- (business rules §6). A reversal or a backdated payment delivered later can still change a
-- promise's status, so statuses are never frozen: each night recomputes every promise of the loans
-- whose promises can change on D (docs/decisions/012) and carries the others forward. A rerun of D or
-- a backfill of an older date carries forward too, also recomputing every loan computed on a night
-- from D on (decision 016); without a state to carry (first build, skipped nights) it recomputes
-- every promise as of D. Published as fct_promises_to_pay (a view over this table).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='loan_id',
    on_schema_change='fail',
    pre_hook='{{ reset_unless_carried_forward() }}',
    post_hook=[
        "{{ drop_rows_unknown_at_rebuilt_night('action_id', ref('stored_promises_made'),"
        " 'known.delivered_on <= ' ~ business_date() ~ ' and known.action_local_date <= ' ~ business_date()) }}",
        '{{ record_night_built() }}',
        '{{ analyze_relation(this) }}',
    ],
    indexes=[{'columns': ['loan_id']}, {'columns': ['action_id'], 'unique': true}],
    contract={'enforced': true},
) }}

{#- Taken here, where parsing renders it: the carried branch renders only on an incremental run. -#}
{%- set stored_payments = ref('stored_payments') %}
{%- set mode = carry_forward_mode(is_incremental()) %}
{%- set carry_forward = mode != 'recompute' %}

with
{%- if carry_forward %}
    -- Without a delivery on its loan, a promise's status changes only while it is open (its window
    -- ends). Everything else arrives with a delivery on D or a date the loan's data names reaching D.
    loans_to_recompute as (
        select loan_id from {{ this }}
        where status = 'open'
        union
        select loan_id from {{ ref('stored_promises_made') }}
        where
            delivered_on = {{ business_date() }}
            or (delivered_on < {{ business_date() }} and action_local_date = {{ business_date() }})
        union
        -- Payments and reversals that change the loan's money on D, by index on the stored payments.
        {{ loans_with_money_changing_on_business_date(stored_payments) }}
        {%- if mode == 'rebuilt_night' %}
            union
            -- A rerun or a backfill: the loans computed on a night from D on, recomputed as of D.
            select loan_id from {{ this }}
            where as_of_date >= {{ business_date() }}
        {%- endif %}
    ),

    -- By index on the stored promises (stored_promises_made), not among every action of these loans.
    promises_of_loans_to_recompute as (
        select * from {{ ref('stored_promises_made') }}
        where loan_id in (select loans_to_recompute.loan_id from loans_to_recompute)
    ),
{%- else %}
    promises_of_loans_to_recompute as (
        select * from {{ ref('stored_promises_made') }}
    ),
{%- endif %}

promises_made as (
    select
        action_id,
        loan_id,
        borrower_id,
        team_id,
        agent_id,
        channel,
        action_at,
        action_local_date as promised_on,
        promised_date,
        promised_amount
    from promises_of_loans_to_recompute
    where
        delivered_on <= {{ business_date() }}
        and action_local_date <= {{ business_date() }}
),

promises_in_sequence as (
    select
        promises_made.*,
        {{ add_days('promises_made.promised_date', var('ptp_grace_days')) }} as window_ends_on,
        -- The next promise on the same loan, if any: made before this one resolved, it supersedes it.
        lead(promises_made.promised_on) over (
            partition by promises_made.loan_id
            order by promises_made.action_at, promises_made.action_id
        ) as next_promised_on
    from promises_made
),

-- The promised loans' payments known at D only, read by loan_id from the stored payments (first
-- delivery of each, §1), so a night does not read every payment ever delivered.
payments_known as (
    {{ payments_known_at_business_date(stored_payments, loans_of='promises_made') }}
),

-- A reversal cancels its payment entirely from the reversal's value date (§3).
payments_net_daily as (
    select
        payments.loan_id,
        payments.value_date,
        sum(payments.amount) as amount
    from payments_known as payments
    where {{ is_unreversed_payment('payments', 'payments_known') }}
    group by payments.loan_id, payments.value_date
),

promise_payments_running as (
    select
        promises_in_sequence.action_id,
        payments_net_daily.value_date,
        promises_in_sequence.promised_amount,
        sum(payments_net_daily.amount) over (
            partition by promises_in_sequence.action_id
            order by payments_net_daily.value_date
        ) as paid_so_far
    from promises_in_sequence
    inner join payments_net_daily
        on
            promises_in_sequence.loan_id = payments_net_daily.loan_id
            and payments_net_daily.value_date between promises_in_sequence.promised_on
            and promises_in_sequence.window_ends_on
),

promises_kept_on as (
    select
        action_id,
        min(value_date) as kept_on
    from promise_payments_running
    where paid_so_far >= promised_amount - {{ var('arrears_tolerance') }}
    group by action_id
),

promises_with_status as (
    select
        promises_in_sequence.*,
        promises_kept_on.kept_on as payment_reached_on,
        case
            -- Kept first (a payment on the day of a new promise still keeps the old one).
            when
                promises_kept_on.kept_on is not null
                and (
                    promises_in_sequence.next_promised_on is null
                    or promises_kept_on.kept_on <= promises_in_sequence.next_promised_on
                )
                then 'kept'
            when promises_in_sequence.next_promised_on <= promises_in_sequence.window_ends_on then 'superseded'
            when {{ business_date() }} > promises_in_sequence.window_ends_on then 'broken'
            else 'open'
        end as status
    from promises_in_sequence
    left join promises_kept_on
        on promises_in_sequence.action_id = promises_kept_on.action_id
),

final as (
    select
        cast(action_id as {{ dbt.type_string() }}) as action_id,
        cast(loan_id as {{ dbt.type_string() }}) as loan_id,
        cast(borrower_id as {{ dbt.type_string() }}) as borrower_id,
        cast(promised_on as date) as promised_on,
        cast(promised_date as date) as promised_date,
        cast(promised_amount as numeric(18, 2)) as promised_amount,
        cast(window_ends_on as date) as window_ends_on,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(case when status = 'kept' then payment_reached_on end as date) as kept_on,
        cast(case when status = 'broken' then {{ add_days('window_ends_on', 1) }} end as date) as broken_on,
        cast(team_id as {{ dbt.type_string() }}) as team_id,
        cast(agent_id as {{ dbt.type_string() }}) as agent_id,
        cast(channel as {{ dbt.type_string() }}) as channel,
        {{ business_date() }} as as_of_date
    from promises_with_status
)

select * from final
