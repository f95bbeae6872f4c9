-- The realised outcome of the collection score (business rules §10) per scored night, version and score:
-- how many loans had that score at D, how many of them had the §10 event within score_horizon_days, and
-- the sum of their predicted probabilities. What the realised KS per month needs (the largest gap between
-- the cumulative shares of events and non-events, riskiest first), without reading a scored night twice.
-- Night N adds the scored nights whose horizon has just been built: after the latest one already counted
-- by an earlier night, up to N - horizon (one night, unless nights were skipped or nothing was scored). So
-- a night reads one scored night (the score columns of int_score_features_daily) and the 30 nights of
-- int_score_label_events, and a rebuilt night N counts exactly what it counted the first time. The first
-- build counts every matured night.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ replace_business_date('matured_on') }}",
        indexes=[{'columns': ['business_date']}, {'columns': ['matured_on']}],
    )
}}

{%- set horizon = var('score_horizon_days') %}
{%- set last_matured = add_days(business_date(), '-' ~ horizon) %}
{%- set after_counted = score_outcomes_counted_until() %}

with scored as (
    select
        business_date,
        loan_id,
        scorecard_version,
        score_logit,
        score_probability,
        dpd,
        bucket_order
    from {{ ref('int_score_features_daily') }}
    where
        scorecard_version is not null
        and business_date <= {{ last_matured }}
        and business_date > {{ after_counted }}
),

-- The §10 event: a current loan (DPD 0) at DPD >= 30, or a delinquent one in a worse bucket, on a night
-- within the horizon. The first such night is always a row of int_score_label_events.
events as (
    select
        business_date,
        loan_id,
        dpd,
        bucket_order
    from {{ ref('int_score_label_events') }}
    where business_date <= {{ business_date() }} and business_date > {{ after_counted }}
),

-- The scored loans whose event happened: joined by loan (a hash join over the horizon's event rows).
with_event as (
    select
        scored.business_date,
        scored.loan_id
    from scored
    inner join events
        on
            scored.loan_id = events.loan_id
            and scored.business_date < events.business_date
            and {{ add_days('scored.business_date', horizon) }} >= events.business_date
            and (
                (scored.dpd = 0 and events.dpd >= 30)
                or (scored.dpd <> 0 and scored.bucket_order < events.bucket_order)
            )
    group by scored.business_date, scored.loan_id
),

labelled as (
    select
        scored.business_date,
        scored.scorecard_version,
        scored.score_logit,
        scored.score_probability,
        case when with_event.loan_id is not null then 1 else 0 end as label
    from scored
    left join with_event
        on scored.business_date = with_event.business_date and scored.loan_id = with_event.loan_id
)

select
    {{ business_date() }} as matured_on,
    business_date,
    cast(scorecard_version as {{ dbt.type_string() }}) as scorecard_version,
    score_logit,
    cast(count(*) as bigint) as loan_days,
    cast(sum(label) as bigint) as events,
    sum(score_probability) as probability_sum
from labelled
group by business_date, scorecard_version, score_logit
