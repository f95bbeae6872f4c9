{#- §4 The stage of a loan: written off first, then pre-due (DPD 0 with an unpaid installment due in
    D+1 .. D+predue_days), else the stage of its DPD bucket (seed dpd_buckets). One definition for the
    recomputed loans (int_loan_dpd_at_date) and the loans carried forward (fct_loan_delinquency_daily). -#}
{% macro delinquency_stage(is_written_off, dpd, has_unpaid_installment_due_soon, bucket_stage) -%}
    case
        when {{ is_written_off }} then 'written_off'
        when {{ dpd }} = 0 and {{ has_unpaid_installment_due_soon }} then 'pre_due'
        else {{ bucket_stage }}
    end
{%- endmacro %}
