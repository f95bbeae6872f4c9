-- The legal pipeline per status and month (business rules §9): the cases that entered each status in
-- the month, the median days they stayed in it (a stay still running counts its days so far), the
-- cases in the status at the month's end (or at D for the current month), and the recovery rate of
-- the cases entering it (recovered since referral / claim, as of D).
{{ config(
    materialized='table',
    contract={'enforced': true},
) }}

with stays as (
    select
        statuses.case_id,
        statuses.status,
        statuses.status_order,
        statuses.entered_on,
        statuses.left_on,
        statuses.days_in_status,
        cast({{ dbt.date_trunc('month', 'statuses.entered_on') }} as date) as entered_month
    from {{ ref('int_legal_case_statuses') }} as statuses
),

month_ends as (
    select distinct
        entered_month as month_start,
        least(
            cast({{ dbt.last_day('entered_month', 'month') }} as date), {{ business_date() }}
        ) as month_end
    from stays
),

entered as (
    select
        stays.entered_month as month_start,
        stays.status,
        min(stays.status_order) as status_order,
        count(*) as cases_entered,
        percentile_cont(0.5) within group (order by stays.days_in_status) as median_days_in_status,
        sum(cases.claim_amount) as claim_amount,
        sum(cases.recovered_since_referral) as recovered
    from stays
    inner join {{ ref('fct_legal_cases') }} as cases
        on stays.case_id = cases.case_id
    group by stays.entered_month, stays.status
),

in_status_at_month_end as (
    select
        month_ends.month_start,
        stays.status,
        count(*) as cases_at_month_end
    from month_ends
    inner join stays
        on
            month_ends.month_end >= stays.entered_on
            and (stays.left_on is null or month_ends.month_end < stays.left_on)
    group by month_ends.month_start, stays.status
),

final as (
    select
        cast(entered.month_start as date) as month_start,
        cast(entered.status as {{ dbt.type_string() }}) as status,
        cast(entered.status_order as integer) as status_order,
        cast(entered.cases_entered as bigint) as cases_entered,
        cast(coalesce(in_status_at_month_end.cases_at_month_end, 0) as bigint) as cases_at_month_end,
        cast(entered.median_days_in_status as numeric(9, 1)) as median_days_in_status,
        cast(entered.claim_amount as numeric(18, 2)) as claim_amount,
        cast(entered.recovered as numeric(18, 2)) as recovered,
        cast(entered.recovered / nullif(entered.claim_amount, 0) as numeric(9, 4)) as recovery_rate
    from entered
    left join in_status_at_month_end
        on
            entered.month_start = in_status_at_month_end.month_start
            and entered.status = in_status_at_month_end.status
)

select * from final
