-- The routing table (seed work_queue_routing, business rules §5) applied to each loan: the
-- first rule in rule_order whose condition holds decides the team and its channels, or holds
-- the loan with a reason. The conditions are named here; their order, teams, channels and hold
-- reasons are the seed's, so a collections manager changes routing without touching SQL.
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['loan_id'], 'unique': true}],
) }}

with signals as (
    select
        *,
        -- The legal rule is used twice (cease_communication and late accounts).
        stage in ('late', 'written_off')
        and outstanding_principal >= {{ var('legal_min_principal') }}
        and not has_active_arrangement
        and not has_open_promise as meets_legal_rule
    from {{ ref('int_work_queue_signals') }}
),

-- Every rule of the seed whose condition holds for the loan (a rule the SQL does not name
-- never holds).
matching_rules as (
    select
        signals.loan_id,
        routing.rule_id,
        routing.rule_order,
        nullif(routing.team_id, '') as team_id,
        nullif(routing.channels, '') as channels,
        nullif(routing.hold_reason, '') as hold_reason
    from signals
    cross join {{ ref('work_queue_routing') }} as routing
    where
        case routing.rule_id
            when 'estate_or_bankruptcy' then signals.has_estate_or_bankruptcy
            when 'legal_case_or_hold' then signals.has_open_legal_case or signals.has_legal_hold
            when 'dispute' then signals.has_dispute
            when 'cease_communication_legal' then signals.has_cease_communication and signals.meets_legal_rule
            when 'cease_communication' then signals.has_cease_communication
            when 'settlement_pending' then signals.has_pending_settlement
            when 'settlement_kept' then signals.has_kept_settlement
            when 'pre_due' then signals.stage = 'pre_due'
            when 'early' then signals.stage = 'early'
            when 'field'
                then
                    signals.stage = 'mid'
                    and signals.dpd >= {{ var('field_min_dpd') }}
                    and signals.overdue_amount >= {{ var('field_min_overdue') }}
                    and not signals.has_recent_rpc
                    and signals.has_address
            when 'mid' then signals.stage = 'mid'
            when 'legal_rule' then signals.meets_legal_rule
            when 'late' then signals.stage in ('late', 'written_off')
        end
),

-- The first of them in rule_order.
first_matching_rule as (
    {{ deduplicate('matching_rules', ['loan_id'], 'rule_order asc') }}
),

final as (
    select
        signals.*,
        first_matching_rule.team_id as routed_team_id,
        first_matching_rule.channels as routed_channels,
        -- A loan no rule matches (a rule removed from the seed) is held, never dropped.
        coalesce(first_matching_rule.rule_id, 'no_route') as routing_rule,
        case
            when first_matching_rule.loan_id is null then 'no_route'
            when
                first_matching_rule.team_id is null
                then coalesce(first_matching_rule.hold_reason, first_matching_rule.rule_id)
        end as routed_hold_reason
    from signals
    left join first_matching_rule
        on signals.loan_id = first_matching_rule.loan_id
)

select * from final
