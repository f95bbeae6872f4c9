{#- Incremental pattern "replace the business date": tables keeping one set of rows per business date
    (int_loan_delinquency_daily, int_delinquency_episode_days, ...), incremental_strategy 'append'.
    Probe: dbt's is_incremental(). Reset: replace_business_date (pre-hook). -#}


{#- Pre-hook of the models that are incremental by business date: delete exactly D's rows, in the
    same transaction as the insert that follows (incremental_strategy 'append'), so rebuilding D
    replaces it atomically and a night never touches the other dates. `date_column` names the
    model's date column. Nothing to delete on the first build or a full refresh. -#}
{% macro replace_business_date(date_column='business_date') -%}
    {{ return(adapter.dispatch('replace_business_date', 'arrears')(date_column)) }}
{%- endmacro %}

{% macro default__replace_business_date(date_column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ date_column }} = {{ business_date() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- Post-hook: delete the rows of this table for which `condition` holds (rows where it is null stay). -#}
{% macro delete_rows_where(condition) -%}
    {{ return(adapter.dispatch('delete_rows_where', 'arrears')(condition)) }}
{%- endmacro %}

{% macro default__delete_rows_where(condition) -%}
    delete from {{ this }} where {{ condition }}
{%- endmacro %}
