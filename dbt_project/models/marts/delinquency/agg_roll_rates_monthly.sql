-- Published (§8, §6 roll and cure rates): for each month end, the loans in bucket i at the previous
-- month end and the bucket j they are in at this month end ('closed' when they left the snapshot),
-- by count and by outstanding principal at the previous month end. Built on the night of a month
-- end only (other nights insert nothing), from two snapshots: cost is one month pair, never history.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ replace_business_date('month_end') }}",
        indexes=[{'columns': ['month_end', 'from_bucket', 'to_bucket'], 'unique': true}],
    )
}}

with month_ends as (
    select
        {{ business_date() }} as month_end,
        {{ add_days(dbt.date_trunc('month', business_date()), -1) }} as previous_month_end
    -- Only the last day of a month produces rows.
    where {{ business_date() }} = {{ dbt.last_day(business_date(), 'month') }}
),

previous_snapshot as (
    select snapshots.*
    from {{ ref('fct_loan_delinquency_daily') }} as snapshots
    inner join month_ends
        on snapshots.business_date = month_ends.previous_month_end
),

current_snapshot as (
    select snapshots.*
    from {{ ref('fct_loan_delinquency_daily') }} as snapshots
    inner join month_ends
        on snapshots.business_date = month_ends.month_end
),

transitions as (
    select
        previous_snapshot.bucket as from_bucket,
        previous_snapshot.bucket_order as from_bucket_order,
        coalesce(current_snapshot.bucket, 'closed') as to_bucket,
        previous_snapshot.outstanding_principal as principal
    from previous_snapshot
    left join current_snapshot
        on previous_snapshot.loan_id = current_snapshot.loan_id
),

transition_counts as (
    select
        from_bucket,
        from_bucket_order,
        to_bucket,
        count(*) as loans,
        sum(principal) as principal
    from transitions
    group by from_bucket, from_bucket_order, to_bucket
),

final as (
    select
        month_ends.month_end,
        transition_counts.from_bucket,
        transition_counts.to_bucket,
        cast(transition_counts.loans as integer) as loans,
        cast(
            cast(transition_counts.loans as {{ dbt.type_numeric() }})
            / sum(transition_counts.loans) over (partition by transition_counts.from_bucket)
            as numeric(9, 6)
        ) as loans_share,
        cast(transition_counts.principal as numeric(18, 2)) as principal,
        cast(
            transition_counts.principal
            / nullif(sum(transition_counts.principal) over (partition by transition_counts.from_bucket), 0)
            as numeric(9, 6)
        ) as principal_share,
        -- Cure rate (§6): delinquent at the previous month end, M0 at this one.
        transition_counts.from_bucket_order > 0 and transition_counts.to_bucket = 'M0' as is_cure
    from transition_counts
    cross join month_ends
)

select * from final
