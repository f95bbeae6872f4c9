-- The numbers the dialer may use for each worked queue row (so fct_work_queue stays one row per
-- loan): the borrower's own valid numbers, and third-party numbers (emergency contact,
-- employer) only when the borrower has lost contact, marked locate-only (debt not disclosed);
-- never a number with an active per-number bar.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_business_date() }}",
    indexes=[{'columns': ['business_date', 'loan_id']}],
    contract={'enforced': true},
) }}

with queue_rows_with_phone_channels as (
    select
        business_date,
        loan_id,
        borrower_id,
        team_id,
        is_lost_contact
    from {{ ref('fct_work_queue') }}
    where
        business_date = {{ business_date() }}
        and team_id is not null
        and {{ arrays_overlap('allowed_channels', dbt.array_construct(["'call'", "'sms'"], dbt.type_string())) }}
),

usable_contact_points as (
    select
        contact_point_id,
        borrower_id,
        kind,
        is_third_party
    from {{ ref('stored_contact_points') }}
    where is_valid
),

-- Per-number bars (business rules §5): a number named by an active do_not_contact is never
-- offered, whoever's it is; the borrower's other numbers stay.
numbers_barred as (
    select distinct contact_point_id
    from {{ ref('stg_restrictions') }}
    where
        contact_point_id is not null
        and effective_from <= {{ business_date() }}
        and (effective_to is null or effective_to >= {{ business_date() }})
),

final as (
    select
        cast(queue_rows.business_date as date) as business_date,
        cast(queue_rows.loan_id as {{ dbt.type_string() }}) as loan_id,
        cast(contact_points.contact_point_id as {{ dbt.type_string() }}) as contact_point_id,
        cast(contact_points.kind as {{ dbt.type_string() }}) as kind,
        cast(contact_points.is_third_party as boolean) as locate_only
    from queue_rows_with_phone_channels as queue_rows
    inner join usable_contact_points as contact_points
        on queue_rows.borrower_id = contact_points.borrower_id
    left join numbers_barred
        on contact_points.contact_point_id = numbers_barred.contact_point_id
    where
        numbers_barred.contact_point_id is null
        and (not contact_points.is_third_party or queue_rows.is_lost_contact)
)

select * from final
