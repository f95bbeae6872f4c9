-- The collection score's population stability (business rules §10): each night, the share of scored loans
-- per points band of the active version's training population, and the PSI over the bands,
-- sum((actual - expected) x ln(actual / expected)), with its status against score_psi_warning / _alert.
-- Empty bands count as a share of 0.0001 so the logarithm stays finite.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_business_date() }}",
    contract={'enforced': true},
) }}

-- The night's scores counted per points value first (a few hundred values), so the bands are matched
-- against those counts, not against every loan.
with scores as (
    select
        scorecard_version,
        score_points,
        count(*) as loans
    from {{ ref('int_loan_scores_daily') }}
    where business_date = {{ business_date() }}
    group by scorecard_version, score_points
),

scored as (
    select sum(loans) as loans
    from scores
),

bands as (
    select reference.*
    from {{ ref('stg_scorecard_reference') }} as reference
    where reference.version in (select scores.scorecard_version from scores)
),

band_counts as (
    select
        bands.version,
        bands.band_no,
        bands.expected_share,
        coalesce(sum(scores.loans), 0) as loans
    from bands
    left join scores
        on
            (bands.lower_points is null or bands.lower_points <= scores.score_points)
            and (bands.upper_points is null or bands.upper_points > scores.score_points)
    group by bands.version, bands.band_no, bands.expected_share
),

psi as (
    select
        band_counts.version,
        max(scored.loans) as loans,
        sum(
            (greatest(1.0 * band_counts.loans / scored.loans, 0.0001) - greatest(band_counts.expected_share, 0.0001))
            * ln(
                greatest(1.0 * band_counts.loans / scored.loans, 0.0001)
                / greatest(band_counts.expected_share, 0.0001)
            )
        ) as psi
    from band_counts
    cross join scored
    group by band_counts.version
)

select
    {{ business_date() }} as business_date,
    cast(version as {{ dbt.type_string() }}) as scorecard_version,
    cast(loans as bigint) as loans_scored,
    cast(psi as numeric(12, 6)) as psi,
    cast(
        case
            when psi >= {{ var('score_psi_alert') }} then 'alert'
            when psi >= {{ var('score_psi_warning') }} then 'warning'
            else 'stable'
        end as {{ dbt.type_string() }}
    ) as psi_status
from psi
