-- The collection score's realised separation (business rules §10), month by month: for the nights of
-- each month whose label has matured, the KS of the score against what happened (largest gap between the
-- cumulative shares of events and non-events, riskiest first) and the event and mean predicted rates.
-- Incremental: a night recomputes only the months of the scored nights whose labels matured tonight
-- (int_score_outcome_counts, matured_on = D), from the counts per score of every matured night of those
-- months known by D; the other months keep their rows. A month fills in as its labels mature.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['score_month', 'scorecard_version'],
    on_schema_change='fail',
    contract={'enforced': true},
) }}

with counts as (
    select
        cast({{ dbt.date_trunc('month', 'business_date') }} as date) as score_month,
        scorecard_version,
        score_logit,
        loan_days,
        events,
        probability_sum
    from {{ ref('int_score_outcome_counts') }}
    where matured_on <= {{ business_date() }}
),

-- The months to compute: those of the nights matured tonight (on a first build, every month).
matured_tonight as (
    select distinct cast({{ dbt.date_trunc('month', 'business_date') }} as date) as score_month
    from {{ ref('int_score_outcome_counts') }}
    where matured_on {{ '=' if is_incremental() else '<=' }} {{ business_date() }}
),

per_score as (
    select
        score_month,
        scorecard_version,
        score_logit,
        sum(events) as events,
        sum(loan_days) - sum(events) as non_events
    from counts
    where score_month in (select matured_tonight.score_month from matured_tonight)
    group by score_month, scorecard_version, score_logit
),

cumulative as (
    select
        score_month,
        scorecard_version,
        1.0 * sum(events) over (
            partition by score_month, scorecard_version order by score_logit desc rows unbounded preceding
        ) / nullif(sum(events) over (partition by score_month, scorecard_version), 0) as events_share,
        1.0 * sum(non_events) over (
            partition by score_month, scorecard_version order by score_logit desc rows unbounded preceding
        ) / nullif(sum(non_events) over (partition by score_month, scorecard_version), 0) as non_events_share
    from per_score
),

ks as (
    select
        score_month,
        scorecard_version,
        max(abs(events_share - non_events_share)) as ks
    from cumulative
    group by score_month, scorecard_version
),

rates as (
    select
        score_month,
        scorecard_version,
        sum(events) + sum(non_events) as loan_days,
        1.0 * sum(events) / (sum(events) + sum(non_events)) as event_rate
    from per_score
    group by score_month, scorecard_version
),

predicted as (
    select
        score_month,
        scorecard_version,
        sum(probability_sum) / sum(loan_days) as mean_predicted
    from counts
    where score_month in (select matured_tonight.score_month from matured_tonight)
    group by score_month, scorecard_version
)

select
    rates.score_month,
    cast(rates.scorecard_version as {{ dbt.type_string() }}) as scorecard_version,
    cast(rates.loan_days as bigint) as loan_days,
    cast(rates.event_rate as numeric(10, 6)) as event_rate,
    cast(predicted.mean_predicted as numeric(10, 6)) as mean_predicted,
    cast(ks.ks as numeric(10, 6)) as realised_ks
from rates
inner join ks
    on rates.score_month = ks.score_month and rates.scorecard_version = ks.scorecard_version
inner join predicted
    on rates.score_month = predicted.score_month and rates.scorecard_version = predicted.scorecard_version
