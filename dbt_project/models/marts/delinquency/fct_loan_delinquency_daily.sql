-- Published (§8): one row per loan in the snapshot and business date. Incremental by business date:
-- a night deletes and re-inserts only D's rows, so its cost does not grow with the days already built;
-- and only the loans that can have changed are recomputed, the rest carried forward from D-1
-- (stg_loans_to_recompute, docs/decisions/010), so it grows with the day's changes, not the book.
-- The post-hook refreshes the planner's statistics (autovacuum may not have seen D's rows yet):
-- without them every model reading D's snapshot expects one row and nests its joins (the work
-- queue's signals went quadratic in loans; docs/scaling.md). ANALYZE samples, so it stays cheap.
-- One index only, date first: every reader takes one date. A loan-first index took 7-19 s of each
-- night's insert at 1 M loans and 33 days, growing with the days built (every night's rows land on
-- leaf pages all over it); a loan's history is read by date range instead (docs/scaling.md).
-- The recomputed loans' schedules are probed by loan in int_installments' index (prefer_index_lookups:
-- 0.2-0.4 s at 1 M loans, where a scan of every installment took 1.0-1.8 s).
-- depends_on: {{ ref('stg_loans_to_recompute') }}
-- depends_on: {{ ref('dpd_buckets') }}
-- depends_on: {{ ref('regulatory_classes') }}
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

with loan_dpd_at_date as (
    select * from {{ ref('int_loan_dpd_at_date') }}
),

{% if is_incremental() %}
    -- Every loan not recomputed tonight keeps D-1's state (stg_loans_to_recompute lists what can change
    -- a loan from one day to the next); only its DPD advances with the date, and its bucket, stage and
    -- class follow the DPD. D-1's stage tells whether the loan was written off (that cannot change
    -- without the loan being recomputed). Pre-due follows the next due date: a carried loan owes nothing
    -- unpaid due on D-1 or D (those are recomputed), so its next due date (the oldest unpaid installment
    -- due from D on) is in D+1 .. D+predue_days exactly when an unpaid installment is due soon (§4).
    carried_from_yesterday as (
        select
            yesterday.*,
            -- Empty on the first night after the column was added (D-1's rows predate it).
            {{ existing_column_or_null(this, 'yesterday', 'oldest_unsettled_due_date', 'date') }}
                as oldest_unsettled_due_date_yesterday,
            case
                when yesterday.oldest_unpaid_due_date < {{ business_date() }}
                    then {{ dbt.datediff('yesterday.oldest_unpaid_due_date', business_date(), 'day') }}
                else 0
            end as dpd_today
        from {{ this }} as yesterday
        where
            yesterday.business_date = {{ add_days(business_date(), -1) }}
            and not exists (
                select 1 from {{ ref('stg_loans_to_recompute') }} as recomputed
                where recomputed.loan_id = yesterday.loan_id
            )
    ),

    carried as (
        select
            {{ business_date() }} as business_date,
            carried_from_yesterday.loan_id,
            carried_from_yesterday.borrower_id,
            carried_from_yesterday.product_code,
            carried_from_yesterday.loan_status,
            carried_from_yesterday.disbursed_on,
            carried_from_yesterday.principal,
            carried_from_yesterday.schedule_version,
            carried_from_yesterday.dpd_today as dpd,
            dpd_buckets.bucket,
            dpd_buckets.bucket_order,
            {{ delinquency_stage(
                "carried_from_yesterday.stage = 'written_off'",
                'carried_from_yesterday.dpd_today',
                'carried_from_yesterday.next_due_date between '
                ~ add_days(business_date(), 1) ~ ' and ' ~ add_days(business_date(), var('predue_days')),
                'dpd_buckets.stage',
            ) }} as stage,
            regulatory_classes.regulatory_class,
            dpd_buckets.is_charge_off_candidate,
            carried_from_yesterday.overdue_principal,
            carried_from_yesterday.overdue_interest,
            carried_from_yesterday.overdue_fee,
            carried_from_yesterday.overdue_amount,
            carried_from_yesterday.outstanding_principal,
            carried_from_yesterday.net_paid,
            carried_from_yesterday.oldest_unpaid_due_date,
            carried_from_yesterday.next_due_date,
            carried_from_yesterday.oldest_unsettled_due_date_yesterday as oldest_unsettled_due_date
        from carried_from_yesterday
        left join {{ ref('dpd_buckets') }} as dpd_buckets
            on
                carried_from_yesterday.dpd_today
                between dpd_buckets.min_dpd and coalesce(dpd_buckets.max_dpd, carried_from_yesterday.dpd_today)
        left join {{ ref('regulatory_classes') }} as regulatory_classes
            on
                carried_from_yesterday.dpd_today
                between regulatory_classes.min_dpd
                and coalesce(regulatory_classes.max_dpd, carried_from_yesterday.dpd_today)
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
