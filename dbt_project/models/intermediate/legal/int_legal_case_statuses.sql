-- The legal pipeline (business rules §9): the date each case entered each status it has been in,
-- as known at the business date, and how long it stayed. A case enters `referred` on opened_on;
-- every other status on the source-local date of the first version delivered with it. A stay ends
-- when the case enters its next status; the terminal statuses (closed, withdrawn) have no stay.
-- Legal cases are few (a few per thousand loans): their whole history is read each night.
{{ config(
    materialized='table',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['case_id', 'status'], 'unique': true}],
) }}

with versions as (
    select * from {{ ref('stg_legal_case_versions') }}
),

status_entries as (
    select
        case_id,
        status,
        min(case when status = 'referred' then opened_on else updated_on end) as entered_on
    from versions
    group by case_id, status
),

-- A case delivered first past `referred` still entered `referred` on opened_on.
referrals as (
    select
        case_id,
        'referred' as status,
        min(opened_on) as entered_on
    from versions
    group by case_id
),

entries as (
    select * from status_entries
    union
    select * from referrals
),

entries_deduplicated as (
    select
        case_id,
        status,
        min(entered_on) as entered_on
    from entries
    group by case_id, status
),

pipeline_order as (
    {%- for status in ['referred', 'accepted', 'filed', 'judgment', 'enforcement', 'closed', 'withdrawn'] %}
        select '{{ status }}' as status, {{ loop.index }} as status_order{{ " union all" if not loop.last }}
    {%- endfor %}
),

sequenced as (
    select
        entries_deduplicated.case_id,
        entries_deduplicated.status,
        pipeline_order.status_order,
        entries_deduplicated.entered_on,
        lead(entries_deduplicated.entered_on) over (
            partition by entries_deduplicated.case_id
            order by entries_deduplicated.entered_on, pipeline_order.status_order
        ) as left_on
    from entries_deduplicated
    inner join pipeline_order
        on entries_deduplicated.status = pipeline_order.status
),

final as (
    select
        case_id,
        status,
        status_order,
        entered_on,
        left_on,
        status not in ('closed', 'withdrawn') and left_on is null as is_current_stay,
        case
            when status in ('closed', 'withdrawn') then null
            else {{ dbt.datediff('entered_on', 'coalesce(left_on, ' ~ business_date() ~ ')', 'day') }}
        end as days_in_status
    from sequenced
)

select * from final
