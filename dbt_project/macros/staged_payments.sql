{#- stg_payments and stg_payments_to_recompute: payments and reversals delivered on or before D, each
    once (first delivery wins, §1), typed and renamed. `filter` narrows the rows before deduplication
    (see point_in_time). -#}
{% macro staged_payments(filter=none) -%}
with payments_known_at_date as (
    {{ point_in_time(source('raw', 'payments'), ['payment_id'], 'event', filter=filter) }}
),

final as (
    select
        payment_id,
        loan_id,
        received_at,
        value_date,
        amount,
        channel,
        reversal_of,
        reversal_of is not null as is_reversal,
        _business_date as delivered_on
    from payments_known_at_date
)

select * from final
{%- endmacro %}
