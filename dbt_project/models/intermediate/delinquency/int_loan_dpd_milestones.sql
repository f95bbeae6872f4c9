-- §6 vintages: per loan, the first date it reached each DPD threshold (var vintage_dpd_thresholds).
-- The date is exact even on a first build: a loan at DPD d >= t on D reached t on D - d + t.
-- Incremental: a night writes only loans that are new or reached a threshold earlier than recorded.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='loan_id',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['loan_id'], 'unique': true}],
    )
}}

{%- set thresholds = var('vintage_dpd_thresholds') %}

with snapshot_today as (
    select * from {{ ref('int_loan_delinquency_daily') }}
    where business_date = {{ business_date() }}
),

milestones_today as (
    select
        loan_id,
        cast({{ dbt.date_trunc('month', 'disbursed_on') }} as date) as cohort_month,
        disbursed_on,
        principal,
        {{ business_date() }} as first_seen_on,
    {%- for threshold in thresholds %}
        case when dpd >= {{ threshold }} then {{ add_days(business_date(), threshold ~ ' - dpd') }} end
            as reached_dpd_{{ threshold }}_on{{ "," if not loop.last }}
    {%- endfor %}
    from snapshot_today
),

{% if is_incremental() %}
    merged as (
        select
            milestones_today.loan_id,
            milestones_today.cohort_month,
            milestones_today.disbursed_on,
            milestones_today.principal,
            -- least() of a null is null on some engines (PostgreSQL ignores it): coalesce keeps PostgreSQL's result.
            coalesce(
                least(recorded.first_seen_on, milestones_today.first_seen_on),
                recorded.first_seen_on,
                milestones_today.first_seen_on
            ) as first_seen_on,
            {%- for threshold in thresholds %}
                coalesce(
                    least(recorded.reached_dpd_{{ threshold }}_on, milestones_today.reached_dpd_{{ threshold }}_on),
                    recorded.reached_dpd_{{ threshold }}_on,
                    milestones_today.reached_dpd_{{ threshold }}_on
                ) as reached_dpd_{{ threshold }}_on,
            {%- endfor %}
            (
                recorded.loan_id is null
                or milestones_today.first_seen_on < recorded.first_seen_on
                {%- for threshold in thresholds %}
                    or (
                        milestones_today.reached_dpd_{{ threshold }}_on
                        < coalesce(recorded.reached_dpd_{{ threshold }}_on, cast('9999-12-31' as date))
                    )
                {%- endfor %}
            ) as has_changed
        from milestones_today
        left join {{ this }} as recorded
            on milestones_today.loan_id = recorded.loan_id
    ),

    final as (
        select
            loan_id,
            cohort_month,
            disbursed_on,
            principal,
            first_seen_on,
        {%- for threshold in thresholds %}
            reached_dpd_{{ threshold }}_on{{ "," if not loop.last }}
        {%- endfor %}
        from merged
        where has_changed
    )
{% else %}
    final as (
        select * from milestones_today
    )
{% endif %}

select * from final
