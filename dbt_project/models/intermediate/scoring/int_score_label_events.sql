-- The nights on which a scored loan's §10 event can first show (business rules §10, the label of
-- int_score_labels): its bucket rose, or its DPD reached 30, since its row the night before. A loan without
-- a row the night before (new to the snapshot, or a skipped night) is kept whenever it is past due, so the
-- rows are a superset of those changes. The realised KS (int_score_outcome_counts) labels a scored night
-- from these rows alone: the first night within the horizon that is worse than D is always one of them, and
-- the label's test is made on the row's own DPD and bucket. A few per cent of the snapshot, read by date.
-- Incremental by business date: a night keeps D's feature rows flagged is_label_event (the features model
-- compares D with D-1 as it carries its counters, decision 043); the first build compares every built night
-- with the night before.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ replace_business_date() }}",
        indexes=[{'columns': ['business_date', 'loan_id'], 'unique': true}],
    )
}}

{%- if is_incremental() %}

    select
        business_date,
        loan_id,
        dpd,
        bucket_order
    from {{ ref('int_score_features_daily') }}
    where business_date = {{ business_date() }} and is_label_event

{%- else %}

    with today as (
        select
            business_date,
            loan_id,
            dpd,
            bucket_order
        from {{ ref('int_score_features_daily') }}
        where business_date <= {{ business_date() }}
    ),

    previous_night as (
        select
            business_date,
            loan_id,
            dpd,
            bucket_order
        from {{ ref('int_score_features_daily') }}
        where business_date < {{ business_date() }}
    )

    select
        today.business_date,
        today.loan_id,
        today.dpd,
        today.bucket_order
    from today
    left join previous_night
        on
            today.loan_id = previous_night.loan_id
            and previous_night.business_date = {{ add_days('today.business_date', -1) }}
    where
        (previous_night.loan_id is null and (today.dpd > 0 or today.bucket_order > 0))
        or today.bucket_order > previous_night.bucket_order
        or (today.dpd >= 30 and previous_night.dpd < 30)

{%- endif %}
