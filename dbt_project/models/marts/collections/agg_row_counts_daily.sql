-- Rows per business date of the loan snapshot and of the work queue (per team; held rows with a null
-- team): the quality gate's volume bands compare tonight's count with the trailing nights' counts read
-- here, a few rows a night, instead of re-counting a week of million-row tables (decision 004).
-- A first build counts every night built so far (a warehouse that gains this model keeps its band);
-- each later night replaces D's counts.
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

with snapshot_rows as (
    select
        business_date,
        count(*) as row_count
    from {{ ref('fct_loan_delinquency_daily') }}
    where {{ nights_counted }}
    group by business_date
),

queue_rows as (
    select
        business_date,
        team_id,
        count(*) as row_count
    from {{ ref('fct_work_queue') }}
    where {{ nights_counted }}
    group by business_date, team_id
),

final as (
    select
        business_date,
        cast('fct_loan_delinquency_daily' as {{ dbt.type_string() }}) as relation_name,
        cast(null as {{ dbt.type_string() }}) as team_id,
        cast(row_count as integer) as row_count
    from snapshot_rows
    union all
    select
        business_date,
        cast('fct_work_queue' as {{ dbt.type_string() }}) as relation_name,
        cast(team_id as {{ dbt.type_string() }}) as team_id,
        cast(row_count as integer) as row_count
    from queue_rows
)

select * from final
