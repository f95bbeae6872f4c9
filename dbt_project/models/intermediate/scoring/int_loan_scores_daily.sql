-- The collection score of every loan in D's snapshot (business rules §10), applied in the warehouse: each
-- feature of int_score_features_daily is matched to its bin of the active scorecard (stg_scorecard_bins)
-- and the bins' points and log-odds shares are summed. Sums are of exact numerics, so a rebuilt night
-- gives bit-identical scores. No rows when no version is active. Incremental by business date.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ replace_business_date() }}",
        post_hook='{{ analyze_relation(this, statistics_target=10) }}',
        indexes=[{'columns': ['business_date', 'loan_id'], 'unique': true}],
    )
}}

with features as (
    select *
    from {{ ref('int_score_features_daily') }}
    where business_date = {{ business_date() }}
),

bins as (
    select *
    from {{ ref('stg_scorecard_bins') }}
),

-- One row per loan and feature (numeric value or category).
feature_values as (
    {%- for feature in var('score_numeric_features') %}
        select
            loan_id,
            '{{ feature }}' as feature,
            cast({{ feature }} as {{ dbt.type_float() }}) as numeric_value,
            cast(null as {{ dbt.type_string() }}) as category_value
        from features
        union all
    {%- endfor %}
    {%- for feature in var('score_categorical_features') %}
        select
            loan_id,
            '{{ feature }}' as feature,
            cast(null as {{ dbt.type_float() }}) as numeric_value,
            cast({{ feature }} as {{ dbt.type_string() }}) as category_value
        from features
        {{ "union all" if not loop.last }}
    {%- endfor %}
),

matched as (
    select
        feature_values.loan_id,
        sum(bins.points) as points,
        sum(bins.logit) as logit
    from feature_values
    inner join bins
        on
            feature_values.feature = bins.feature
            and (
                (bins.is_missing and feature_values.numeric_value is null and feature_values.category_value is null)
                or (
                    not bins.is_missing
                    and bins.category is null
                    and feature_values.numeric_value >= coalesce(bins.lower_bound, feature_values.numeric_value)
                    and (bins.upper_bound is null or feature_values.numeric_value < bins.upper_bound)
                )
                or (not bins.is_missing and feature_values.category_value = bins.category)
            )
    group by feature_values.loan_id
),

scorecard as (
    select distinct
        version,
        intercept,
        base_points
    from bins
),

final as (
    select
        features.business_date,
        features.loan_id,
        scorecard.version as scorecard_version,
        cast(scorecard.base_points + coalesce(matched.points, 0) as integer) as score_points,
        cast(scorecard.intercept + coalesce(matched.logit, 0) as numeric(18, 8)) as score_logit,
        cast(1 / (1 + exp(-(scorecard.intercept + coalesce(matched.logit, 0)))) as numeric(10, 8)) as score_probability
    from features
    cross join scorecard
    left join matched
        on features.loan_id = matched.loan_id
)

select * from final
