-- §10 champion/challenger: each routed row of a team with an experiment in force at D gets its arm
-- (from the loan id and the experiment's salt, so the same loan keeps its arm every night), and the arm's
-- strategy: its channels (a subset of the row's §5 channels, in the arm's order), its pre-due window (a
-- pre-due row due later than the arm's predue_days gets no channel), and its position in its arm's
-- priority order (rank / arm size, so the team's queue interleaves the arms in proportion). A non-legal
-- row an arm leaves with no channel is held, reason experiment_arm. Rows of other teams pass unchanged.
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['loan_id'], 'unique': true}],
) }}

{%- set arms = var('experiment_arms', []) %}
{#- sqlfluff's var stand-in returns text: lint the no-experiment shape -#}
{%- if arms is string %}{% set arms = [] %}{% endif %}
{%- set uses_predue_days = arms | selectattr('predue_days') | list | length > 0 %}

with narrowed as (
    select * from {{ ref('int_work_queue_narrowed') }}
),

arms as (
    {{ experiment_arms_relation() }}
),

assigned_to_arms as (
    select
        narrowed.*,
        arms.experiment_id,
        arms.arm_id,
        arms.predue_days as arm_predue_days
    from narrowed
    left join arms
        on
            narrowed.team_id = arms.team_id
            and arms.starts_on <= {{ business_date() }}
            and (arms.ends_on is null or arms.ends_on >= {{ business_date() }})
            and {{ experiment_hash_point('arms.salt', 'narrowed.loan_id') }} >= arms.point_from
            and {{ experiment_hash_point('arms.salt', 'narrowed.loan_id') }} < arms.point_to
),

{#- The loan's next due date, only when an arm has a pre-due window (the column comes with its join:
    each rendering sqlfluff lints is whole). -#}
{%- if uses_predue_days %}

    snapshot_today as (
        select
            loan_id,
            next_due_date
        from {{ ref('int_loan_delinquency_daily') }}
        where business_date = {{ business_date() }}
    ),

    assigned as (
        select
            assigned_to_arms.*,
            snapshot_today.next_due_date
        from assigned_to_arms
        left join snapshot_today
            on assigned_to_arms.loan_id = snapshot_today.loan_id
    ),
{%- else %}

    assigned as (
        select * from assigned_to_arms
    ),
{%- endif %}

-- The arm's channels: the row's §5 channels the arm uses, in the arm's order (`|`-separated text).
arm_channels as (
    select
        assigned.*,
        {{ experiment_arm_channel_text(arms, 'assigned') }} as arm_channel_text
    from assigned
),

held_by_arm as (
    select
        arm_channels.*,
        arm_channels.arm_id is not null
        and arm_channels.allowed_channels is not null
        and arm_channels.arm_channel_text is null
        and arm_channels.team_id <> 'legal' as is_held_by_arm
    from arm_channels
),

-- Rank in the arm's priority order over the arm's worked rows, divided by their number.
positioned as (
    select
        held_by_arm.*,
        {%- if arms | length == 0 %}
            cast(null as {{ dbt.type_numeric() }}) as experiment_position
        {%- else %}
            case
                when held_by_arm.arm_id is not null and not held_by_arm.is_held_by_arm
                    then cast(row_number() over (
                        partition by held_by_arm.experiment_id, held_by_arm.arm_id, held_by_arm.is_held_by_arm
                        order by
                            {%- for key in range(3) %}
                                case
                                    {%- for arm in arms %}
                                        when
                                            held_by_arm.arm_id = {{ config_literal(arm.arm_id) }}
                                            and held_by_arm.experiment_id = {{ config_literal(arm.experiment_id) }}
                                            then {{ experiment_priority_keys(arm.priority_ordering, 'held_by_arm')[key] }}
                                    {%- endfor %}
                                end,
                            {%- endfor %}
                            held_by_arm.loan_id
                    ) as {{ dbt.type_numeric() }})
                    / count(*) over (
                        partition by held_by_arm.experiment_id, held_by_arm.arm_id, held_by_arm.is_held_by_arm
                    )
            end as experiment_position
        {%- endif %}
    from held_by_arm
),

final as (
    select
        business_date,
        loan_id,
        borrower_id,
        stage,
        dpd,
        bucket,
        overdue_amount,
        outstanding_principal,
        days_to_next_bucket,
        broke_promise_today,
        has_open_promise,
        is_lost_contact,
        routing_rule,
        case when is_held_by_arm then null else team_id end as team_id,
        case when is_held_by_arm then 'experiment_arm' else hold_reason end as hold_reason,
        case when is_held_by_arm then null else substr(arm_channel_text, 2) end as allowed_channels,
        case when is_held_by_arm then 'experiment_arm,' || reason else reason end as reason,
        experiment_id,
        arm_id,
        experiment_position
    from positioned
)

select * from final
