-- The delinquency snapshot's state (§3-4): one row per loan in the snapshot and business date, what
-- fct_loan_delinquency_daily publishes. Incremental by business date (a night replaces only D's rows).
-- The loans that can have changed since D-1 (int_loans_to_recompute, docs/decisions/010) are
-- recomputed (int_loan_dpd_at_date); every other loan keeps its state of D-1 and only its DPD advances
-- with the date, so a night costs what changed, not the book. Both are classified by one macro
-- (classify_delinquency). One index, date first: every reader takes one date. ANALYZE after each
-- night: the models reading D's rows plan their joins on its statistics (docs/scaling.md).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook=[
            "{{ replace_business_date() }}",
            "{{ drop_unconfigured_indexes() }}",
            "{{ prefer_index_lookups() }}",
        ],
        post_hook='{{ analyze_relation(this, statistics_target=10) }}',
        indexes=[{'columns': ['business_date', 'loan_id'], 'unique': true}],
    )
}}

{#- Taken here, where parsing renders them: the carried branch renders only on an incremental run. -#}
{%- set loans_recomputed = ref('int_loans_to_recompute') %}
{%- set dpd_buckets = ref('dpd_buckets') %}
{%- set regulatory_classes = ref('regulatory_classes') %}

with loan_dpd_at_date as (
    select * from {{ ref('int_loan_dpd_at_date') }}
),

{% if is_incremental() %}
    -- Every loan not recomputed tonight keeps D-1's state (int_loans_to_recompute lists what can change
    -- a loan from one day to the next). D-1's stage tells whether the loan was written off (that cannot
    -- change without the loan being recomputed). Pre-due follows the next due date: a carried loan owes
    -- nothing unpaid due on D-1 or D (those are recomputed), so its next due date (the oldest unpaid
    -- installment due from D on) is in D+1 .. D+predue_days exactly when an unpaid installment is due soon (§4).
    carried_from_yesterday as (
        select
            yesterday.loan_id,
            yesterday.borrower_id,
            yesterday.product_code,
            yesterday.loan_status,
            yesterday.disbursed_on,
            yesterday.principal,
            yesterday.schedule_version,
            yesterday.overdue_principal,
            yesterday.overdue_interest,
            yesterday.overdue_fee,
            yesterday.overdue_amount,
            yesterday.outstanding_principal,
            yesterday.net_paid,
            yesterday.oldest_unpaid_due_date,
            yesterday.next_due_date,
            -- Empty on the first night after the column was added (D-1's rows predate it).
            {{ existing_column_or_null(this, 'yesterday', 'oldest_unsettled_due_date', 'date') }}
                as oldest_unsettled_due_date,
            yesterday.stage = 'written_off' as is_written_off,
            {{ days_past_due('yesterday.oldest_unpaid_due_date') }} as dpd
        from {{ this }} as yesterday
        where
            yesterday.business_date = {{ add_days(business_date(), -1) }}
            and not exists (
                select 1 from {{ loans_recomputed }} as recomputed
                where recomputed.loan_id = yesterday.loan_id
            )
    ),

    carried_classified as (
        {{ classify_delinquency(
            'carried_from_yesterday',
            'carried_from_yesterday.dpd',
            'carried_from_yesterday.is_written_off',
            'carried_from_yesterday.next_due_date between '
            ~ add_days(business_date(), 1) ~ ' and ' ~ add_days(business_date(), var('predue_days')),
            dpd_buckets,
            regulatory_classes,
        ) }}
    ),

    carried as (
        select
            {{ business_date() }} as business_date,
            loan_id,
            borrower_id,
            product_code,
            loan_status,
            disbursed_on,
            principal,
            schedule_version,
            dpd,
            bucket,
            bucket_order,
            stage,
            regulatory_class,
            is_charge_off_candidate,
            overdue_principal,
            overdue_interest,
            overdue_fee,
            overdue_amount,
            outstanding_principal,
            net_paid,
            oldest_unpaid_due_date,
            next_due_date,
            oldest_unsettled_due_date
        from carried_classified
    ),
{% endif %}

recomputed as (
    select
        business_date,
        loan_id,
        borrower_id,
        product_code,
        loan_status,
        disbursed_on,
        principal,
        schedule_version,
        dpd,
        bucket,
        bucket_order,
        stage,
        regulatory_class,
        is_charge_off_candidate,
        cast(overdue_principal as numeric(18, 2)) as overdue_principal,
        cast(overdue_interest as numeric(18, 2)) as overdue_interest,
        cast(overdue_fee as numeric(18, 2)) as overdue_fee,
        cast(overdue_amount as numeric(18, 2)) as overdue_amount,
        cast(outstanding_principal as numeric(18, 2)) as outstanding_principal,
        cast(net_paid as numeric(18, 2)) as net_paid,
        oldest_unpaid_due_date,
        next_due_date,
        oldest_unsettled_due_date
    from loan_dpd_at_date
),

final as (
    select * from recomputed
    {% if is_incremental() %}
        union all
        select * from carried
    {% endif %}
)

select * from final
