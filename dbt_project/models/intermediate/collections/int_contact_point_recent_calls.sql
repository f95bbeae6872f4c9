-- The last outbound calls (at most var lost_contact_last_calls) of every number within the lost-contact
-- look-back (action dated after D - lost_contact_lookback_days, up to D), as known at D: all that
-- int_borrower_contactability needs to decide lost contact (business rules §5).
-- Carried forward (docs/decisions/012): when the table is as of D-1, only the numbers whose calls can
-- change are recomputed (delete+insert by number): those with a call that became known for D
-- (delivered on D, or delivered earlier and dated D), from their kept calls plus the new ones; the
-- post-hook drops every kept call that left the window. Keeping the last N is enough: a call that
-- leaves the window is older than every call kept after it. as_of_date is the night a number's
-- calls were last ranked. A rerun of D or a backfill of an older date carries forward too, and also
-- ranks again, from every call known at D, the numbers ranked on a night from D on (decision 016).
-- Otherwise (first build, skipped nights) every call of the window is ranked. A night reads a day's
-- calls, not the whole look-back window's.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='contact_point_id',
    on_schema_change='fail',
    pre_hook='{{ reset_unless_carried_forward() }}',
    post_hook=[
        "{{ delete_rows_where('action_local_date <= '"
        " ~ add_days(business_date(), '-' ~ var('lost_contact_lookback_days'))) }}",
        "{{ drop_rows_unknown_at_rebuilt_night('action_id', ref('stored_collection_actions'),"
        " 'known.delivered_on <= ' ~ business_date() ~ ' and known.action_local_date <= ' ~ business_date()) }}",
        '{{ record_night_built() }}',
        '{{ analyze_relation(this) }}',
    ],
    indexes=[{'columns': ['contact_point_id']}],
) }}

{%- set mode = carry_forward_mode(is_incremental()) %}
{%- set carry_forward = mode != 'recompute' %}
{%- set window_start = add_days(business_date(), '-' ~ var('lost_contact_lookback_days')) %}

with outbound_calls as {{ cte_inlined() }} (
    select
        contact_point_id,
        action_id,
        action_at,
        action_local_date,
        is_failed_call,
        delivered_on
    from {{ ref('stored_collection_actions') }}
    where
        channel = 'call'
        and direction is distinct from 'inbound'
        and contact_point_id is not null
),

{#- A rerun or a backfill: the numbers ranked on a night from D on are ranked again from every call
    known at D (their kept calls may be later ones). -#}
{%- set numbers_ranked_since = 'select ranked_since.contact_point_id from ' ~ this ~ ' as ranked_since'
    ~ ' where ranked_since.as_of_date >= ' ~ business_date() %}

{% if carry_forward %}
    new_calls as (
        select
            contact_point_id,
            action_id,
            action_at,
            action_local_date,
            is_failed_call
        from outbound_calls
        where
            (
                (
                    delivered_on = {{ business_date() }}
                    and action_local_date <= {{ business_date() }}
                    and action_local_date > {{ window_start }}
                )
                or (delivered_on < {{ business_date() }} and action_local_date = {{ business_date() }})
            )
            and {{ ('contact_point_id not in (' ~ numbers_ranked_since ~ ')') if mode == 'rebuilt_night' else 'true' }}
    ),

    calls_in_window as (
        select
            kept.contact_point_id,
            kept.action_id,
            kept.action_at,
            kept.action_local_date,
            kept.is_failed_call
        from {{ this }} as kept
        where
            kept.action_local_date > {{ window_start }}
            and kept.contact_point_id in (select new_calls.contact_point_id from new_calls)
        union all
        select * from new_calls
        {%- if mode == 'rebuilt_night' %}
            union all
            select
                contact_point_id,
                action_id,
                action_at,
                action_local_date,
                is_failed_call
            from outbound_calls
            where
                contact_point_id in ({{ numbers_ranked_since }})
                and delivered_on <= {{ business_date() }}
                and action_local_date <= {{ business_date() }}
                and action_local_date > {{ window_start }}
        {%- endif %}
    ),

{% else %}
    calls_in_window as (
        select
            contact_point_id,
            action_id,
            action_at,
            action_local_date,
            is_failed_call
        from outbound_calls
        where
            delivered_on <= {{ business_date() }}
            and action_local_date <= {{ business_date() }}
            and action_local_date > {{ window_start }}
    ),

{% endif %}

ranked as (
    select
        calls_in_window.*,
        row_number() over (
            partition by calls_in_window.contact_point_id
            order by calls_in_window.action_at desc, calls_in_window.action_id desc
        ) as recency
    from calls_in_window
),

final as (
    select
        contact_point_id,
        action_id,
        action_at,
        action_local_date,
        is_failed_call,
        cast(recency as integer) as recency,
        {{ business_date() }} as as_of_date
    from ranked
    where recency <= {{ var('lost_contact_last_calls') }}
)

select * from final
