-- Agency placements (business rules §9), one row per placement of a loan with an outside agency.
-- A loan routed to `agency` and not placed is placed on D with one active agency that has
-- capacity, drawn from (loan id, placement number) weighted by share, never the agency of its
-- previous placement; it stays placed until recalled (misconduct, agency_inactive, resolved,
-- rerouted, expired: the first that holds, in that order). Carried forward: each night reads the
-- open placements and tonight's queue only, and judges misconduct by complaint only for what became
-- known on D (decision 041), so its cost does not grow with history; the pre-hook first rewinds the
-- table to night D-1, so a rerun or backfill of D reproduces D (decision 024).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='placement_id',
    on_schema_change='fail',
    pre_hook='{{ rewind_placements_to_night_before() }}',
    post_hook=['{{ record_night_built() }}', '{{ analyze_relation(this) }}'],
    indexes=[
        {'columns': ['placement_id'], 'unique': true},
        {'columns': ['loan_id', 'placement_number']},
        {'columns': ['recalled_on']},
        {'columns': ['placed_on']},
    ],
    contract={'enforced': true},
) }}

{%- set incremental = is_incremental() %}
{#- After the rewind the open placements are as night D-1 left them; when that night was built (the table's
    record says D-1, or a later night: a rerun or backfill), each of them passed its judgement, so only
    what became known on D can recall it for misconduct (decision 041). Else (no record yet) every
    complaint known is judged. -#}
{%- set judge_complaints_known_tonight_only = carry_forward_mode(incremental) != 'recompute' %}

with agencies as (
    select
        agency_id,
        share,
        capacity,
        coalesce(holding_days, 90) as holding_days,
        active
    from {{ ref('agencies') }}
),

queue_today as (
    select
        loan_id,
        borrower_id,
        dpd,
        team_id,
        hold_reason
    from {{ ref('int_work_queue_narrowed') }}
),

open_placements as (
    {%- if incremental %}
        select * from {{ this }}
        where recalled_on is null
    {%- else %}
        select {{ placement_columns(nulls=true) }}
        where 1 = 0
    {%- endif %}
),

-- Misconduct: a violation of tonight's audit by the agency on the loan, or a complaint (restriction
-- kind `complaint`, dated C) by the borrower since the placement, when the agency had an outbound
-- action on the borrower's loans on days C-6 .. C (business rules §7). The audit's outside_placement
-- rule is judged here against the placements as night D-1 left them (fct_compliance_violations,
-- which publishes it, comes after this model: decision 033); only open placements can be recalled,
-- so there is nothing to judge on a first build.
violations_by_agency_today as (
    select distinct
        loan_id,
        agency_name as agency_id
    from {{ ref('int_contact_rule_violations') }}
    where
        business_date = {{ business_date() }}
        and agency_name is not null
    {%- if incremental %}
        union
        select
            actions.loan_id,
            actions.agency_name as agency_id
        from {{ ref('stored_collection_actions') }} as actions
        where
            actions.delivered_on = {{ business_date() }}
            and actions.direction is distinct from 'inbound'
            and {{ is_outside_placement('actions', this) }}
    {%- endif %}
),

complaints_known as (
    select
        borrower_id,
        effective_from as complained_on,
        -- Known since tonight: delivered on D, or dated D (delivered earlier, known from its date on).
        coalesce(delivered_on = {{ business_date() }} or effective_from = {{ business_date() }}, false)
            as is_known_since_tonight
    from {{ ref('stg_restrictions') }}
    where
        kind = 'complaint'
        and effective_from <= {{ business_date() }}
),

{#- The days C-6 .. C of a complaint dated C as a list, not a range: seven equality lookups of the
    (action_local_date, borrower_id) index per complaint, instead of reading a whole week of every
    borrower's actions for each one (docs/scaling.md). -#}
{%- set complaint_week = [] %}
{%- for days_before in range(6, -1, -1) %}
    {%- do complaint_week.append(add_days('complaints.complained_on', -days_before)) %}
{%- endfor %}

-- A complaint after the placement's day, on the placement's borrower. When night D-1 was built, only the
-- pairs that can be new tonight: a complaint known since tonight, or a placement made on D-1 (its first
-- judgement); the pairs an agency action delivered tonight completes are found from those actions below.
complaint_pairs as (
    select
        open_placements.placement_id,
        open_placements.borrower_id,
        open_placements.agency_id,
        complaints_known.complained_on
    from open_placements
    inner join complaints_known
        on
            open_placements.borrower_id = complaints_known.borrower_id
            and open_placements.placed_on <= complaints_known.complained_on
    {%- if judge_complaints_known_tonight_only %}
        where
            complaints_known.is_known_since_tonight
            or open_placements.placed_on = {{ add_days(business_date(), -1) }}
    {%- endif %}
),

complaints_against_placements as (
    select distinct complaints.placement_id
    from complaint_pairs as complaints
    where
        exists (
            select 1
            from {{ ref('stored_collection_actions') }} as actions
            where
                actions.borrower_id = complaints.borrower_id
                and actions.team_id = 'agency:' || complaints.agency_id
                and actions.direction is distinct from 'inbound'
                and actions.delivered_on <= {{ business_date() }}
                and actions.action_local_date in ({{ complaint_week | join(', ') }})
        )
    {%- if judge_complaints_known_tonight_only %}
        union
        select open_placements.placement_id
        from {{ ref('stored_collection_actions') }} as actions
        inner join open_placements
            on
                actions.borrower_id = open_placements.borrower_id
                and actions.team_id = 'agency:' || open_placements.agency_id
        inner join complaints_known as complaints
            on
                open_placements.borrower_id = complaints.borrower_id
                and open_placements.placed_on <= complaints.complained_on
        where
            actions.delivered_on = {{ business_date() }}
            and actions.direction is distinct from 'inbound'
            and actions.action_local_date in ({{ complaint_week | join(', ') }})
    {%- endif %}
),

recall_reasons as (
    select
        open_placements.placement_id,
        case
            when
                violations_by_agency_today.loan_id is not null
                or complaints_against_placements.placement_id is not null
                then 'misconduct'
            when agencies.agency_id is null or not agencies.active then 'agency_inactive'
            when queue_today.loan_id is null or queue_today.dpd = 0 then 'resolved'
            when queue_today.team_id is null or queue_today.team_id <> 'agency' then 'rerouted'
            when open_placements.expires_on <= {{ business_date() }} then 'expired'
        end as recall_reason
    from open_placements
    left join agencies on open_placements.agency_id = agencies.agency_id
    left join queue_today on open_placements.loan_id = queue_today.loan_id
    left join violations_by_agency_today
        on
            open_placements.loan_id = violations_by_agency_today.loan_id
            and open_placements.agency_id = violations_by_agency_today.agency_id
    left join complaints_against_placements
        on open_placements.placement_id = complaints_against_placements.placement_id
),

recalled_tonight as (
    select
        open_placements.placement_id,
        open_placements.loan_id,
        open_placements.borrower_id,
        open_placements.placement_number,
        open_placements.agency_id,
        open_placements.placed_on,
        open_placements.holding_days,
        open_placements.expires_on,
        open_placements.dpd_at_placement,
        open_placements.balance_placed,
        {{ business_date() }} as recalled_on,
        recall_reasons.recall_reason
    from open_placements
    inner join recall_reasons on open_placements.placement_id = recall_reasons.placement_id
    where recall_reasons.recall_reason is not null
),

still_placed as (
    select
        open_placements.loan_id,
        open_placements.agency_id
    from open_placements
    where open_placements.placement_id not in (select recalled_tonight.placement_id from recalled_tonight)
),

loans_to_place as (
    select
        queue_today.loan_id,
        queue_today.borrower_id,
        queue_today.dpd
    from queue_today
    where
        queue_today.team_id = 'agency'
        and queue_today.loan_id not in (select still_placed.loan_id from still_placed)
),

-- Each loan's last placement (its number and agency), read by index for the loans to place only.
last_placements as (
    {%- if incremental %}
        select
            placements.loan_id,
            placements.placement_number,
            placements.agency_id
        from {{ this }} as placements
        where
            placements.loan_id in (select loans_to_place.loan_id from loans_to_place)
            and not exists (
                select 1 from {{ this }} as later
                where
                    later.loan_id = placements.loan_id
                    and later.placement_number > placements.placement_number
            )
    {%- else %}
        select
            cast(null as {{ dbt.type_string() }}) as loan_id,
            cast(null as integer) as placement_number,
            cast(null as {{ dbt.type_string() }}) as agency_id
        where 1 = 0
    {%- endif %}
),

draws as (
    select
        loans_to_place.loan_id,
        loans_to_place.borrower_id,
        loans_to_place.dpd,
        coalesce(last_placements.placement_number, 0) + 1 as placement_number,
        last_placements.agency_id as previous_agency_id,
        {{ unit_interval_hash(
            "loans_to_place.loan_id || ':' || cast(coalesce(last_placements.placement_number, 0) + 1 as "
            ~ dbt.type_string() ~ ")"
        ) }} as draw
    from loans_to_place
    left join last_placements on loans_to_place.loan_id = last_placements.loan_id
),

placed_per_agency as (
    select
        agency_id,
        count(*) as placed
    from still_placed
    group by agency_id
),

agencies_with_room as (
    select
        agencies.agency_id,
        agencies.share,
        agencies.holding_days,
        agencies.capacity - coalesce(placed_per_agency.placed, 0) as room
    from agencies
    left join placed_per_agency on agencies.agency_id = placed_per_agency.agency_id
    where agencies.active and agencies.share > 0
),

-- The eligible agencies of each loan (room left, not its previous agency) laid end to end on
-- [0, 1) in agency_id order, each as long as its share of the eligible total.
candidates as (
    select
        draws.loan_id,
        draws.draw,
        agencies_with_room.agency_id,
        agencies_with_room.holding_days,
        sum(agencies_with_room.share) over (
            partition by draws.loan_id order by agencies_with_room.agency_id
        ) / sum(agencies_with_room.share) over (partition by draws.loan_id) as upper_bound,
        (
            sum(agencies_with_room.share) over (partition by draws.loan_id order by agencies_with_room.agency_id)
            - agencies_with_room.share
        ) / sum(agencies_with_room.share) over (partition by draws.loan_id) as lower_bound
    from draws
    inner join agencies_with_room
        on
            agencies_with_room.room > 0
            and agencies_with_room.agency_id is distinct from draws.previous_agency_id
),

chosen as (
    select
        draws.*,
        candidates.agency_id,
        candidates.holding_days,
        agencies_with_room.room,
        row_number() over (partition by candidates.agency_id order by draws.draw, draws.loan_id) as nth_for_agency
    from draws
    inner join candidates
        on
            draws.loan_id = candidates.loan_id
            and draws.draw >= candidates.lower_bound
            and draws.draw < candidates.upper_bound
    inner join agencies_with_room on candidates.agency_id = agencies_with_room.agency_id
),

-- An agency short of room takes the loans with the lowest draws; the others wait for a later night.
placed_tonight as (
    select
        chosen.loan_id || '#' || cast(chosen.placement_number as {{ dbt.type_string() }}) as placement_id,
        chosen.loan_id,
        chosen.borrower_id,
        chosen.placement_number,
        chosen.agency_id,
        {{ business_date() }} as placed_on,
        chosen.holding_days,
        {{ add_days(business_date(), 'chosen.holding_days') }} as expires_on,
        chosen.dpd as dpd_at_placement,
        loans.outstanding_principal + loans.overdue_interest + loans.overdue_fee as balance_placed,
        cast(null as date) as recalled_on,
        cast(null as {{ dbt.type_string() }}) as recall_reason
    from chosen
    inner join {{ ref('int_loan_delinquency_daily') }} as loans
        on
            chosen.loan_id = loans.loan_id
            and loans.business_date = {{ business_date() }}
    where chosen.nth_for_agency <= chosen.room
),

changed as (
    select * from recalled_tonight
    union all
    select * from placed_tonight
),

final as (
    select {{ placement_columns() }}
    from changed
)

select * from final
