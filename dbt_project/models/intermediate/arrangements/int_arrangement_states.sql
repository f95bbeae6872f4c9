-- Every arrangement known at the business date with its status judged from payments and the plan
-- (business rules §9), beside the status the source delivered.
-- Settlements: kept once net payments valued agreed_on .. settle_by reach settlement_amount less the
-- tolerance (the rest of the debt is waived); broken the day after settle_by without it; performing
-- (pending) before. Plans (repayment_plan, restructure): broken on the first day an installment of the
-- schedule in force is arrangement_break_dpd days past due and unpaid (counted from agreed_on for one
-- due before the plan); completed when the loan closes, when a plan's own schedule is all paid, or, for
-- a plan without its own schedule, when the arrears it was agreed on are paid, if that came first.
-- A cancellation can only come from the source. A settlement delivered without settlement_amount /
-- settle_by (a source that predates them) keeps the delivered status (mapped to the derived names).
-- Everything is read from the stored payments and installments of the arrangements' loans as known at
-- D, never from the day-by-day snapshot: a rebuilt or backfilled date, or a first build, judges the same.
-- Carried forward (decision 041, the pattern of decisions 012 and 016): a night judges the arrangements
-- something delivered on D concerns and those whose judge_again_on (the first day the passing of days
-- alone can change the row) is reached; every other one keeps its row. A rerun or backfill of D also
-- judges every arrangement judged on a night from D on; without a state to carry (first build, skipped
-- nights) it judges all.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='arrangement_id',
    on_schema_change='append_new_columns',
    pre_hook='{{ reset_unless_carried_forward() }}',
    post_hook=[
        "{{ delete_rows_where('arrangement_id not in (select known.arrangement_id from '"
        " ~ ref('stg_arrangements') ~ ' as known where known.agreed_on <= ' ~ business_date() ~ ')') }}",
        '{{ record_night_built() }}',
        '{{ analyze_relation(this) }}',
    ],
    indexes=[{'columns': ['arrangement_id'], 'unique': true}, {'columns': ['loan_id']}],
) }}

{#- Taken here, where parsing renders them: the carried branch renders only on an incremental run. -#}
{%- set stored_payments = ref('stored_payments') %}
{%- set stored_installments = ref('stored_installments') %}
{%- set stored_actions = ref('stored_collection_actions') %}
{%- set loan_deliveries = ref('stg_loan_deliveries') %}
{%- set mode = carry_forward_mode(is_incremental()) %}

with
{%- if mode != 'recompute' %}
    -- What can change an arrangement judged on an earlier night (decision 041): a date it named reached
    -- (judge_again_on: settle_by passed, a break day, a closure or a schedule version dated after that
    -- night), a version of it delivered on D, money of its loan changing on D (a payment or reversal
    -- delivered on D, or valued on D), a loan version or an installment version of its loan delivered on
    -- D, or a right-party contact up to agreed_on delivered on D (the negotiating team). Nothing else: a
    -- break or a closure dated after a plan was completed or broken does not change which came first.
    loans_changed_on_business_date as (
        {{ loans_with_money_changing_on_business_date(stored_payments) }}
        union
        select loan_versions.loan_id from {{ loan_deliveries }} as loan_versions
        where loan_versions.delivered_on = {{ business_date() }}
        union
        select installment_versions.loan_id from {{ stored_installments }} as installment_versions
        where installment_versions.delivered_on = {{ business_date() }}
    ),

    arrangements_to_judge as (
        select arrangement_id from {{ this }}
        where judge_again_on <= {{ business_date() }}
        union
        select arrangement_id from {{ ref('stg_arrangements') }}
        where
            agreed_on <= {{ business_date() }}
            and (
                delivered_on = {{ business_date() }}
                or arrangement_id not in (select carried.arrangement_id from {{ this }} as carried)
            )
        union
        select arrangement_id from {{ this }}
        where loan_id in (select loans_changed_on_business_date.loan_id from loans_changed_on_business_date)
        union
        select carried.arrangement_id
        from {{ this }} as carried
        inner join {{ stored_actions }} as actions
            on
                carried.loan_id = actions.loan_id
                and carried.agreed_on >= actions.action_local_date
        where
            actions.delivered_on = {{ business_date() }}
            and actions.is_right_party_contact
        {%- if mode == 'rebuilt_night' %}
            union
            -- A rerun or a backfill: the arrangements judged on a night from D on, judged as of D.
            select arrangement_id from {{ this }}
            where as_of_date >= {{ business_date() }}
        {%- endif %}
    ),

    arrangements_in_scope as (
        select * from {{ ref('stg_arrangements') }}
        where arrangement_id in (select arrangements_to_judge.arrangement_id from arrangements_to_judge)
    ),
{%- else %}
    arrangements_in_scope as (
        select * from {{ ref('stg_arrangements') }}
    ),
{%- endif %}

arrangements_with_closure as (
    select
        arrangement_id,
        loan_id,
        kind,
        agreed_on,
        status as delivered_status,
        new_schedule_version,
        settlement_amount,
        settle_by,
        -- The day the loan closes as known at D (a closure may be delivered before its date): a look-up
        -- by loan_id (the loans as known at D are a view over every delivery of every loan, which a join
        -- would read whole).
        (
            select max(loans.closed_on)
            from {{ ref('stg_loans') }} as loans
            where
                loans.loan_id = arrangements_known.loan_id
                and loans.status = 'closed'
        ) as loan_closes_on
    from arrangements_in_scope as arrangements_known
    where agreed_on <= {{ business_date() }}
),

arrangements as (
    select
        arrangements_with_closure.*,
        case
            when arrangements_with_closure.loan_closes_on <= {{ business_date() }}
                then arrangements_with_closure.loan_closes_on
        end as loan_closed_on
    from arrangements_with_closure
),

-- Settlements: the net paid in the window agreed_on .. settle_by, and the day it reached the amount.
settlements as (
    select * from arrangements
    where kind = 'settlement'
),

-- Payments known at D on the arrangements' loans.
payments_known as (
    {{ payments_known_at_business_date(stored_payments, loans_of='arrangements') }}
),

-- The settlements' loans' payments (read by the loan_id index: a few per settlement to join below).
settlement_payments_known as (
    {{ payments_known_at_business_date(stored_payments, loans_of='settlements') }}
),

-- Net payments per day in each settlement's window (a reversal cancels its payment, §3), joined to
-- the settlements before summing: a per-loan sum joined afterwards was recomputed per settlement.
settlement_payments_daily as (
    select
        settlements.arrangement_id,
        settlements.settlement_amount,
        payments.value_date,
        sum(payments.amount) as amount
    from settlements
    inner join settlement_payments_known as payments
        on
            settlements.loan_id = payments.loan_id
            and payments.value_date between settlements.agreed_on and settlements.settle_by
    where {{ is_unreversed_payment('payments', 'payments_known') }}
    group by settlements.arrangement_id, settlements.settlement_amount, payments.value_date
),

settlement_payments_running as (
    select
        arrangement_id,
        value_date,
        settlement_amount,
        sum(amount) over (
            partition by arrangement_id
            order by value_date
        ) as paid_so_far
    from settlement_payments_daily
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

-- Every arrangement's loan: its schedule in force at D and the net paid towards it, day by day (no
-- day-by-day history). Plans are judged from it; a settlement's waived amount is read from it too.
-- Each installment's paid_on is the first day the net paid towards the schedule version (payments
-- valued from the version's effective date, §2) reached everything due through it less the tolerance.
schedule_installment_versions as (
    select
        arrangements.arrangement_id,
        arrangements.kind,
        arrangements.agreed_on,
        arrangements.new_schedule_version,
        installments.schedule_version,
        installments.effective_from,
        installments.installment_no,
        installments.due_date,
        installments.principal_due,
        installments.fee_due + installments.interest_due as charges_due,
        installments.fee_due + installments.interest_due + installments.principal_due as total_due
    from arrangements
    inner join {{ stored_installments }} as installments
        on arrangements.loan_id = installments.loan_id
    where installments.delivered_on <= {{ business_date() }}
),

-- The first day after D on which an installment version already known starts (a version starts on its
-- earliest effective_from, §2): the schedule in force may change then without any delivery, so the
-- arrangement is judged again that night even if its state is final.
schedule_versions_to_come as (
    select
        arrangement_id,
        min(version_from) as next_version_from
    from (
        select
            arrangement_id,
            schedule_version,
            min(effective_from) as version_from
        from schedule_installment_versions
        group by arrangement_id, schedule_version
    ) as version_starts
    where version_from > {{ business_date() }}
    group by arrangement_id
),

schedule_installments_in_force as (
    {{ schedule_version_in_force('schedule_installment_versions', 'arrangement_id') }}
),

schedule_installments as (
    select
        arrangement_id,
        kind,
        agreed_on,
        new_schedule_version,
        schedule_version,
        version_effective_from,
        installment_no,
        due_date,
        principal_due,
        charges_due,
        sum(total_due) over (
            partition by arrangement_id
            order by due_date asc, installment_no asc
            rows between unbounded preceding and current row
        ) as due_through
    from schedule_installments_in_force
),

schedule_versions as (
    select distinct
        arrangement_id,
        schedule_version,
        version_effective_from
    from schedule_installments
),

-- Signed payments (§3): a reversal takes its payment back from its own value date and belongs where
-- the payment did.
payments_signed as (
    select
        payments.loan_id,
        payments.value_date as counts_from,
        payments.value_date as belongs_to_date,
        payments.amount as signed_amount
    from payments_known as payments
    where payments.reversal_of is null
    union all
    select
        reversals.loan_id,
        greatest(reversals.value_date, coalesce(originals.value_date, reversals.value_date)) as counts_from,
        coalesce(originals.value_date, reversals.value_date) as belongs_to_date,
        -reversals.amount as signed_amount
    from payments_known as reversals
    left join payments_known as originals
        on reversals.reversal_of = originals.payment_id
    where reversals.reversal_of is not null
),

schedule_paid_running as (
    select
        schedule_versions.arrangement_id,
        payments_signed.counts_from,
        sum(sum(payments_signed.signed_amount)) over (
            partition by schedule_versions.arrangement_id
            order by payments_signed.counts_from
        ) as paid_so_far
    from schedule_versions
    inner join arrangements
        on schedule_versions.arrangement_id = arrangements.arrangement_id
    inner join payments_signed
        on
            arrangements.loan_id = payments_signed.loan_id
            and schedule_versions.version_effective_from <= payments_signed.belongs_to_date
    group by schedule_versions.arrangement_id, payments_signed.counts_from
),

-- An installment is paid from the first day after which the net paid stays at or above everything due
-- through it (a reversal that takes the money back makes it unpaid again from the reversal's date).
-- paid_floor: the least the net paid is on that day or any later one, so the installment is paid on
-- the first day whose floor reaches its due_through less the tolerance.
schedule_paid_floors as (
    select
        arrangement_id,
        counts_from,
        min(paid_so_far) over (
            partition by arrangement_id
            order by counts_from desc
            rows between unbounded preceding and current row
        ) as paid_floor
    from schedule_paid_running
    where paid_so_far is not null
),

-- That first day by one sort per arrangement instead of a look-up per installment (which cost a scan
-- of every arrangement's running totals per installment): installments and floors in one list by
-- amount, an installment before a floor of the same amount; the earliest day among the floors after
-- an installment is its paid_on.
schedule_paid_thresholds as (
    select
        arrangement_id,
        agreed_on,
        new_schedule_version,
        schedule_version,
        due_date,
        due_through - {{ var('arrears_tolerance') }} as amount,
        0 as is_floor,
        cast(null as date) as counts_from
    from schedule_installments
    where kind in ('repayment_plan', 'restructure')
    union all
    select
        arrangement_id,
        cast(null as date) as agreed_on,
        cast(null as integer) as new_schedule_version,
        cast(null as integer) as schedule_version,
        cast(null as date) as due_date,
        paid_floor as amount,
        1 as is_floor,
        counts_from
    from schedule_paid_floors
),

plan_installments_paid as (
    select
        arrangement_id,
        agreed_on,
        new_schedule_version,
        schedule_version,
        due_date,
        paid_on
    from (
        select
            arrangement_id,
            agreed_on,
            new_schedule_version,
            schedule_version,
            due_date,
            is_floor,
            case
                when amount is not null
                    then min(counts_from) over (
                        partition by arrangement_id
                        order by amount asc, is_floor asc
                        rows between current row and unbounded following
                    )
            end as paid_on
        from schedule_paid_thresholds
    ) as ordered
    where is_floor = 0
),

{#- The day an installment breaks its plan if still unpaid: arrangement_break_dpd days after it falls
    due (counted from agreed_on for one due before the plan). -#}
{%- set breaks_plan_on = add_days('greatest(paid.due_date, paid.agreed_on)', var('arrangement_break_dpd')) %}

-- Plans: broken, or completed (whichever came first is decided in `judged`), from the installments
-- of their schedule (no join back to the plans).
plan_milestones as (
    select
        paid.arrangement_id,
        -- The first day an installment unpaid then is arrangement_break_dpd days late.
        min(
            case
                when
                    {{ breaks_plan_on }} <= {{ business_date() }}
                    and (paid.paid_on is null or paid.paid_on > {{ breaks_plan_on }})
                    then {{ breaks_plan_on }}
            end
        ) as broken_on,
        -- The first day after D an installment unpaid at D reaches arrangement_break_dpd days (one paid
        -- by D was paid before any such day): the plan may break then without any delivery.
        min(
            case
                when {{ breaks_plan_on }} > {{ business_date() }} and paid.paid_on is null then {{ breaks_plan_on }}
            end
        ) as next_break_on,
        -- A plan without its own schedule is there to clear the arrears it was agreed on: completed
        -- the day the last installment overdue at agreed_on is paid.
        case
            when paid.new_schedule_version is null
                then case
                    when {{ dbt.bool_or('paid.due_date < paid.agreed_on and paid.paid_on is null') }} then null
                    else
                        greatest(
                            max(case when paid.due_date < paid.agreed_on then paid.paid_on end),
                            {{ add_days('paid.agreed_on', 1) }}
                        )
                end
        end as arrears_cleared_on,
        -- A plan with its own schedule: completed when every installment of that version is paid.
        case
            when
                max(paid.schedule_version) = paid.new_schedule_version
                and not {{ dbt.bool_or('paid.paid_on is null') }}
                then max(paid.paid_on)
        end as schedule_paid_on
    from plan_installments_paid as paid
    group by paid.arrangement_id, paid.agreed_on, paid.new_schedule_version
),

-- What the loan still owed on the day a settlement was kept, after its payments (outstanding principal
-- plus the interest and fees fallen due, less the net paid towards the schedule in force): waived.
settlement_paid_through_runs as (
    select
        settlement_payments.arrangement_id,
        running.counts_from,
        running.paid_so_far
    from settlement_payments
    inner join schedule_paid_running as running
        on
            settlement_payments.arrangement_id = running.arrangement_id
            and settlement_payments.kept_on >= running.counts_from
),

settlement_paid_through_kept as (
    {{ deduplicate('settlement_paid_through_runs', ['arrangement_id'], 'counts_from desc') }}
),

loan_debt_when_kept as (
    select
        settlement_payments.arrangement_id,
        sum(installments.principal_due)
        + sum(case when installments.due_date <= settlement_payments.kept_on then installments.charges_due else 0 end)
        - coalesce(max(paid_through.paid_so_far), 0) as debt_left
    from settlement_payments
    inner join schedule_installments as installments
        on settlement_payments.arrangement_id = installments.arrangement_id
    left join settlement_paid_through_kept as paid_through
        on settlement_payments.arrangement_id = paid_through.arrangement_id
    where settlement_payments.kept_on is not null
    group by settlement_payments.arrangement_id
),

-- The negotiating team: the team of the loan's last right-party contact on or before agreed_on.
negotiating_contacts as (
    select
        arrangements.arrangement_id,
        actions.team_id,
        actions.action_at,
        actions.action_id
    from arrangements
    inner join {{ stored_actions }} as actions
        on
            arrangements.loan_id = actions.loan_id
            and arrangements.agreed_on >= actions.action_local_date
            and actions.delivered_on <= {{ business_date() }}
    where actions.is_right_party_contact
),

negotiating_team as (
    {{ deduplicate('negotiating_contacts', ['arrangement_id'], 'action_at desc, action_id desc') }}
),

{#- A plan is completed on the first of: its arrears cleared, its own schedule paid, its loan closed
    after agreed_on (by D). -#}
{%- set plan_completed_on -%}
    least(
        plan_milestones.arrears_cleared_on,
        plan_milestones.schedule_paid_on,
        case when arrangements.loan_closed_on > arrangements.agreed_on then arrangements.loan_closed_on end
    )
{%- endset %}

judged as (
    select
        arrangements.*,
        negotiating_team.team_id as negotiating_team_id,
        settlement_payments.paid_in_window,
        loan_debt_when_kept.debt_left,
        -- The first day after D on which the passing of days alone can change this row: a settlement's
        -- settle_by passed (broken, no longer pending), an installment's break day, the loan's closure
        -- delivered before its date, an installment version starting (the schedule in force changes).
        least(
            case
                when arrangements.kind = 'settlement' and arrangements.settle_by >= {{ business_date() }}
                    then {{ add_days('arrangements.settle_by', 1) }}
            end,
            plan_milestones.next_break_on,
            case
                when arrangements.loan_closes_on > {{ business_date() }} then arrangements.loan_closes_on
            end,
            schedule_versions_to_come.next_version_from
        ) as next_change_on,
        case
            when arrangements.delivered_status = 'cancelled' then 'cancelled'
            when
                arrangements.kind = 'settlement' and (
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
                {{ plan_completed_on }} is not null
                and (plan_milestones.broken_on is null or {{ plan_completed_on }} <= plan_milestones.broken_on)
                then 'completed'
            when plan_milestones.broken_on is not null then 'broken'
            else 'performing'
        end as derived_status,
        case
            when arrangements.kind = 'settlement' then settlement_payments.kept_on
            else {{ plan_completed_on }}
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
    left join schedule_versions_to_come
        on arrangements.arrangement_id = schedule_versions_to_come.arrangement_id
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
        ) as is_settlement_pending,
        -- The night this row was judged; a later night judges it again on judge_again_on at the latest.
        {{ business_date() }} as as_of_date,
        next_change_on as judge_again_on
    from judged
)

select * from final
