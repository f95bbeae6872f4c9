{#- Use the custom schema as-is (staging, stored, intermediate, marts, seeds) instead of dbt's
    default `<target schema>_<custom>`: downstream teams query `marts.<relation>`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
