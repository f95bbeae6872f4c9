-- The channel narrowing of business rules §5 applied to each routed loan: an open promise
-- removes `call` (reason ptp_hold), restrictions remove the channels they bar
-- (do_not_contact), the optional weekly rules remove `call` (weekly_call_limit); a non-legal
-- row left with no channel is held. Channel lists stay `|`-separated text here (fct_work_queue
-- publishes text[]).
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['loan_id'], 'unique': true}],
) }}

with routed as (
    select
        routing.*,
        {{ split_to_array('routing.routed_channels', "'|'") }} as routed_channel_list,
        {{ split_to_array('routing.barred_channels', "'|'") }} as barred_channel_list
    from {{ ref('int_work_queue_routing') }} as routing
),

channels_narrowed as (
    select
        routed.*,
        {{ array_filter(
            'routed.routed_channel_list',
            'routed_channel',
            "not (routed_channel = 'call' and routed.has_open_promise)"
            ~ " and not " ~ array_contains('routed.barred_channel_list', 'routed_channel')
            ~ " and not (routed_channel = 'call' and routed.is_weekly_call_blocked)"
        ) }} as narrowed_channels,
        {{ arrays_overlap('routed.routed_channel_list', 'routed.barred_channel_list') }} as lost_channel_to_restriction,
        {{ array_contains('routed.routed_channel_list', "'call'") }} and routed.is_weekly_call_blocked
            as lost_call_to_weekly_rules
    from routed
),

held_or_worked as (
    select
        channels_narrowed.*,
        case
            when channels_narrowed.routed_hold_reason is not null then channels_narrowed.routed_hold_reason
            -- A legal row keeps its team with no channel: the court case goes on regardless.
            when
                {{ array_size('channels_narrowed.narrowed_channels') }} = 0
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
            else {{ dbt.array_construct([], dbt.type_string()) }}
        end as allowed_channel_list,
        -- Reasons, most decisive first: the hold, the routing rule, then each narrowing applied.
        held_or_worked.hold_reason as first_reason,
        -- (parenthesised: sqlfluff 4.5 cannot parse `case when a is distinct from b then` here)
        case
            when (held_or_worked.routing_rule is distinct from held_or_worked.hold_reason)
                then held_or_worked.routing_rule
        end as second_reason
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
        nullif({{ array_to_text('with_reasons.allowed_channel_list', "'|'") }}, '') as allowed_channels,
        -- The reasons joined by ',', each once (a hold or the routing rule can repeat a narrowing
        -- reason): every non-null reason prefixed with ',', then the first ',' dropped.
        substr(
            coalesce(',' || with_reasons.first_reason, '')
            || coalesce(',' || with_reasons.second_reason, '')
            {%- for narrowing, reason in [
                ('has_open_promise', 'ptp_hold'),
                ('lost_channel_to_restriction', 'do_not_contact'),
                ('lost_call_to_weekly_rules', 'weekly_call_limit'),
            ] %}
                || case
                    when
                        with_reasons.{{ narrowing }}
                        and '{{ reason }}' not in (
                            coalesce(with_reasons.first_reason, ''), coalesce(with_reasons.second_reason, '')
                        )
                        then ',{{ reason }}'
                    else ''
                end
            {%- endfor %},
            2
        ) as reason
    from with_reasons
)

select * from final
