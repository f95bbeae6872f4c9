{#- Incremental pattern "append by delivery": event entities stored once, at their first delivery
    (stored_payments, stored_collection_actions, stored_promises_made), one delivery date at a time.
    Probe: stored_until (the last delivery date stored before D). Filter: delivered_since_and_not_stored.
    Reset: reset_deliveries_of_business_date (pre-hook: a rerun of D replaces D's deliveries). -#}


{#- The last delivery date already stored before D: the night reads only the events
    first delivered after it, up to D (normally D alone; a skipped night is caught up instead of
    leaving a hole). None on a first build or full refresh: read every event known at D.
    `incremental` is the caller's is_incremental().
    (not flags.FULL_REFRESH: lint renders without a warehouse, scripts/sqlfluff_library/flags.py) -#}
{% macro stored_until(incremental) -%}
    {%- if incremental and execute and not flags.FULL_REFRESH -%}
        {%- set found = run_query(
            'select max(delivered_on) from ' ~ this ~ ' where delivered_on < ' ~ business_date()
        ) -%}
        {{- return(found.columns[0].values()[0]) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}


{#- The point_in_time filter of those events: delivered after `stored_day` and not stored yet (first
    delivery wins): one probe of the stored table's unique index on `key`, not one per delivered
    date's partition. -#}
{% macro delivered_since_and_not_stored(stored_day, key) -%}
    _business_date > cast('{{ stored_day }}' as date)
    and not exists (select 1 from {{ this }} as stored where stored.{{ key }} = delivered.{{ key }})
{%- endmacro %}


{#- Pre-hook: delete the rows first delivered on D, in the transaction of the insert that follows, so a
    rerun of D replaces them and a night never touches the other deliveries. -#}
{% macro reset_deliveries_of_business_date() -%}
    {{ replace_business_date('delivered_on') }}
{%- endmacro %}
