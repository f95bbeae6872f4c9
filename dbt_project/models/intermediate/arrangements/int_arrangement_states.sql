-- Every arrangement known at the business date with its status judged from payments and the plan
-- (business rules §9), beside the status the source delivered.
-- Settlements: kept once net payments valued agreed_on .. settle_by reach settlement_amount less the
-- tolerance (the rest of the debt is waived); broken the day after settle_by without it; performing
-- (pending) before. Plans (repayment_plan, restructure): broken on the first day an installment is
-- arrangement_break_dpd days past due, counted from agreed_on for an installment due before the plan;
-- completed on the first day after agreed_on the loan is closed or, for a plan without its own
-- schedule version, its arrears are cleared (DPD 0). A cancellation can only come from the source.
-- A settlement delivered without settlement_amount / settle_by (a source that predates them) keeps
-- the delivered status (mapped to the derived names). Only arrangements' loans are read.
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['arrangement_id'], 'unique': true}, {'columns': ['loan_id']}],
) }}

with arrangements as (
    select
        arrangement_id,
        loan_id,
        kind,
        agreed_on,
        status as delivered_status,
        new_schedule_version,
        settlement_amount,
        settle_by
    from {{ ref('stg_arrangements') }}
    where agreed_on <= {{ business_date() }}
),

settlements as (
    select * from arrangements
    where kind = 'settlement'
),

-- Net payments known at D on the settlements' loans (a reversal cancels its payment, §3).
payments_known as (
    select
        payment_id,
        loan_id,
        value_date,
        amount,
        reversal_of
    from {{ ref('stored_payments') }}
    where
        delivered_on <= {{ business_date() }}
        and value_date <= {{ business_date() }}
        and loan_id in (select settlements.loan_id from settlements)
),

payments_net_daily as (
    select
        payments.loan_id,
        payments.value_date,
        sum(payments.amount) as amount
    from payments_known as payments
    where
        payments.reversal_of is null
        and not exists (
            select 1
            from payments_known as reversals
            where reversals.reversal_of = payments.payment_id
        )
    group by payments.loan_id, payments.value_date
),

settlement_payments_running as (
    select
        settlements.arrangement_id,
        payments_net_daily.value_date,
        settlements.settlement_amount,
        sum(payments_net_daily.amount) over (
            partition by settlements.arrangement_id
            order by payments_net_daily.value_date
        ) as paid_so_far
    from settlements
    inner join payments_net_daily
        on
            settlements.loan_id = payments_net_daily.loan_id
            and payments_net_daily.value_date between settlements.agreed_on and settlements.settle_by
),

settlement_payments as (
    select
        arrangement_id,
        max(paid_so_far) as paid_in_window,
        min(
            case
                when paid_so_far >= settlement_amount - {{ var('arrears_tolerance') }} then value_date
            end
        ) as kept_on
    from settlement_payments_running
    group by arrangement_id
),

-- The plans' loans day by day after agreed_on (the delinquency snapshot; DPD is measured on the plan's
-- schedule from its effective date, §2).
plans as (
    select * from arrangements
    where kind in ('repayment_plan', 'restructure')
),

plan_days as (
    select
        plans.arrangement_id,
        daily.business_date,
        daily.loan_status,
        daily.dpd,
        daily.oldest_unpaid_due_date,
        plans.new_schedule_version,
        plans.agreed_on
    from plans
    inner join {{ ref('int_loan_delinquency_daily') }} as daily
        on
            plans.loan_id = daily.loan_id
            and daily.business_date > plans.agreed_on
            and daily.business_date <= {{ business_date() }}
),

plan_milestones as (
    select
        arrangement_id,
        min(
            case
                when
                    oldest_unpaid_due_date is not null
                    and business_date >= {{ add_days(
                        'greatest(oldest_unpaid_due_date, agreed_on)', var('arrangement_break_dpd')
                    ) }}
                    then business_date
            end
        ) as broken_on,
        min(
            case
                when loan_status = 'closed' or (new_schedule_version is null and dpd = 0) then business_date
            end
        ) as completed_on
    from plan_days
    group by arrangement_id
),

-- What the loan still owed on the day a settlement was kept: waived by the settlement.
loan_debt_when_kept as (
    select
        settlement_payments.arrangement_id,
        daily.outstanding_principal + daily.overdue_interest + daily.overdue_fee as debt_left
    from settlement_payments
    inner join settlements
        on settlement_payments.arrangement_id = settlements.arrangement_id
    inner join {{ ref('int_loan_delinquency_daily') }} as daily
        on
            settlements.loan_id = daily.loan_id
            and settlement_payments.kept_on = daily.business_date
),

-- The negotiating team: the team of the loan's last right-party contact on or before agreed_on.
negotiating_contacts as (
    select
        arrangements.arrangement_id,
        actions.team_id,
        actions.action_at,
        actions.action_id
    from arrangements
    inner join {{ ref('stored_collection_actions') }} as actions
        on
            arrangements.loan_id = actions.loan_id
            and actions.action_local_date <= arrangements.agreed_on
            and actions.delivered_on <= {{ business_date() }}
    where actions.is_right_party_contact
),

negotiating_team as (
    {{ deduplicate('negotiating_contacts', ['arrangement_id'], 'action_at desc, action_id desc') }}
),

judged as (
    select
        arrangements.*,
        negotiating_team.team_id as negotiating_team_id,
        settlement_payments.paid_in_window,
        loan_debt_when_kept.debt_left,
        case
            when arrangements.delivered_status = 'cancelled' then 'cancelled'
            when arrangements.kind = 'settlement' and (
                arrangements.settlement_amount is null or arrangements.settle_by is null
            )
                then case arrangements.delivered_status
                    when 'active' then 'performing'
                    when 'completed' then 'kept'
                    else arrangements.delivered_status
                end
            when arrangements.kind = 'settlement' and settlement_payments.kept_on is not null then 'kept'
            when arrangements.kind = 'settlement' and {{ business_date() }} > arrangements.settle_by then 'broken'
            when arrangements.kind = 'settlement' then 'performing'
            -- Plans: whichever came first; a plan broken and completed on the same day counts completed.
            when
                plan_milestones.completed_on is not null
                and (plan_milestones.broken_on is null or plan_milestones.completed_on <= plan_milestones.broken_on)
                then 'completed'
            when plan_milestones.broken_on is not null then 'broken'
            else 'performing'
        end as derived_status,
        case
            when arrangements.kind = 'settlement' then settlement_payments.kept_on
            else plan_milestones.completed_on
        end as kept_on,
        case
            when arrangements.kind = 'settlement' then {{ add_days('arrangements.settle_by', 1) }}
            else plan_milestones.broken_on
        end as broken_on
    from arrangements
    left join settlement_payments
        on arrangements.arrangement_id = settlement_payments.arrangement_id
    left join loan_debt_when_kept
        on arrangements.arrangement_id = loan_debt_when_kept.arrangement_id
    left join plan_milestones
        on arrangements.arrangement_id = plan_milestones.arrangement_id
    left join negotiating_team
        on arrangements.arrangement_id = negotiating_team.arrangement_id
),

final as (
    select
        arrangement_id,
        loan_id,
        kind,
        agreed_on,
        negotiating_team_id,
        delivered_status,
        derived_status,
        -- The delivered and derived vocabularies differ: active = performing, completed = kept.
        case delivered_status
            when 'active' then 'performing'
            when 'completed' then (case when kind = 'settlement' then 'kept' else 'completed' end)
            else delivered_status
        end <> derived_status as status_disagrees,
        new_schedule_version,
        settlement_amount,
        settle_by,
        case when kind = 'settlement' then coalesce(paid_in_window, 0) end as settlement_paid,
        case when derived_status in ('kept', 'completed') then kept_on end as kept_on,
        case when derived_status = 'broken' then broken_on end as broken_on,
        -- Settlement kept: the rest of the debt is waived (published, never silently dropped).
        case
            when kind = 'settlement' and derived_status = 'kept' then greatest(coalesce(debt_left, 0), 0)
        end as waived_amount,
        coalesce(
            kind = 'settlement'
            and delivered_status = 'active'
            and derived_status = 'performing'
            and settle_by >= {{ business_date() }},
            false
        ) as is_settlement_pending
    from judged
)

select * from final
