-- The loans whose delinquency snapshot must be recomputed for D: every other loan's row is yesterday's
-- carried forward (fct_loan_delinquency_daily), so a night costs what changed, not the whole book.
-- A loan's §3-4 state can change from D-1 to D only through (docs/decisions/010):
--   a delivery on D (a loan version, a schedule row, a payment or reversal) or a loan version
--   delivered on D-1 (a closure without its date closes on its delivery day and leaves the day after);
--   a date reached: disbursed on D, closed on D-1 or D, written off on D, a schedule version in force
--   from D, money valued on D, or an installment due on D-1 with any remainder (overdue from D) or due
--   on D unpaid (leaves the pre-due window).
-- Without D-1's snapshot (first night, a gap, a full refresh) every loan is recomputed.
-- D-1's snapshot is looked up by relation, not ref(): the snapshot reads this model, and a ref back
-- would be a cycle.
-- The one staging model that reads an intermediate one (int_payments, for its indexes; named below
-- because the ref sits in the branch that parsing does not render).
-- depends_on: {{ ref('int_payments') }}
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['loan_id'], 'unique': true}],
) }}

{%- set carry_forward = namespace(enabled=false) %}
{%- if execute and not flags.FULL_REFRESH %}
    {%- set snapshot_node = graph.nodes['model.arrears.fct_loan_delinquency_daily'] %}
    {%- set snapshot = adapter.get_relation(
        database=snapshot_node.database, schema=snapshot_node.schema, identifier=snapshot_node.alias
    ) %}
    {%- if snapshot is not none %}
        {%- set yesterday = run_query(
            'select count(*) > 0 from (select 1 from ' ~ snapshot ~ ' where business_date = '
            ~ add_days(business_date(), -1) ~ ' limit 1) as yesterday'
        ) %}
        {%- set carry_forward.enabled = yesterday.columns[0].values()[0] %}
    {%- endif %}
{%- endif %}

{% if carry_forward.enabled %}
    with loans_changed as (
        select loan_id from {{ source('raw', 'loans') }}
        where
            _business_date <= {{ business_date() }}
            and (
                _business_date >= {{ add_days(business_date(), -1) }}
                or disbursed_on = {{ business_date() }}
                or closed_on between {{ add_days(business_date(), -1) }} and {{ business_date() }}
                or written_off_on = {{ business_date() }}
            )
    ),

    -- The schedule rows that name D: delivered on D, a version in force from D, or due on D-1 or D. One
    -- scan of raw.installments (its first delivery holds every loan's schedule) for the two rules below.
    schedule_rows_naming_the_date as {{ materialized() }} (
        select
            loan_id,
            _business_date,
            effective_from,
            due_date
        from {{ source('raw', 'installments') }}
        where
            _business_date <= {{ business_date() }}
            and (
                _business_date = {{ business_date() }}
                or effective_from = {{ business_date() }}
                or due_date in ({{ add_days(business_date(), -1) }}, {{ business_date() }})
            )
    ),

    schedules_changed as (
        select loan_id from schedule_rows_naming_the_date
        where _business_date = {{ business_date() }} or effective_from = {{ business_date() }}
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
        left join {{ snapshot }} as yesterday
            on
                yesterday.business_date = {{ add_days(business_date(), -1) }}
                and installments.loan_id = yesterday.loan_id
        where
            (
                installments.due_date = {{ add_days(business_date(), -1) }}
                and coalesce(
                    {{ existing_column_or_null(snapshot, 'yesterday', 'oldest_unsettled_due_date', 'date') }}
                    <= {{ add_days(business_date(), -1) }},
                    true
                )
            )
            or (
                installments.due_date = {{ business_date() }}
                and (yesterday.loan_id is null or yesterday.next_due_date <= {{ business_date() }})
            )
    ),

    -- By index on the stored payments (int_payments), not by scanning every delivered day of raw.payments.
    money_changed as (
        {{ loans_with_money_changing_on_business_date() }}
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
        select distinct loan_id from {{ source('raw', 'loans') }}
        where _business_date <= {{ business_date() }}
    )
{% endif %}

select * from final
