{#- The bins of the scorecard version active at D (stg_scorecard_bins), read when the model runs, as a list
    of rows whose numbers keep the warehouse's exact text (numeric shares, shortest round-trip floats), so
    the compiled CASE adds exactly what the table holds. Empty at parse time, when no version is active and
    when the staging table is not built.
    dbt unit tests override this macro with their bins. -#}
{% macro active_scorecard_bins() -%}
    {#- not built yet (docs generate or a compile of a selection that does not hold it): no active version -#}
    {%- if not execute or load_relation(ref('stg_scorecard_bins')) is none -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set text = ' as ' ~ dbt.type_string() ~ ')' -%}
    {%- set found = run_query(
        'select version, cast(intercept' ~ text ~ ' as intercept, cast(base_points' ~ text ~ ' as base_points,'
        ~ ' feature, cast(lower_bound' ~ text ~ ' as lower_bound, cast(upper_bound' ~ text ~ ' as upper_bound,'
        ~ ' category, is_missing, cast(logit' ~ text ~ ' as logit, cast(points' ~ text ~ ' as points from '
        ~ ref('stg_scorecard_bins') ~ ' order by feature, bin_no'
    ) -%}
    {%- set rows = [] -%}
    {%- for row in found.rows -%}
        {%- do rows.append(dict(zip(found.column_names, row.values()))) -%}
    {%- endfor -%}
    {{- return(rows) -}}
{%- endmacro %}

{#- One feature's share of the score as a CASE over its bins: `measure` is 'logit' (exact numeric log-odds
    share) or 'points'. Numeric bins are [lower, upper) on the value as a float (NULL bound = unbounded), a
    category matches its bin, an empty value takes the missing bin; no bin (an unknown category) adds 0. -#}
{% macro scorecard_feature_case(bins, feature, measure, categorical) -%}
    {%- set value = 'cast(' ~ feature ~ ' as ' ~ (dbt.type_string() if categorical else dbt.type_float()) ~ ')' -%}
    {%- set cast_to = 'numeric' if measure == 'logit' else 'integer' -%}
    {%- set whens = [] -%}
    {%- for bin in bins if bin['feature'] == feature -%}
        {%- set share = 'cast(' ~ bin[measure] ~ ' as ' ~ cast_to ~ ')' -%}
        {%- if bin['is_missing'] in (true, 'true', 'True') -%}
            {%- do whens.append('when ' ~ value ~ ' is null then ' ~ share) -%}
        {%- elif categorical and bin['category'] is not none -%}
            {%- set category = "'" ~ (bin['category'] | replace("'", "''")) ~ "'" -%}
            {%- do whens.append('when ' ~ value ~ ' = ' ~ category ~ ' then ' ~ share) -%}
        {%- elif not categorical -%}
            {%- set condition = ['when ' ~ value ~ ' is not null'] -%}
            {%- for bound, operator in [('lower_bound', '>='), ('upper_bound', '<')] -%}
                {%- if bin[bound] is not none and bin[bound] != '' -%}
                    {%- do condition.append(
                        value ~ ' ' ~ operator ~ " cast('" ~ bin[bound] ~ "' as " ~ dbt.type_float() ~ ')'
                    ) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do whens.append(condition | join(' and ') ~ ' then ' ~ share) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return('(case ' ~ (whens | join(' ')) ~ ' else 0 end)' if whens else '0') -}}
{%- endmacro %}
