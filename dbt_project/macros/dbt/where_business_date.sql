{#- A data test's `where` may name the night's date as __business_date__ (e.g. "business_date = __business_date__").
    dbt renders a test's config when it parses the project, so a `where` cannot call business_date() itself,
    and a var would make dbt re-parse everything each night (decision 003); the date is put in here, when the
    test runs. Otherwise dbt's own get_where_subquery. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__business_date__', business_date()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
