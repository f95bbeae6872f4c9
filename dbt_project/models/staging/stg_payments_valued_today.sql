-- stg_payments narrowed to what a day's collected amount needs: the payments valued on D and every
-- reversal (few). The filter runs before the deduplication, so a night does not sort every payment
-- ever delivered just to find today's (agg_collection_performance_daily).
{{ staged_payments(filter='value_date = ' ~ business_date() ~ ' or reversal_of is not null') }}
