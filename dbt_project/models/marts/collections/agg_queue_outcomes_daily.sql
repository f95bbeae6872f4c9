-- What became of the loans each team worked (business rules §6, team performance): the queue
-- computed at D-1 was worked on D; at the end of D, how many of a team's delinquent loans were
-- cured (back to DPD 0, or paid off and gone from the snapshot) and how many rolled forward
-- into a later bucket, per team and the stage the loan was in when queued.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_business_date() }}",
    indexes=[{'columns': ['business_date']}],
    contract={'enforced': true},
) }}

{#- The queue worked on D is the one computed at D-1 (fct_work_queue's work_date is always its
    business_date + 1), selected by business_date, which both tables index first. -#}
{%- set queued_on = add_days(business_date(), -1) %}

with worked_today as (
    select
        queue.loan_id,
        queue.team_id,
        queue.stage,
        queue.dpd,
        snapshot_before.bucket_order
    from {{ ref('fct_work_queue') }} as queue
    inner join {{ ref('fct_loan_delinquency_daily') }} as snapshot_before
        on
            queue.loan_id = snapshot_before.loan_id
            and snapshot_before.business_date = {{ queued_on }}
    where
        -- By business_date (indexed), not work_date = D: that would read every night's queue.
        queue.business_date = {{ queued_on }}
        and queue.team_id is not null
),

outcomes as (
    select
        worked_today.team_id,
        worked_today.stage,
        worked_today.dpd > 0 as was_delinquent,
        worked_today.dpd > 0 and coalesce(snapshot_after.dpd = 0, true) as is_cured,
        coalesce(snapshot_after.bucket_order > worked_today.bucket_order, false) as has_rolled_forward
    from worked_today
    left join {{ ref('fct_loan_delinquency_daily') }} as snapshot_after
        on
            worked_today.loan_id = snapshot_after.loan_id
            and snapshot_after.business_date = {{ business_date() }}
),

final as (
    select
        {{ business_date() }} as business_date,
        cast(team_id as {{ dbt.type_string() }}) as team_id,
        cast(stage as {{ dbt.type_string() }}) as stage,
        cast(count(*) as integer) as loans_worked,
        cast(count(case when was_delinquent then 1 end) as integer) as delinquent_loans_worked,
        cast(count(case when is_cured then 1 end) as integer) as cured,
        cast(count(case when has_rolled_forward then 1 end) as integer) as rolled_forward,
        cast(
            cast(count(case when is_cured then 1 end) as {{ dbt.type_numeric() }})
            / nullif(count(case when was_delinquent then 1 end), 0)
            as numeric(9, 4)
        ) as cure_rate,
        cast(
            cast(count(case when has_rolled_forward then 1 end) as {{ dbt.type_numeric() }}) / nullif(count(*), 0)
            as numeric(9, 4)
        ) as roll_forward_rate
    from outcomes
    group by team_id, stage
)

select * from final
