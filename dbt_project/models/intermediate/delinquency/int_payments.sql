-- Every payment and reversal once (its first delivery, §1), stored by delivery date so the nightly
-- models read the payments of the loans they recompute through an index on loan_id instead of
-- scanning every delivered day's partition of raw.payments (a scan that grew with the days built).
-- Reading it for D = the rows with delivered_on <= D: exactly stg_payments at D, for any D already stored.
-- Analysed after each night's insert: the models downstream plan their joins on its statistics.
-- depends_on: {{ source('raw', 'payments') }}
-- depends_on: {{ ref('stg_payments') }}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    post_hook='{{ analyze_relation(this) }}',
    pre_hook="{{ replace_business_date('delivered_on') }}",
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
    {#- As int_collection_actions: the date filter runs inside the deduplication (staged_payments). -#}
    {% if stored_day is not none %}
        {{ staged_payments(filter=delivered_since_and_not_stored(stored_day, 'payment_id')) }}
    {% else %}
        select * from {{ ref('stg_payments') }}
        where delivered_on <= {{ business_date() }}
    {% endif %}
)

select * from payments_delivered
