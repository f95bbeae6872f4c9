{#- The money a model for business date D may count (business rules §1, §3), read from the stored
    payments (first delivery of each payment and reversal). `stored_payments` is the caller's
    ref('stored_payments'), taken in the model so that dbt sees the dependency (decision 019). -#}


{#- The payments and reversals known at D and valued by D; with `loans_of` (a CTE or relation with a
    loan_id column) only those of its loans, read by the loan_id index. `extra_columns` adds columns of
    the stored payments to the five every caller reads. Returns a select (use it inside a CTE). -#}
{% macro payments_known_at_business_date(stored_payments, loans_of=none, extra_columns=[]) -%}
    select
        payment_id,
        loan_id,
    {%- for column in extra_columns %}
        {{ column }},
    {%- endfor %}
        value_date,
        amount,
        reversal_of
    from {{ stored_payments }}
    where
        delivered_on <= {{ business_date() }}
        and value_date <= {{ business_date() }}
    {%- if loans_of %}
            and loan_id in (select {{ loans_of }}.loan_id from {{ loans_of }})
    {%- endif %}
{%- endmacro %}


{#- Condition: the row `payment` (an alias) is a payment that no reversal among `payments_known` (the
    CTE of payments_known_at_business_date) takes back; a reversed payment and its reversal both
    drop out (§3). -#}
{% macro is_unreversed_payment(payment, payments_known) -%}
    {{ payment }}.reversal_of is null
    and not exists (
        select 1
        from {{ payments_known }} as reversals
        where reversals.reversal_of = {{ payment }}.payment_id
    )
{%- endmacro %}
