{#- §3-4 The classification of a loan's state at D, written once for the loans recomputed tonight
    (int_loan_dpd_at_date) and the loans carried forward (int_loan_delinquency_daily). -#}


{#- §3 Days past due at D: D minus the due date of the oldest unpaid installment when that date is
    before D, else 0. -#}
{% macro days_past_due(oldest_unpaid_due_date) -%}
    case
        when {{ oldest_unpaid_due_date }} < {{ business_date() }}
            then {{ dbt.datediff(oldest_unpaid_due_date, business_date(), 'day') }}
        else 0
    end
{%- endmacro %}


{#- §4 The stage of a loan: written off first, then pre-due (DPD 0 with an unpaid installment due in
    D+1 .. D+predue_days), else the stage of its DPD bucket (seed dpd_buckets). -#}
{% macro delinquency_stage(is_written_off, dpd, has_unpaid_installment_due_soon, bucket_stage) -%}
    case
        when {{ is_written_off }} then 'written_off'
        when {{ dpd }} = 0 and {{ has_unpaid_installment_due_soon }} then 'pre_due'
        else {{ bucket_stage }}
    end
{%- endmacro %}


{#- §4 A select of every column of `loans` (a CTE with a DPD) plus its bucket, bucket_order, stage,
    regulatory_class and is_charge_off_candidate. Left joins to the seeds (`dpd_buckets`,
    `regulatory_classes`: the caller's refs or CTEs, taken where parsing renders them): a DPD no range
    covers shows up as a null bucket (caught by not_null tests), never as a silently dropped loan. The
    other arguments are SQL expressions over `loans`. -#}
{% macro classify_delinquency(
    loans, dpd, is_written_off, has_unpaid_installment_due_soon, dpd_buckets, regulatory_classes
) -%}
    select
        {{ loans }}.*,
        dpd_buckets.bucket,
        dpd_buckets.bucket_order,
        {{ delinquency_stage(is_written_off, dpd, has_unpaid_installment_due_soon, 'dpd_buckets.stage') }} as stage,
        regulatory_classes.regulatory_class,
        dpd_buckets.is_charge_off_candidate
    from {{ loans }}
    left join {{ dpd_buckets }} as dpd_buckets
        on {{ dpd }} between dpd_buckets.min_dpd and coalesce(dpd_buckets.max_dpd, {{ dpd }})
    left join {{ regulatory_classes }} as regulatory_classes
        on {{ dpd }} between regulatory_classes.min_dpd and coalesce(regulatory_classes.max_dpd, {{ dpd }})
{%- endmacro %}
