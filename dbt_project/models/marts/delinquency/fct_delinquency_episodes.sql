-- Published (§8): one row per loan and delinquency episode, as of the latest business date built.
-- Each night upserts only the episodes open on D (or ending on D) from int_delinquency_episode_days;
-- rebuilding an older date never rolls an episode back to an earlier state (as_of_date guard).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['loan_id', 'episode_no'],
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['loan_id', 'episode_no'], 'unique': true},
            {'columns': ['started_on']},
        ],
    )
}}

with episode_days as (
    select * from {{ ref('int_delinquency_episode_days') }}
    {% if is_incremental() %}
        where business_date = {{ business_date() }}
    {% else %}
        where business_date <= {{ business_date() }}
    {% endif %}
),

latest_episode_state as (
    {{ deduplicate('episode_days', ['loan_id', 'episode_no'], 'business_date desc') }}
),

dpd_buckets as (
    select * from {{ ref('dpd_buckets') }}
),

final as (
    select
        latest_episode_state.loan_id,
        latest_episode_state.episode_no,
        latest_episode_state.started_on,
        latest_episode_state.ended_on,
        latest_episode_state.end_reason,
        latest_episode_state.ended_on is null as is_open,
        latest_episode_state.max_dpd,
        dpd_buckets.bucket as max_bucket,
        latest_episode_state.collected_amount,
        latest_episode_state.actions,
        latest_episode_state.right_party_contacts,
        latest_episode_state.business_date as as_of_date
    from latest_episode_state
    left join dpd_buckets
        on latest_episode_state.max_bucket_order = dpd_buckets.bucket_order
    {% if is_incremental() %}
        -- Never overwrite an episode already updated by a later night.
        where not exists (
            select 1 from {{ this }} as built
            where
                built.loan_id = latest_episode_state.loan_id
                and built.episode_no = latest_episode_state.episode_no
                and built.as_of_date > latest_episode_state.business_date
        )
    {% endif %}
)

select * from final
