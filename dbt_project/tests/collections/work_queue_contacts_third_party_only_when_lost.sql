-- Third-party numbers go out only for accounts that have lost contact, always locate-only.
{{ config(tags=['collections']) }}

with contacts_today as (
    select *
    from {{ ref('fct_work_queue_contacts') }}
    where business_date = {{ business_date() }}
),

final as (
    select
        contacts_today.loan_id,
        contacts_today.contact_point_id
    from contacts_today
    inner join {{ ref('fct_work_queue') }} as queue
        on
            contacts_today.business_date = queue.business_date
            and contacts_today.loan_id = queue.loan_id
    where
        contacts_today.kind in ('emergency_contact', 'employer')
        and (not queue.is_lost_contact or not contacts_today.locate_only)
)

select * from final
