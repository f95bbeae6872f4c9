-- Every arrangement known at the business date (business rules §9): its status judged from payments
-- and the plan beside the status the source delivered (status_disagrees flags a difference rather
-- than hiding it), settlements' amount paid and waived amount, the negotiating team.
{{ config(
    materialized='table',
    contract={'enforced': true},
) }}

with final as (
    select
        cast(arrangement_id as {{ dbt.type_string() }}) as arrangement_id,
        cast(loan_id as {{ dbt.type_string() }}) as loan_id,
        cast(kind as {{ dbt.type_string() }}) as kind,
        cast(agreed_on as date) as agreed_on,
        cast(negotiating_team_id as {{ dbt.type_string() }}) as negotiating_team_id,
        cast(delivered_status as {{ dbt.type_string() }}) as delivered_status,
        cast(derived_status as {{ dbt.type_string() }}) as derived_status,
        cast(status_disagrees as boolean) as status_disagrees,
        cast(new_schedule_version as integer) as new_schedule_version,
        cast(settlement_amount as numeric(18, 2)) as settlement_amount,
        cast(settle_by as date) as settle_by,
        cast(settlement_paid as numeric(18, 2)) as settlement_paid,
        cast(waived_amount as numeric(18, 2)) as waived_amount,
        cast(kept_on as date) as kept_on,
        cast(broken_on as date) as broken_on,
        cast(is_settlement_pending as boolean) as is_settlement_pending,
        {{ business_date() }} as as_of_date
    from {{ ref('int_arrangement_states') }}
)

select * from final
