-- The last outbound calls (at most var lost_contact_last_calls) of every number within the lost-contact
-- look-back (action dated after D - lost_contact_lookback_days, up to D), as known at D: all that
-- int_borrower_contactability needs to decide lost contact (business rules §5).
-- Carried forward (docs/decisions/012): when the table is as of D-1, only the numbers whose calls can
-- change are recomputed (delete+insert by number): those with a call that became known for D
-- (delivered on D, or delivered earlier and dated D), from their kept calls plus the new ones; the
-- post-hook drops every kept call that left the window. Keeping the last N is enough: a call that
-- leaves the window is older than every call kept after it. as_of_date is the night a number's
-- calls were last ranked. Otherwise (first build, rerun, backfill, skipped night) every call of the
-- window is ranked. A night reads a day's calls, not the whole look-back window's.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='contact_point_id',
    on_schema_change='fail',
    pre_hook='{{ reset_unless_carried_forward() }}',
    post_hook=[
        "delete from {{ this }} where action_local_date"
        " <= {{ add_days(business_date(), '-' ~ var('lost_contact_lookback_days')) }}",
        '{{ analyze_relation(this) }}',
    ],
    indexes=[{'columns': ['contact_point_id']}],
) }}

{%- set carry_forward = carry_forward_possible(is_incremental()) %}
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
                delivered_on = {{ business_date() }}
                and action_local_date <= {{ business_date() }}
                and action_local_date > {{ window_start }}
            )
            or (delivered_on < {{ business_date() }} and action_local_date = {{ business_date() }})
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
