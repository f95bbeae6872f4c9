-- Loans per business date and stage of the delinquency snapshot: the run report's delinquency-rate trend
-- reads up to 90 nights here, a few rows a night, instead of counting 90 nights of the million-row
-- snapshot (a cost that grew with the history). A first build counts every night built so far (a warehouse
-- that gains this model keeps its trend); each later night replaces D's counts.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_business_date() }}",
    indexes=[{'columns': ['business_date']}],
    contract={'enforced': true},
) }}

{%- set nights_counted = 'business_date = ' ~ business_date() if is_incremental()
    else 'business_date <= ' ~ business_date() %}

with final as (
    select
        business_date,
        cast(stage as {{ dbt.type_string() }}) as stage,
        cast(count(*) as integer) as loans
    from {{ ref('fct_loan_delinquency_daily') }}
    where {{ nights_counted }}
    group by business_date, stage
)

select * from final
