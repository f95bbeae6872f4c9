-- Compliance restrictions as known at the business date (stg_restrictions: latest version of each),
-- stored once a night as an analysed table for the compliance audit (int_contact_rule_violations) and
-- the complaint attributions.
-- The staging view is a DISTINCT ON over every delivered version, which the planner prices at a few
-- rows whatever it holds; planned on that, the audit probed every action dated since each restriction
-- began, once per restriction. Analysed, the table's true size keeps the audit's joins hash joins
-- (figures: docs/scaling.md).
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
) }}

with restrictions_known as (
    select
        restriction_id,
        borrower_id,
        kind,
        channel,
        contact_point_id,
        effective_from,
        effective_to
    from {{ ref('stg_restrictions') }}
),

final as (
    select * from restrictions_known
)

select * from final
