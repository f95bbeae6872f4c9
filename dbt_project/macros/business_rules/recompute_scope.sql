{#- Which loans a night recomputes (docs/decisions/010, 012): the filter of the delinquency snapshot's
    inputs, and the loans whose money changes on D. -#}


{#- Filter: only the loans recomputed tonight (int_loans_to_recompute; every loan when there is no
    snapshot of D-1 to carry forward). -#}
{% macro only_loans_to_recompute() -%}
    loan_id in (select loan_id from {{ ref('int_loans_to_recompute') }})
{%- endmacro %}


{#- The loans whose money changes on D (int_loans_to_recompute, int_promises_to_pay): payments and
    reversals first delivered on D, or delivered earlier with a value date of D (counted from D on).
    `stored_payments` is the caller's ref('stored_payments'), taken where parsing renders it: its
    indexes on delivered_on and value_date find the day's money directly, where raw.payments is
    partitioned by delivery. A payment delivered again changes nothing (its first delivery counts, §1),
    so the stored first deliveries are exactly the money that can change a loan. -#}
{% macro loans_with_money_changing_on_business_date(stored_payments) -%}
    select loan_id from {{ stored_payments }}
    where
        delivered_on = {{ business_date() }}
        or (delivered_on < {{ business_date() }} and value_date = {{ business_date() }})
{%- endmacro %}
