{#- Generic test: the combination of `columns` is unique (no dbt packages: this replaces
    dbt_utils.unique_combination_of_columns). Fails with one row per duplicated combination. -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as duplicate_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
