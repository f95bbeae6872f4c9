-- The collection score's realised separation (business rules §10), month by month: for the nights of
-- each month whose label has matured (int_score_labels), the KS of the score against what happened
-- (largest gap between the cumulative shares of events and non-events, riskiest first) and the event
-- and mean predicted rates. Rebuilt whole each night: a month fills in as its labels mature.
{{ config(materialized='table', contract={'enforced': true}) }}

with scored as (
    select
        scores.scorecard_version,
        cast({{ dbt.date_trunc('month', 'scores.business_date') }} as date) as score_month,
        scores.score_logit,
        scores.score_probability,
        labels.label
    from {{ ref('int_loan_scores_daily') }} as scores
    inner join {{ ref('int_score_labels') }} as labels
        on scores.business_date = labels.business_date and scores.loan_id = labels.loan_id
),

per_score as (
    select
        score_month,
        scorecard_version,
        score_logit,
        sum(label) as events,
        count(*) - sum(label) as non_events
    from scored
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
        count(*) as loan_days,
        avg(1.0 * label) as event_rate,
        avg(score_probability) as mean_predicted
    from scored
    group by score_month, scorecard_version
)

select
    rates.score_month,
    cast(rates.scorecard_version as {{ dbt.type_string() }}) as scorecard_version,
    cast(rates.loan_days as bigint) as loan_days,
    cast(rates.event_rate as numeric(10, 6)) as event_rate,
    cast(rates.mean_predicted as numeric(10, 6)) as mean_predicted,
    cast(ks.ks as numeric(10, 6)) as realised_ks
from rates
inner join ks
    on rates.score_month = ks.score_month and rates.scorecard_version = ks.scorecard_version
