{#- The event staging models' select, shared with the models that read a narrowed slice of the same
    entity: payments and reversals (stg_payments, int_payments) and collection actions
    (stg_collection_actions, int_collection_actions)
    delivered on or before D, each once (first delivery wins, §1), typed and renamed. `filter`
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


{#- Event models stored once per first delivery (int_collection_actions, int_payments), appended by
    delivery date. The last delivery date already stored before D: the night reads only the events
    first delivered after it, up to D (normally D alone; a skipped night is caught up instead of
    leaving a hole). None on a first build or full refresh: read every event known at D.
    `incremental` is the caller's is_incremental().
    (not flags.FULL_REFRESH: lint renders without a warehouse, scripts/sqlfluff_library/flags.py) -#}
{% macro stored_until(incremental) -%}
    {%- if incremental and execute and not flags.FULL_REFRESH -%}
        {%- set found = run_query(
            'select max(delivered_on) from ' ~ this ~ ' where delivered_on < ' ~ business_date()
        ) -%}
        {{- return(found.columns[0].values()[0]) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}


{#- The point_in_time filter of those events: delivered after `stored_day` and not stored yet (first
    delivery wins): one probe of the stored table's unique index on `key`, not one per delivered
    date's partition. -#}
{% macro delivered_since_and_not_stored(stored_day, key) -%}
    _business_date > cast('{{ stored_day }}' as date)
    and not exists (select 1 from {{ this }} as stored where stored.{{ key }} = delivered.{{ key }})
{%- endmacro %}


{#- The loans whose money changes on D (stg_loans_to_recompute, fct_promises_to_pay): payments and
    reversals first delivered on D, or delivered earlier with a value date of D (counted from D on).
    From int_payments, not raw.payments: its indexes on delivered_on and value_date find the day's
    money directly, where raw.payments is partitioned by delivery and a value date can only be found
    by scanning every delivered day. A payment delivered again changes nothing (its first delivery
    counts, §1), so int_payments' first deliveries are exactly the money that can change a loan.
    The caller names int_payments in a `depends_on` comment when it calls this in a branch that
    parsing does not render. -#}
{% macro loans_with_money_changing_on_business_date() -%}
    select loan_id from {{ ref('int_payments') }}
    where
        delivered_on = {{ business_date() }}
        or (delivered_on < {{ business_date() }} and value_date = {{ business_date() }})
{%- endmacro %}


{#- The contact points' staging select (an upsert entity: the version known at D, §1), shared by
    stg_contact_points (every version delivered up to D) and int_contact_points (only the versions
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
    D) and int_installments (only the versions delivered since its last night, through `filter`:
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
