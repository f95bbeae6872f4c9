-- §3 Payments and reversals as signed amounts: a payment adds its amount from its value date; a
-- reversal takes the whole amount back from its own value date (never before the payment's),
-- so the money counts as never paid from then on.
with payments as (
    select * from {{ ref('stg_payments') }}
),

final as (
    select
        payments.payment_id,
        payments.loan_id,
        payments.is_reversal,
        case when payments.is_reversal then -payments.amount else payments.amount end as signed_amount,
        -- The date from which the row changes the loan's net paid.
        case
            when payments.is_reversal
                then greatest(payments.value_date, coalesce(originals.value_date, payments.value_date))
            else payments.value_date
        end as counts_from,
        -- §2 The date that decides which schedule version the money belongs to: the original
        -- payment's value date (a reversal belongs wherever its payment did).
        coalesce(originals.value_date, payments.value_date) as belongs_to_date
    from payments
    left join payments as originals
        on
            payments.is_reversal
            and payments.reversal_of = originals.payment_id
            and not originals.is_reversal
)

select * from final
