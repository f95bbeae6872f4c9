-- Keep rates of arrangements (business rules §9) by kind, month agreed and negotiating team, as judged
-- at the business date: keep_rate = kept / (kept + broken), over the arrangements already resolved
-- (performing and cancelled ones are counted beside it, not in it).
{{ config(
    materialized='table',
    contract={'enforced': true},
) }}

with arrangements as (
    select
        kind,
        cast({{ dbt.date_trunc('month', 'agreed_on') }} as date) as agreed_month,
        coalesce(negotiating_team_id, 'unknown') as negotiating_team_id,
        derived_status,
        status_disagrees,
        waived_amount
    from {{ ref('fct_arrangements') }}
),

counted as (
    select
        kind,
        agreed_month,
        negotiating_team_id,
        count(*) as arrangements,
        sum(case when derived_status = 'performing' then 1 else 0 end) as performing,
        sum(case when derived_status in ('kept', 'completed') then 1 else 0 end) as kept,
        sum(case when derived_status = 'broken' then 1 else 0 end) as broken,
        sum(case when derived_status = 'cancelled' then 1 else 0 end) as cancelled,
        sum(case when status_disagrees then 1 else 0 end) as status_disagreements,
        sum(coalesce(waived_amount, 0)) as waived_amount
    from arrangements
    group by kind, agreed_month, negotiating_team_id
),

final as (
    select
        cast(kind as {{ dbt.type_string() }}) as kind,
        cast(agreed_month as date) as agreed_month,
        cast(negotiating_team_id as {{ dbt.type_string() }}) as negotiating_team_id,
        cast(arrangements as bigint) as arrangements,
        cast(performing as bigint) as performing,
        cast(kept as bigint) as kept,
        cast(broken as bigint) as broken,
        cast(cancelled as bigint) as cancelled,
        cast(cast(kept as numeric) / nullif(kept + broken, 0) as numeric(9, 4)) as keep_rate,
        cast(status_disagreements as bigint) as status_disagreements,
        cast(waived_amount as numeric(18, 2)) as waived_amount
    from counted
)

select * from final
