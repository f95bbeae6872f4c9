{#- The leading sort keys of a team's queue (var queue_priority, docs/scorecard.md): nothing for rule_order
    (the rule order follows), the score for score, score x overdue amount for expected_loss. Unscored loans
    go last within either score ordering; the rule order breaks ties. -#}
{% macro queue_priority_order(alias) -%}
    {%- set mode = var('queue_priority') -%}
    {%- if mode == 'score' -%}
        {{ alias }}.score_probability desc nulls last,
    {%- elif mode == 'expected_loss' -%}
        {{ alias }}.score_probability * {{ alias }}.overdue_amount desc nulls last,
    {%- elif mode != 'rule_order' -%}
        {{ exceptions.raise_compiler_error(
            "var queue_priority must be rule_order, score or expected_loss, got " ~ mode
        ) }}
    {%- endif -%}
{%- endmacro %}
