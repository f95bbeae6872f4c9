-- §3 Payments and reversals as signed amounts: a payment adds its amount from its value date; a
-- reversal takes the whole amount back from its own value date (never before the payment's),
-- so the money counts as never paid from then on.
with payments as (
    select * from {{ ref('int_payments_to_recompute') }}
),

reversals as (
    select * from payments
    where is_reversal
),

payments_added as (
    select
        payment_id,
        loan_id,
        is_reversal,
        amount as signed_amount,
        value_date as counts_from,
        value_date as belongs_to_date
    from payments
    where not is_reversal
),

-- Only the (few) reversals look up their payment: the join never sorts all payments.
reversals_taken_back as (
    select
        reversals.payment_id,
        reversals.loan_id,
        reversals.is_reversal,
        -reversals.amount as signed_amount,
        -- The date from which the reversal changes the loan's net paid.
        greatest(reversals.value_date, coalesce(originals.value_date, reversals.value_date)) as counts_from,
        -- §2 The date that decides which schedule version the money belongs to: the original
        -- payment's value date (a reversal belongs wherever its payment did).
        coalesce(originals.value_date, reversals.value_date) as belongs_to_date
    from reversals
    left join payments as originals
        on
            reversals.reversal_of = originals.payment_id
            and not originals.is_reversal
),

final as (
    select * from payments_added
    union all
    select * from reversals_taken_back
)

select * from final
