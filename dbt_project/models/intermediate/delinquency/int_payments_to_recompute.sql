-- The payments known at D (first delivery on or before D) of the loans recomputed tonight
-- (int_loans_to_recompute): the input of the delinquency snapshot's net paid and of the episodes'
-- collected amounts. Read from the stored payments by loan_id, so a night reads the payments of the
-- loans that changed, not every payment ever delivered.
{{ config(pre_hook='{{ prefer_index_lookups() }}') }}

with final as (
    select * from {{ ref('stored_payments') }}
    where
        delivered_on <= {{ business_date() }}
        and {{ only_loans_to_recompute() }}
)

select * from final
