-- The collection score's label (business rules §10) for every loan and business date D whose 30-day
-- horizon has been built: 1 when a loan current at D (DPD 0) reaches DPD >= 30, or a delinquent loan
-- rolls into a worse bucket, on any date D+1 .. D+horizon; else 0 (a loan that leaves the snapshot by
-- closing is a 0). Only for training, never for a night: it reads the future of D, over the whole snapshot
-- (the nightly realised KS labels from int_score_label_events instead, decision 031).
{{ config(materialized='view') }}

{%- set horizon = var('score_horizon_days') %}

with snapshot as (
    select
        business_date,
        loan_id,
        dpd,
        bucket_order
    from {{ ref('int_loan_delinquency_daily') }}
),

last_built as (
    select max(business_date) as business_date
    from snapshot
),

outcome as (
    select
        business_date,
        loan_id,
        dpd,
        bucket_order,
        max(dpd) over (
            partition by loan_id order by business_date
            {{ days_following_frame(1, horizon) }}
        ) as max_dpd_ahead,
        max(bucket_order) over (
            partition by loan_id order by business_date
            {{ days_following_frame(1, horizon) }}
        ) as max_bucket_ahead
    from snapshot
)

select
    outcome.business_date,
    outcome.loan_id,
    case
        when outcome.dpd = 0 and outcome.max_dpd_ahead >= 30 then 1
        when outcome.dpd = 0 then 0
        when outcome.max_bucket_ahead > outcome.bucket_order then 1
        else 0
    end as label
from outcome
cross join last_built
where outcome.business_date <= {{ add_days('last_built.business_date', '-' ~ horizon) }}
