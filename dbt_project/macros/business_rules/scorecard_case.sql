{#- The bins of the scorecard version active at D (stg_scorecard_bins), read when the model runs, as a list
    of rows whose numbers keep the warehouse's exact text (numeric shares, shortest round-trip floats), so
    the compiled CASE adds exactly what the table holds. Empty at parse time and when no version is active.
    dbt unit tests override this macro with their bins. -#}
{% macro active_scorecard_bins() -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select
            version,
            cast(intercept as text) as intercept,
            cast(base_points as text) as base_points,
            feature,
            cast(lower_bound as text) as lower_bound,
            cast(upper_bound as text) as upper_bound,
            category,
            is_missing,
            cast(logit as text) as logit,
            cast(points as text) as points
        from {{ ref('stg_scorecard_bins') }}
        order by feature, bin_no
    {%- endset -%}
    {%- set rows = [] -%}
    {%- for row in run_query(query).rows -%}
        {%- do rows.append({
            'version': row['version'], 'intercept': row['intercept'], 'base_points': row['base_points'],
            'feature': row['feature'], 'lower_bound': row['lower_bound'], 'upper_bound': row['upper_bound'],
            'category': row['category'], 'is_missing': row['is_missing'], 'logit': row['logit'],
            'points': row['points'],
        }) -%}
    {%- endfor -%}
    {{ return(rows) }}
{%- endmacro %}

{#- One feature's share of the score as a CASE over its bins: `measure` is 'logit' (exact numeric log-odds
    share) or 'points'. Numeric bins are [lower, upper) on the value as a float (NULL bound = unbounded), a
    category matches its bin, an empty value takes the missing bin; no bin (an unknown category) adds 0. -#}
{% macro scorecard_feature_case(bins, feature, measure, categorical) -%}
    {%- set value = 'cast(' ~ feature ~ ' as ' ~ (dbt.type_string() if categorical else dbt.type_float()) ~ ')' -%}
    {%- set cast_to = 'numeric' if measure == 'logit' else 'integer' -%}
    {%- set feature_bins = bins | selectattr('feature', 'equalto', feature) | list -%}
    {%- if feature_bins | length == 0 -%}
    0
    {%- else -%}
    case
    {%- for bin in feature_bins %}
        {%- set share = 'cast(' ~ bin[measure] ~ ' as ' ~ cast_to ~ ')' %}
        {%- if bin['is_missing'] in (true, 'true', 'True') %}
        when {{ value }} is null then {{ share }}
        {%- elif categorical %}
        {%- if bin['category'] is not none %}
        when {{ value }} = '{{ bin["category"] | replace("'", "''") }}' then {{ share }}
        {%- endif %}
        {%- else %}
        {%- set conditions = [] %}
        {%- if bin['lower_bound'] is not none and bin['lower_bound'] != '' %}
            {%- do conditions.append(value ~ " >= cast('" ~ bin['lower_bound'] ~ "' as " ~ dbt.type_float() ~ ")") %}
        {%- endif %}
        {%- if bin['upper_bound'] is not none and bin['upper_bound'] != '' %}
            {%- do conditions.append(value ~ " < cast('" ~ bin['upper_bound'] ~ "' as " ~ dbt.type_float() ~ ")") %}
        {%- endif %}
        when {{ value }} is not null{% for condition in conditions %} and {{ condition }}{% endfor %} then {{ share }}
        {%- endif %}
    {%- endfor %}
        else 0
    end
    {%- endif -%}
{%- endmacro %}
