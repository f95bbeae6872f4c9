-- One row per legal case known at the business date (business rules §9): its current status, the
-- date it entered each status of the pipeline, claim vs judgment, and the net amount recovered on
-- the loan since referral (payments valued from opened_on to D, reversals taken back, §3).
{{ config(
    materialized='table',
    contract={'enforced': true},
) }}

{%- set statuses = ['referred', 'accepted', 'filed', 'judgment', 'enforcement', 'closed', 'withdrawn'] %}

with cases as (
    select * from {{ ref('stg_legal_cases') }}
    where opened_on <= {{ business_date() }}
),

entries as (
    select
        case_id,
        {%- for status in statuses %}
            min(case when status = '{{ status }}' then entered_on end) as entered_{{ status }}_on,
        {%- endfor %}
        max(case when is_current_stay then days_in_status end) as days_in_current_status
    from {{ ref('int_legal_case_statuses') }}
    group by case_id
),

payments_known as (
    {{ payments_known_at_business_date(ref('stored_payments'), loans_of='cases') }}
),

payments_net as (
    select
        payments.loan_id,
        payments.value_date,
        payments.amount
    from payments_known as payments
    where {{ is_unreversed_payment('payments', 'payments_known') }}
),

recoveries as (
    select
        cases.case_id,
        sum(payments_net.amount) as recovered
    from cases
    inner join payments_net
        on
            cases.loan_id = payments_net.loan_id
            and cases.opened_on <= payments_net.value_date
    group by cases.case_id
),

final as (
    select
        cast(cases.case_id as {{ dbt.type_string() }}) as case_id,
        cast(cases.loan_id as {{ dbt.type_string() }}) as loan_id,
        cast(cases.status as {{ dbt.type_string() }}) as status,
        cast(cases.opened_on as date) as opened_on,
        cast(cases.court as {{ dbt.type_string() }}) as court,
        {%- for status in statuses %}
            cast(entries.entered_{{ status }}_on as date) as entered_{{ status }}_on,
        {%- endfor %}
        cast(entries.days_in_current_status as integer) as days_in_current_status,
        cast(cases.claim_amount as numeric(18, 2)) as claim_amount,
        cast(cases.judgment_amount as numeric(18, 2)) as judgment_amount,
        cast(
            cases.judgment_amount / nullif(cases.claim_amount, 0) as numeric(9, 4)
        ) as judgment_to_claim,
        cast(coalesce(recoveries.recovered, 0) as numeric(18, 2)) as recovered_since_referral,
        cast(
            coalesce(recoveries.recovered, 0) / nullif(cases.claim_amount, 0) as numeric(9, 4)
        ) as recovery_rate,
        {{ business_date() }} as as_of_date
    from cases
    left join entries
        on cases.case_id = entries.case_id
    left join recoveries
        on cases.case_id = recoveries.case_id
)

select * from final
