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
{%- set scale = scorecard_logit_scale(bins) %}
{%- set numeric_features = var('score_numeric_features') %}
{%- set categorical_features = var('score_categorical_features') %}

-- Each feature cast once (the CASEs compare the cast value).
with features as (
    select
        business_date,
        {%- for feature in numeric_features %}
            cast({{ feature }} as {{ dbt.type_float() }}) as {{ feature }},
        {%- endfor %}
        {%- for feature in categorical_features %}
            cast({{ feature }} as {{ dbt.type_string() }}) as {{ feature }},
        {%- endfor %}
        loan_id
    from {{ ref('int_score_features_daily') }}
    where business_date = {{ business_date() }}
),

-- Points and the log-odds in integer units of 10^-scale: exact integer sums, cheaper than numeric ones.
summed as (
    select
        business_date,
        loan_id,
        {%- if scored %}
            cast({{ bins[0]['base_points'] }} as integer)
            {%- for feature in numeric_features + categorical_features %}
                + {{ scorecard_feature_case(
                    bins, feature, 'points', feature in categorical_features, feature, scale
                ) }}
            {%- endfor %} as points,
            cast({{ scorecard_decimal_units(bins[0]['intercept'], scale) }} as {{ dbt.type_bigint() }})
            {%- for feature in numeric_features + categorical_features %}
                + {{ scorecard_feature_case(
                    bins, feature, 'units', feature in categorical_features, feature, scale
                ) }}
            {%- endfor %} as logit_units
        {%- else %}
            cast(null as integer) as points,
            cast(null as {{ dbt.type_bigint() }}) as logit_units
        {%- endif %}
    from features
    {%- if not scored %}
        where 1 = 0
    {%- endif %}
),

-- Back to the exact decimal, with `scale` decimals, as the sum of the shares was before.
logits as (
    select
        business_date,
        loan_id,
        points,
        cast(logit_units as numeric) * {{ '1' if scale == 0 else '0.' ~ ('0' * (scale - 1)) ~ '1' }} as logit
    from summed
),

final as (
    select
        business_date,
        loan_id,
        cast('{{ version }}' as {{ dbt.type_string() }}) as scorecard_version,
        cast(points as integer) as score_points,
        cast(logit as numeric(18, 8)) as score_logit,
        cast(1 / (1 + exp(-logit)) as numeric(10, 8)) as score_probability
    from logits
)

select * from final
