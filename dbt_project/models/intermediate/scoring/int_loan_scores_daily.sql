-- The collection score of every loan in D's snapshot (business rules §10): the score columns of
-- int_score_features_daily, which applies the scorecard active at D in the same pass as it computes the
-- features (one table written a night, decision 043). No rows for a night without an active version.
{{ config(materialized='view') }}

select
    business_date,
    loan_id,
    scorecard_version,
    score_points,
    score_logit,
    score_probability
from {{ ref('int_score_features_daily') }}
where scorecard_version is not null
