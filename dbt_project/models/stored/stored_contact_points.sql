-- Contact points as known at the business date, stored with indexes and statistics: the queue
-- contacts, lost contact and the compliance audit all join them, and the staging view (a window over
-- every version) would be recomputed by each of them.
-- Merged (macros/incremental/merge_versions.sql, decision 012): when every version stored was
-- delivered before D, the night merges only the versions delivered since (normally D's delivery),
-- replacing a stored number only with a version that wins under §1; otherwise (a rerun of D, a
-- backfill of an older date, a full refresh) the table is rebuilt as of D.
-- A change of the seed contact_point_kinds reaches the stored numbers with `--full-refresh`.
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
