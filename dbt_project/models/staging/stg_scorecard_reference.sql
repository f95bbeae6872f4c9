-- The training population's points bands of every scorecard version (versions never change once written).
select
    version,
    band_no,
    lower_points,
    upper_points,
    expected_share
from {{ source('scorecards', 'scorecard_reference') }}
