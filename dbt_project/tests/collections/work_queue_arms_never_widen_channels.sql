-- §10 An experiment arm may narrow or reorder what §5 allows, never widen it: every published queue
-- row keeps its §5 team (or is held; `agency` becomes the placed agency:<id>) and offers only
-- channels the §5 narrowing left it (int_work_queue_narrowed, computed before any arm).
-- One row per loan and problem.
{{ config(tags=['collections']) }}

{%- set channels = ['call', 'sms', 'email', 'app_push', 'letter', 'visit', 'legal_notice'] %}

with queue_today as (
    select
        loan_id,
        team_id,
        arm_id,
        '|' || {{ array_to_text('allowed_channels', "'|'") }} || '|' as published_channels
    from {{ ref('fct_work_queue') }}
    where business_date = {{ business_date() }}
),

rule_rows as (
    select
        loan_id,
        team_id,
        '|' || coalesce(allowed_channels, '') || '|' as rule_channels
    from {{ ref('int_work_queue_narrowed') }}
),

compared as (
    select
        queue_today.loan_id,
        queue_today.arm_id,
        queue_today.team_id,
        rule_rows.team_id as rule_team_id,
        queue_today.published_channels,
        rule_rows.rule_channels
    from queue_today
    left join rule_rows
        on queue_today.loan_id = rule_rows.loan_id
),

problems as (
    select
        loan_id,
        arm_id,
        'team ' || team_id || ' instead of ' || coalesce(rule_team_id, 'held') as problem
    from compared
    -- a loan routed to `agency` is published as the agency it is placed with, agency:<id> (§9)
    where
        team_id is not null
        and (
            rule_team_id is null
            or (team_id <> rule_team_id and not (rule_team_id = 'agency' and team_id like 'agency:%'))
        )
    {%- for channel in channels %}
        union all
        select
            loan_id,
            arm_id,
            'channel {{ channel }} not left by §5' as problem
        from compared
        where
            published_channels like '%|{{ channel }}|%'
            and rule_channels not like '%|{{ channel }}|%'
    {%- endfor %}
),

final as (
    select * from problems
)

select * from final
