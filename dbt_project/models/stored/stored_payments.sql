-- Every payment and reversal once (its first delivery, §1), stored by delivery date so the nightly
-- models read the payments of the loans they recompute through an index on loan_id instead of
-- scanning every delivered day's partition of raw.payments (macros/incremental/append_by_delivery.sql).
-- Reading it for D = the rows with delivered_on <= D: exactly stg_payments at D, for any D already stored.
-- Analysed after each night's insert: the models downstream plan their joins on its statistics.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    post_hook='{{ analyze_relation(this) }}',
    pre_hook='{{ reset_deliveries_of_business_date() }}',
    indexes=[
        {'columns': ['payment_id'], 'unique': true},
        {'columns': ['loan_id']},
        {'columns': ['delivered_on']},
        {'columns': ['value_date']},
        {'columns': ['reversal_of']},
    ],
) }}

{%- set stored_day = stored_until(is_incremental()) %}

with payments_delivered as (
    {#- As stored_collection_actions: the date filter runs inside the deduplication (staged_payments). -#}
    {% if stored_day is not none %}
        {{ staged_payments(filter=delivered_since_and_not_stored(stored_day, 'payment_id')) }}
    {% else %}
        {{ staged_payments() }}
    {% endif %}
)

select * from payments_delivered
