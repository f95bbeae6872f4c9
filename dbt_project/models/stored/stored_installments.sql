-- Every installment version known at the business date (as stg_installments), stored and indexed by
-- loan: the schedule in force (§2) reads it for the loans recomputed tonight only, by index, instead
-- of every delivered version of every delivered day (docs/scaling.md).
-- Merged (macros/incremental/merge_versions.sql, decision 012): when every version stored was
-- delivered before D, the night merges only the versions delivered since (normally D's delivery),
-- replacing a stored installment only with a version that wins under §1; otherwise (a rerun of D, a
-- backfill of an older date, a full refresh) the table is rebuilt as of D.
-- Rows per loan are declared to the planner (macro declare_rows_per_key: ANALYZE underestimates the
-- loans of a table written in loan order); consumer loans have 3-36 installments, 20 is the order.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['loan_id', 'schedule_version', 'installment_no'],
    on_schema_change='fail',
    pre_hook='{{ reset_unless_versions_stored_before_business_date() }}',
    post_hook=["{{ declare_rows_per_key(this, 'loan_id', 20) }}", '{{ analyze_relation(this) }}'],
    indexes=[
        {'columns': ['loan_id', 'schedule_version', 'installment_no'], 'unique': true},
        {'columns': ['delivered_on']},
    ],
) }}

{%- set stored_through = versions_stored_before_business_date(is_incremental()) %}

with versions as (
    {% if stored_through is not none %}
        {{ staged_installments(filter="_business_date > cast('" ~ stored_through ~ "' as date)") }}
    {% else %}
        {{ staged_installments() }}
    {% endif %}
),

final as (
    select * from versions
    {% if stored_through is not none %}
        where {{ not_older_than_stored(['loan_id', 'schedule_version', 'installment_no']) }}
    {% endif %}
)

select * from final
