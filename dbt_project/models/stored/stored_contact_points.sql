-- Contact points as known at the business date, stored with indexes and statistics: the queue
-- contacts, lost contact and the compliance audit all join them, and the staging view (a window over
-- every version) would be recomputed by each of them.
-- Merged like stored_installments (macros/incremental/merge_versions.sql, decision 012): when every version stored was
-- delivered before D, the night merges only the versions delivered since the latest one stored, up
-- to D (normally D's delivery alone; a skipped night is caught up), replacing a stored number only
-- with a version that wins under §1 (a later updated_at, or the same one delivered later). A table
-- holding a delivery of D or later (a rerun of D, a backfill of an older date) or a full refresh is
-- rebuilt as of D.
-- A change of the seed contact_point_kinds reaches the stored numbers with `--full-refresh`. A table
-- built before it was carried forward gains updated_at and delivered_on empty, and is rebuilt once.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='contact_point_id',
    on_schema_change='append_new_columns',
    pre_hook='{{ reset_unless_versions_stored_before_business_date() }}',
    post_hook='{{ analyze_relation(this) }}',
    indexes=[{'columns': ['contact_point_id'], 'unique': true}, {'columns': ['borrower_id']}],
) }}

{%- set stored_through = versions_stored_before_business_date(is_incremental()) %}

with versions as (
    {% if stored_through is not none %}
        {{ staged_contact_points(filter="_business_date > cast('" ~ stored_through ~ "' as date)") }}
    {% else %}
        {{ staged_contact_points() }}
    {% endif %}
),

final as (
    select
        contact_point_id,
        borrower_id,
        kind,
        is_valid,
        is_third_party,
        updated_at,
        delivered_on
    from versions
    {% if stored_through is not none %}
        where {{ not_older_than_stored(['contact_point_id']) }}
    {% endif %}
)

select * from final
