{#- The staging select of an entity (rename, cast, point in time), shared by its staging view and its
    stored copy (models/stored/): the two layers that read sources. `filter` narrows the delivered rows
    before the deduplication (see point_in_time), so a stored copy reads only the deliveries it lacks. -#}


{#- Payments and reversals (stg_payments, stored_payments) and collection actions
    (stg_collection_actions, stored_collection_actions) delivered on or before D, each once (first delivery wins, §1), typed and renamed. `filter`
    narrows the rows before the deduplication (see point_in_time). -#}
{% macro staged_payments(filter=none) -%}
with payments_known_at_date as (
    {{ point_in_time(source('raw', 'payments'), ['payment_id'], 'event', filter=filter) }}
),

final as (
    select
        payment_id,
        loan_id,
        received_at,
        value_date,
        amount,
        channel,
        reversal_of,
        reversal_of is not null as is_reversal,
        _business_date as delivered_on
    from payments_known_at_date
)

select * from final
{%- endmacro %}


{% macro staged_collection_actions(filter=none) -%}
with actions_known as (
    {{ point_in_time(source('raw', 'collection_actions'), ['action_id'], 'event', filter=filter) }}
),

final as (
    select
        action_id,
        loan_id,
        borrower_id,
        contact_point_id,
        action_at,
        channel,
        direction,
        team_id,
        agent_id,
        outcome,
        promised_amount,
        promised_date,
        collectors_present,
        _business_date as delivered_on
    from actions_known
)

select * from final
{%- endmacro %}


{#- The contact points' staging select (an upsert entity: the version known at D, §1), shared by
    stg_contact_points (every version delivered up to D) and stored_contact_points (only the versions
    delivered since its last night, through `filter`: key-independent, so it cannot change which of
    the delivered versions wins among those it keeps). Without the phone number itself. -#}
{% macro staged_contact_points(filter=none) -%}
with contact_points_known as (
    {{ point_in_time(source('pii', 'contact_points'), ['contact_point_id'], 'upsert', filter=filter) }}
),

final as (
    select
        contact_points_known.contact_point_id,
        contact_points_known.borrower_id,
        contact_points_known.kind,
        contact_points_known.relationship,
        -- A number is usable until the source says it is wrong (NULL = not known to be wrong).
        coalesce(contact_points_known.is_valid, true) as is_valid,
        coalesce(contact_point_kinds.is_third_party, false) as is_third_party,
        contact_points_known.updated_at,
        contact_points_known._business_date as delivered_on
    from contact_points_known
    left join {{ ref('contact_point_kinds') }} as contact_point_kinds
        on contact_points_known.kind = contact_point_kinds.kind
)

select * from final
{%- endmacro %}


{#- The installments' staging select (an upsert entity: every version of every installment of every
    schedule version, as known at D, §1), shared by stg_installments (every version delivered up to
    D) and stored_installments (only the versions delivered since its last night, through `filter`:
    key-independent, so it cannot change which of the delivered versions wins among those it keeps). -#}
{% macro staged_installments(filter=none) -%}
with installments_known_at_date as (
    {{ point_in_time(
        source('raw', 'installments'),
        ['loan_id', 'schedule_version', 'installment_no'],
        'upsert',
        filter=filter,
    ) }}
),

final as (
    select
        loan_id,
        schedule_version,
        effective_from,
        installment_no,
        due_date,
        principal_due,
        interest_due,
        fee_due,
        updated_at,
        _business_date as delivered_on
    from installments_known_at_date
)

select * from final
{%- endmacro %}
