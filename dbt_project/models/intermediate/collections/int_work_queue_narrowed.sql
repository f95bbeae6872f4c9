-- The channel narrowing of business rules §5 applied to each routed loan: an open promise
-- removes `call` (reason ptp_hold), restrictions remove the channels they bar
-- (do_not_contact), the optional weekly rules remove `call` (weekly_call_limit); a non-legal
-- row left with no channel is held. Channel lists stay `|`-separated text here (fct_work_queue
-- publishes text[]).
{{ config(materialized='table', post_hook='{{ analyze_relation(this) }}', indexes=[{'columns': ['loan_id'], 'unique': true}]) }}

with routed as (
    select
        routing.*,
        coalesce(string_to_array(nullif(routing.routed_channels, ''), '|'), array[]::text[]) as routed_channel_list,
        coalesce(string_to_array(nullif(routing.barred_channels, ''), '|'), array[]::text[]) as barred_channel_list
    from {{ ref('int_work_queue_routing') }} as routing
),

channels_narrowed as (
    select
        routed.*,
        array(
            select routed_channel.channel
            from unnest(routed.routed_channel_list) with ordinality as routed_channel (channel, ordinal)
            where
                not (routed_channel.channel = 'call' and routed.has_open_promise)
                and not (routed_channel.channel = any(routed.barred_channel_list))
                and not (routed_channel.channel = 'call' and routed.is_weekly_call_blocked)
            order by routed_channel.ordinal
        ) as narrowed_channels,
        routed.routed_channel_list && routed.barred_channel_list as lost_channel_to_restriction,
        'call' = any(routed.routed_channel_list) and routed.is_weekly_call_blocked as lost_call_to_weekly_rules
    from routed
),

held_or_worked as (
    select
        channels_narrowed.*,
        case
            when channels_narrowed.routed_hold_reason is not null then channels_narrowed.routed_hold_reason
            -- A legal row keeps its team with no channel: the court case goes on regardless.
            when
                cardinality(channels_narrowed.narrowed_channels) = 0
                and channels_narrowed.routed_team_id <> 'legal'
                then case
                    when channels_narrowed.lost_channel_to_restriction then 'do_not_contact'
                    when channels_narrowed.lost_call_to_weekly_rules then 'weekly_call_limit'
                    else 'ptp_hold'
                end
        end as hold_reason
    from channels_narrowed
),

with_reasons as (
    select
        held_or_worked.*,
        case when held_or_worked.hold_reason is null then held_or_worked.routed_team_id end as team_id,
        case
            when held_or_worked.hold_reason is null then held_or_worked.narrowed_channels
            else array[]::text[]
        end as allowed_channel_list,
        -- Reasons, most decisive first: the hold, the routing rule, then each narrowing applied.
        array_remove(
            array[
                held_or_worked.hold_reason,
                case
                    when held_or_worked.routing_rule is distinct from held_or_worked.hold_reason
                        then held_or_worked.routing_rule
                end,
                case when held_or_worked.has_open_promise then 'ptp_hold' end,
                case when held_or_worked.lost_channel_to_restriction then 'do_not_contact' end,
                case when held_or_worked.lost_call_to_weekly_rules then 'weekly_call_limit' end
            ],
            null
        ) as reasons
    from held_or_worked
),

final as (
    -- No array columns in intermediate tables: dbt unit-test fixtures cannot cast to them.
    select
        with_reasons.business_date,
        with_reasons.loan_id,
        with_reasons.borrower_id,
        with_reasons.stage,
        with_reasons.dpd,
        with_reasons.bucket,
        with_reasons.overdue_amount,
        with_reasons.outstanding_principal,
        with_reasons.days_to_next_bucket,
        with_reasons.broke_promise_today,
        with_reasons.has_open_promise,
        with_reasons.is_lost_contact,
        with_reasons.routing_rule,
        with_reasons.team_id,
        with_reasons.hold_reason,
        nullif(array_to_string(with_reasons.allowed_channel_list, '|'), '') as allowed_channels,
        -- reasons without duplicates, in order (a hold can repeat a narrowing reason)
        array_to_string(
            array(
                select first_mentions.reason
                from (
                    select
                        listed.reason,
                        min(listed.ordinal) as ordinal
                    from unnest(with_reasons.reasons) with ordinality as listed (reason, ordinal)
                    group by listed.reason
                ) as first_mentions
                order by first_mentions.ordinal
            ),
            ','
        ) as reason
    from with_reasons
)

select * from final
