-- Published (§8): every promise to pay made up to the business date with its status as of that date.
-- A view over the stored statuses (int_promises_to_pay, carried forward from night to night):
-- downstream teams read this name, the contract fixes its columns and types.
{{ config(materialized='view') }}

with final as (
    select
        action_id,
        loan_id,
        borrower_id,
        promised_on,
        promised_date,
        promised_amount,
        window_ends_on,
        status,
        kept_on,
        broken_on,
        team_id,
        agent_id,
        channel,
        as_of_date
    from {{ ref('int_promises_to_pay') }}
)

select * from final
