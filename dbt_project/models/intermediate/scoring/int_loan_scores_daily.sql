-- The collection score of every loan in D's snapshot (business rules §10), applied in the warehouse. The
-- active scorecard's bins (stg_scorecard_bins) are read when the model runs and compiled into one CASE per
-- feature, summed in a single pass over D's feature rows: no unpivot, no join to the bins. The shares are
-- exact numerics written as the table holds them, so a rebuilt night gives bit-identical scores. No rows
-- when no version is active. Incremental by business date.
-- depends_on: {{ ref('stg_scorecard_bins') }}
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
{%- set bins = active_scorecard_bins() %}
{%- set scored = bins | length > 0 %}
{%- set version = bins[0]['version'] if scored else '' %}

with features as (
    select *
    from {{ ref('int_score_features_daily') }}
    where business_date = {{ business_date() }}
),

summed as (
    select
        business_date,
        loan_id,
        {%- if scored %}
            cast({{ bins[0]['base_points'] }} as integer)
            {%- for feature in var('score_numeric_features') %}
                + {{ scorecard_feature_case(bins, feature, 'points', false) }}
            {%- endfor %}
            {%- for feature in var('score_categorical_features') %}
                + {{ scorecard_feature_case(bins, feature, 'points', true) }}
            {%- endfor %} as points,
            cast({{ bins[0]['intercept'] }} as numeric)
            {%- for feature in var('score_numeric_features') %}
                + {{ scorecard_feature_case(bins, feature, 'logit', false) }}
            {%- endfor %}
            {%- for feature in var('score_categorical_features') %}
                + {{ scorecard_feature_case(bins, feature, 'logit', true) }}
            {%- endfor %} as logit
        {%- else %}
            cast(null as integer) as points,
            cast(null as numeric) as logit
        {%- endif %}
    from features
    {%- if not scored %}
        where 1 = 0
    {%- endif %}
),

final as (
    select
        business_date,
        loan_id,
        cast('{{ version }}' as {{ dbt.type_string() }}) as scorecard_version,
        cast(points as integer) as score_points,
        cast(logit as numeric(18, 8)) as score_logit,
        cast(1 / (1 + exp(-logit)) as numeric(10, 8)) as score_probability
    from summed
)

select * from final
