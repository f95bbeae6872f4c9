{#- on-run-start: a warehouse built before decision 043 stored the scores in their own table,
    intermediate.int_loan_scores_daily; they are now columns of int_score_features_daily, of which
    int_loan_scores_daily is a view. Before the view replaces that table (dbt drops a table it turns into a
    view), its scores are copied into the features' new columns, so every scored night keeps its scores (the
    realised KS counts them as they mature). Runs once: only while int_loan_scores_daily is a table. One
    UPDATE of every stored feature row (minutes at 1,000,000 loans x 40 nights; a VACUUM after it returns
    the old row versions' space). -#}
{% macro adopt_scores_into_features() -%}
    {{ return(adapter.dispatch('adopt_scores_into_features')()) }}
{%- endmacro %}

{#- Any engine but PostgreSQL: nothing. A Spark home built before decision 043 gets the view in place of its
    scores table: its past nights' scores are rebuilt only by a full refresh (docs/decisions/043). -#}
{% macro default__adopt_scores_into_features() -%}
    select 1
{%- endmacro %}

{% macro postgres__adopt_scores_into_features() -%}
    {%- set scores = adapter.get_relation(
        database=target.database, schema='intermediate', identifier='int_loan_scores_daily'
    ) if execute else none -%}
    {%- set features = adapter.get_relation(
        database=target.database, schema='intermediate', identifier='int_score_features_daily'
    ) if execute else none -%}
    {%- if scores is none or not scores.is_table or features is none -%}
        {{- return('select 1') -}}
    {%- endif -%}
    alter table {{ features }}
        add column if not exists scorecard_version {{ dbt.type_string() }},
        add column if not exists score_points integer,
        add column if not exists score_logit numeric(18, 8),
        add column if not exists score_probability numeric(10, 8);
    update {{ features }} as features
    set
        scorecard_version = scores.scorecard_version,
        score_points = scores.score_points,
        score_logit = scores.score_logit,
        score_probability = scores.score_probability
    from {{ scores }} as scores
    where features.business_date = scores.business_date and features.loan_id = scores.loan_id
{%- endmacro %}
