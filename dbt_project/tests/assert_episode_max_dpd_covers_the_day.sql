-- An episode's max_dpd is never below the DPD of the day (§6; one row per loan and date is the
-- unique_combination test of the model). Returns the offending rows of D.
select
    episode_days.business_date,
    episode_days.loan_id,
    episode_days.episode_no,
    episode_days.dpd,
    episode_days.max_dpd
from {{ ref('int_delinquency_episode_days') }} as episode_days
where
    episode_days.business_date = {{ business_date() }}
    and episode_days.max_dpd < coalesce(episode_days.dpd, 0)
