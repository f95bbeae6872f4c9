-- The bins of the scorecard version active at D (business rules §10): the activation with the latest
-- effective_from on or before D (the later activation wins a tie). Activations only take effect on dates
-- not yet built (`arrears score activate`), so rebuilding a night scores it with the version it used.
with activations as (
    select
        version,
        row_number() over (order by effective_from desc, activated_at desc) as recency
    from {{ source('scorecards', 'scorecard_activations') }}
    where effective_from <= {{ business_date() }}
),

active as (
    select version
    from activations
    where recency = 1
)

select
    bins.version,
    versions.intercept,
    versions.base_points,
    bins.feature,
    bins.bin_no,
    bins.lower_bound,
    bins.upper_bound,
    bins.category,
    bins.is_missing,
    bins.logit,
    bins.points
from {{ source('scorecards', 'scorecard_bins') }} as bins
inner join active
    on bins.version = active.version
inner join {{ source('scorecards', 'scorecard_versions') }} as versions
    on bins.version = versions.version
