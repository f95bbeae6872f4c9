-- The agency scorecard (business rules §9), one row per agency and calendar month. Placement figures
-- belong to the month the accounts were placed (accounts and balance placed, collected while
-- placed, liquidation and cure rates); contacts, violations, complaints and recalls to the month
-- they happened. A view: it costs nothing at night and is always as of the latest build.
{{ config(materialized='view') }}

with placements as (
    select * from {{ ref('fct_agency_placements') }}
),

-- Net money on the loan from the day after placement (the agency works from the next morning)
-- to the recall night, or to date while it is placed; a reversal takes its amount back.
collected_per_placement as (
    select
        placements.placement_id,
        coalesce(sum(case when payments.is_reversal then -payments.amount else payments.amount end), 0)
            as collected
    from placements
    left join {{ ref('stored_payments') }} as payments
        on
            placements.loan_id = payments.loan_id
            and placements.placed_on < payments.value_date
            and (placements.recalled_on is null or placements.recalled_on >= payments.value_date)
    group by placements.placement_id
),

placed_by_month as (
    select
        placements.agency_id,
        {{ dbt.date_trunc('month', 'placements.placed_on') }} as month_start,
        count(*) as accounts_placed,
        sum(placements.balance_placed) as balance_placed,
        sum(collected_per_placement.collected) as collected_during_placement,
        count(case when placements.recall_reason = 'resolved' then 1 end) as accounts_resolved
    from placements
    inner join collected_per_placement on placements.placement_id = collected_per_placement.placement_id
    group by placements.agency_id, {{ dbt.date_trunc('month', 'placements.placed_on') }}
),

recalls_by_month as (
    select
        agency_id,
        {{ dbt.date_trunc('month', 'recalled_on') }} as month_start,
        count(case when recall_reason = 'expired' then 1 end) as recalled_expired,
        count(case when recall_reason = 'resolved' then 1 end) as recalled_resolved,
        count(case when recall_reason = 'rerouted' then 1 end) as recalled_rerouted,
        count(case when recall_reason = 'agency_inactive' then 1 end) as recalled_agency_inactive,
        count(case when recall_reason = 'misconduct' then 1 end) as recalled_misconduct
    from placements
    where recalled_on is not null
    group by agency_id, {{ dbt.date_trunc('month', 'recalled_on') }}
),

agency_actions as (
    select
        agency_name as agency_id,
        borrower_id,
        action_local_date
    from {{ ref('stored_collection_actions') }}
    where
        agency_name is not null
        and direction is distinct from 'inbound'
),

contacts_by_month as (
    select
        agency_id,
        {{ dbt.date_trunc('month', 'action_local_date') }} as month_start,
        count(*) as contacts
    from agency_actions
    group by agency_id, {{ dbt.date_trunc('month', 'action_local_date') }}
),

violations_by_month as (
    select
        agency_name as agency_id,
        {{ dbt.date_trunc('month', 'action_local_date') }} as month_start,
        count(*) as violations
    from {{ ref('fct_compliance_violations') }}
    where agency_name is not null
    group by agency_name, {{ dbt.date_trunc('month', 'action_local_date') }}
),

-- A complaint dated C counts against every agency with an outbound action on the borrower's
-- loans on days C-6 .. C (business rules §7), once per agency.
complaints_by_month as (
    select
        attributed.agency_id,
        {{ dbt.date_trunc('month', 'attributed.complained_on') }} as month_start,
        count(*) as complaints
    from (
        select distinct
            complaints.restriction_id,
            complaints.effective_from as complained_on,
            agency_actions.agency_id
        from {{ ref('stg_restrictions') }} as complaints
        inner join agency_actions
            on
                complaints.borrower_id = agency_actions.borrower_id
                and agency_actions.action_local_date
                between {{ add_days('complaints.effective_from', -6) }} and complaints.effective_from
        where complaints.kind = 'complaint'
    ) as attributed
    group by attributed.agency_id, {{ dbt.date_trunc('month', 'attributed.complained_on') }}
),

agency_months as (
    select
        agency_id,
        month_start
    from placed_by_month
    union
    select
        agency_id,
        month_start
    from recalls_by_month
    union
    select
        agency_id,
        month_start
    from contacts_by_month
    union
    select
        agency_id,
        month_start
    from complaints_by_month
),

final as (
    select
        cast(agency_months.agency_id as {{ dbt.type_string() }}) as agency_id,
        cast(agency_months.month_start as date) as month_start,
        cast(coalesce(placed_by_month.accounts_placed, 0) as integer) as accounts_placed,
        cast(coalesce(placed_by_month.balance_placed, 0) as numeric(18, 2)) as balance_placed,
        cast(coalesce(placed_by_month.collected_during_placement, 0) as numeric(18, 2)) as collected_during_placement,
        cast(
            placed_by_month.collected_during_placement / nullif(placed_by_month.balance_placed, 0) as numeric(12, 6)
        ) as liquidation_rate,
        cast(
            1.0 * placed_by_month.accounts_resolved / nullif(placed_by_month.accounts_placed, 0) as numeric(12, 6)
        ) as cure_rate,
        cast(coalesce(contacts_by_month.contacts, 0) as integer) as contacts,
        cast(coalesce(violations_by_month.violations, 0) as integer) as violations,
        cast(coalesce(complaints_by_month.complaints, 0) as integer) as complaints,
        cast(
            1000.0 * coalesce(violations_by_month.violations, 0) / nullif(contacts_by_month.contacts, 0)
            as numeric(12, 3)
        ) as violations_per_1000_contacts,
        cast(
            1000.0 * coalesce(complaints_by_month.complaints, 0) / nullif(contacts_by_month.contacts, 0)
            as numeric(12, 3)
        ) as complaints_per_1000_contacts,
        cast(coalesce(recalls_by_month.recalled_expired, 0) as integer) as recalled_expired,
        cast(coalesce(recalls_by_month.recalled_resolved, 0) as integer) as recalled_resolved,
        cast(coalesce(recalls_by_month.recalled_rerouted, 0) as integer) as recalled_rerouted,
        cast(coalesce(recalls_by_month.recalled_agency_inactive, 0) as integer) as recalled_agency_inactive,
        cast(coalesce(recalls_by_month.recalled_misconduct, 0) as integer) as recalled_misconduct
    from agency_months
    left join placed_by_month
        on
            agency_months.agency_id = placed_by_month.agency_id
            and agency_months.month_start = placed_by_month.month_start
    left join recalls_by_month
        on
            agency_months.agency_id = recalls_by_month.agency_id
            and agency_months.month_start = recalls_by_month.month_start
    left join contacts_by_month
        on
            agency_months.agency_id = contacts_by_month.agency_id
            and agency_months.month_start = contacts_by_month.month_start
    left join violations_by_month
        on
            agency_months.agency_id = violations_by_month.agency_id
            and agency_months.month_start = violations_by_month.month_start
    left join complaints_by_month
        on
            agency_months.agency_id = complaints_by_month.agency_id
            and agency_months.month_start = complaints_by_month.month_start
)

select * from final
