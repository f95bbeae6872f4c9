-- Published (§8, §6 vintage): for loans disbursed in cohort month c, the share (count and principal)
-- that ever reached DPD >= 30 / 60 / 90 by month on book m (m = calendar months since the cohort
-- month; m = 0 is the disbursement month), as known at D. Rebuilt each night from the per-loan
-- milestones: cost follows the portfolio, not the days built.
{%- set thresholds = var('vintage_dpd_thresholds') %}

with milestones as (
    select * from {{ ref('int_loan_dpd_milestones') }}
    -- Rebuilding an older D must not see loans or milestones recorded by later nights.
    where first_seen_on <= {{ business_date() }}
),

loans_by_month_reached as (
    select
        cohort_month,
        principal,
    {%- for threshold in thresholds %}
        case
            when reached_dpd_{{ threshold }}_on <= {{ business_date() }}
                then {{ calendar_months_between('cohort_month', 'reached_dpd_' ~ threshold ~ '_on') }}
        end as reached_dpd_{{ threshold }}_month{{ "," if not loop.last }}
    {%- endfor %}
    from milestones
),

cohort_totals as (
    select
        cohort_month,
        count(*) as loans,
        sum(principal) as principal,
        {{ calendar_months_between('cohort_month', business_date()) }} as months_to_date
    from loans_by_month_reached
    group by cohort_month
),

-- Aggregate per cohort and month reached first, so the grid below joins small tables only.
{%- for threshold in thresholds %}

    reached_dpd_{{ threshold }}_by_month as (
        select
            cohort_month,
            reached_dpd_{{ threshold }}_month as month_reached,
            count(*) as loans,
            sum(principal) as principal
        from loans_by_month_reached
        where reached_dpd_{{ threshold }}_month is not null
        group by cohort_month, reached_dpd_{{ threshold }}_month
    ),
{%- endfor %}

-- Months on book 0 .. 9999 (833 years: more than any cohort's age), cut at the oldest cohort's
-- age: the integers every cohort's curve needs, in portable SQL (no generate_series).
digits as (
    {%- for digit in range(10) %}
        select {{ digit }} as digit{{ " union all" if not loop.last }}
    {%- endfor %}
),

months_on_book_series as (
    select thousands.digit * 1000 + hundreds.digit * 100 + tens.digit * 10 + units.digit as months_on_book
    from digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as units
    where
        thousands.digit * 1000 + hundreds.digit * 100 + tens.digit * 10 + units.digit
        <= (select max(cohort_totals.months_to_date) from cohort_totals)
),

cohort_months_on_book as (
    select
        cohort_totals.cohort_month,
        cast(months_on_book_series.months_on_book as integer) as months_on_book,
        cohort_totals.loans,
        cohort_totals.principal
    from cohort_totals
    inner join months_on_book_series
        on months_on_book_series.months_on_book between 0 and cohort_totals.months_to_date
),

curves as (
    select
        cohort_months_on_book.cohort_month,
        cohort_months_on_book.months_on_book,
        cohort_months_on_book.loans,
        cohort_months_on_book.principal,
    {%- for threshold in thresholds %}
        (
            select coalesce(sum(reached.loans), 0)
            from reached_dpd_{{ threshold }}_by_month as reached
            where
                reached.cohort_month = cohort_months_on_book.cohort_month
                and reached.month_reached <= cohort_months_on_book.months_on_book
        ) as ever_{{ threshold }}_loans,
        (
            select coalesce(sum(reached.principal), 0)
            from reached_dpd_{{ threshold }}_by_month as reached
            where
                reached.cohort_month = cohort_months_on_book.cohort_month
                and reached.month_reached <= cohort_months_on_book.months_on_book
        ) as ever_{{ threshold }}_principal{{ "," if not loop.last }}
    {%- endfor %}
    from cohort_months_on_book
),

final as (
    select
        {{ business_date() }} as as_of_date,
        cohort_month,
        months_on_book,
        cast(loans as integer) as loans,
        cast(principal as numeric(18, 2)) as principal,
    {%- for threshold in thresholds %}
        cast(cast(ever_{{ threshold }}_loans as {{ dbt.type_numeric() }}) / loans as numeric(9, 6))
            as ever_{{ threshold }}_share,
        cast(ever_{{ threshold }}_principal / nullif(principal, 0) as numeric(9, 6))
            as ever_{{ threshold }}_principal_share{{ "," if not loop.last }}
    {%- endfor %}
    from curves
)

select * from final
