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

{#- The last delivery date already stored before D: the night reads only the payments first delivered
    after it, up to D (normally D alone; a skipped night is caught up instead of leaving a hole). -#}
{%- set stored_until = namespace(day=none) %}
{#- (not flags.FULL_REFRESH: lint renders without a warehouse, scripts/sqlfluff_library/flags.py) -#}
{%- if is_incremental() and execute and not flags.FULL_REFRESH %}
    {%- set found = run_query(
        'select max(delivered_on) from ' ~ this ~ ' where delivered_on < ' ~ business_date()
    ) %}
    {%- set stored_until.day = found.columns[0].values()[0] %}
{%- endif %}

with payments_delivered as (
    {#- As int_collection_actions: the date filter runs inside the deduplication, and a payment is new
        only if it is not stored already (first delivery wins): one probe of the unique index. -#}
    {% if stored_until.day is not none %}
        {{ staged_payments(
            filter="_business_date > cast('" ~ stored_until.day ~ "' as date)
                and not exists (
                    select 1 from " ~ this ~ " as stored
                    where stored.payment_id = delivered.payment_id
                )"
        ) }}
    {% else %}
        select * from {{ ref('stg_payments') }}
        where delivered_on <= {{ business_date() }}
    {% endif %}
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
        is_reversal,
        delivered_on
    from payments_delivered
)

select * from final
