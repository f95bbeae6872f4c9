-- Every activation of a scorecard version (business rules §10): which version scores from which business date.
select
    version,
    effective_from
from {{ source('scorecards', 'scorecard_activations') }}
