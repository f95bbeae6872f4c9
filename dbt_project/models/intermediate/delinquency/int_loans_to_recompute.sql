-- The loans whose delinquency snapshot must be recomputed for D: every other loan's row is yesterday's
-- carried forward (int_loan_delinquency_daily), so a night costs what changed, not the whole book.
-- A loan's §3-4 state can change from D-1 to D only through (docs/decisions/010):
--   a delivery on D (a loan version, a schedule row, a payment or reversal) or a closure without its
--   date delivered on D-1 (it closes on its delivery day and leaves the snapshot the day after);
--   a date reached: disbursed on D, closed on D-1 or D, written off on D, a schedule version in force
--   from D, money valued on D, or an installment due on D-1 with any remainder (overdue from D) or due
--   on D unpaid (leaves the pre-due window).
-- Without D-1's snapshot (first night, a gap, a full refresh) every loan is recomputed.
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['loan_id'], 'unique': true}],
) }}

{#- Taken here, where parsing renders them: the scope's branch renders only when D-1 was built. -#}
{%- set loan_deliveries = ref('stg_loan_deliveries') %}
{%- set installment_deliveries = ref('stg_installment_deliveries') %}
{%- set stored_payments = ref('stored_payments') %}
{%- set previous_night = previous_night_rows('int_loan_delinquency_daily') %}

{% if previous_night is not none %}
    -- Of D-1's loan versions only a closure without its date changes the loan again on D (it leaves the
    -- snapshot): D-1's snapshot already holds every other version delivered then. So the first delivery
    -- (every loan) is recomputed on night 1 only, not again on night 2.
    with loans_changed as (
        select loan_id from {{ loan_deliveries }}
        where
            delivered_on = {{ business_date() }}
            or (
                delivered_on = {{ add_days(business_date(), -1) }}
                and status = 'closed'
                and closed_on is null
            )
            or disbursed_on = {{ business_date() }}
            or closed_on between {{ add_days(business_date(), -1) }} and {{ business_date() }}
            or written_off_on = {{ business_date() }}
    ),

    -- The schedule rows that name D: delivered on D, a version in force from D, or due on D-1 or D. One
    -- scan of the delivered rows (the first delivery holds every loan's schedule) for the two rules below.
    schedule_rows_naming_the_date as {{ cte_computed_first() }} (
        select
            loan_id,
            delivered_on,
            effective_from,
            due_date
        from {{ installment_deliveries }}
        where
            delivered_on = {{ business_date() }}
            or effective_from = {{ business_date() }}
            or due_date in ({{ add_days(business_date(), -1) }}, {{ business_date() }})
    ),

    schedules_changed as (
        select loan_id from schedule_rows_naming_the_date
        where delivered_on = {{ business_date() }} or effective_from = {{ business_date() }}
    ),

    -- An installment falling due changes a loan only when it leaves something unpaid, which D-1's row
    -- tells (decision 010): due on D-1 with any remainder, even within the tolerance (it joins the
    -- overdue split on D: the oldest unsettled installment is due on D-1 or earlier); due on D and not
    -- paid (it leaves the pre-due window, and only the schedule says whether another unpaid installment
    -- keeps the loan pre-due: the next due date is D or earlier). Entering the pre-due window needs no
    -- recompute: the snapshot derives it from the carried next due date. A loan without a row on D-1,
    -- or with a row written before the oldest unsettled due date was kept (empty), is recomputed.
    installments_falling_due as (
        select installments.loan_id
        from schedule_rows_naming_the_date as installments
        left join {{ previous_night }} as yesterday
            on
                yesterday.business_date = {{ add_days(business_date(), -1) }}
                and installments.loan_id = yesterday.loan_id
        where
            (
                installments.due_date = {{ add_days(business_date(), -1) }}
                and coalesce(
                    {{ existing_column_or_null(previous_night, 'yesterday', 'oldest_unsettled_due_date', 'date') }}
                    <= {{ add_days(business_date(), -1) }},
                    true
                )
            )
            or (
                installments.due_date = {{ business_date() }}
                and (yesterday.loan_id is null or yesterday.next_due_date <= {{ business_date() }})
            )
    ),

    -- By index on the stored payments, not by scanning every delivered day of raw.payments.
    money_changed as (
        {{ loans_with_money_changing_on_business_date(stored_payments) }}
    ),

    final as (
        select loan_id from loans_changed
        union
        select loan_id from schedules_changed
        union
        select loan_id from installments_falling_due
        union
        select loan_id from money_changed
    )
{% else %}
    with final as (
        select distinct loan_id from {{ loan_deliveries }}
    )
{% endif %}

select * from final
