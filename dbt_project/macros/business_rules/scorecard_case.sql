{#- sqlfluff 3's jinja tracer mis-reads this macro-only file's nested if / for variants as indented SQL (LT02
    on every line; the file renders no SQL of its own): indentation is not linted here. -#}
-- noqa: disable=LT02
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

{#- One feature's share of the score as a CASE over its bins: `measure` is 'units' (the log-odds share as an
    integer count of 10^-scale, so the sum is exact integer arithmetic; scorecard_logit_scale), 'points', or
    'packed' (both in one bigint, scorecard_scores_select). `value` is the feature already cast once (float or text). Numeric bins are [lower, upper) (NULL bound =
    unbounded), a category matches its bin, an empty value takes the missing bin; no bin (an unknown
    category, a value in a gap) adds 0. Numeric bins in ascending order without overlaps, as training writes
    them, compile to a chain of `value < upper` tests (one comparison per bin passed); any other layout to
    the full [lower, upper) test per bin, in bin order. -#}
{% macro scorecard_feature_case(bins, feature, measure, categorical, value, scale=0) -%}
    {%- set own = [] -%}
    {%- for bin in bins if bin['feature'] == feature -%}{%- do own.append(bin) -%}{%- endfor -%}
    {%- if not own -%}{{- return('0') -}}{%- endif -%}
    {%- set whens = [] -%}
    {%- set missing = [] -%}
    {%- set ranged = [] -%}
    {%- for bin in own -%}
        {%- set share = scorecard_share(bin, measure, scale) -%}
        {%- if bin['is_missing'] in (true, 'true', 'True') -%}
            {%- do missing.append(share) -%}
        {%- elif categorical and bin['category'] is not none -%}
            {%- set category = "'" ~ (bin['category'] | replace("'", "''")) ~ "'" -%}
            {%- do whens.append('when ' ~ value ~ ' = ' ~ category ~ ' then ' ~ share) -%}
        {%- elif not categorical -%}
            {%- do ranged.append(bin) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set null_share = missing[0] if missing else '0' -%}
    {%- set chained = ranged and scorecard_bins_ascending(ranged) -%}
    {%- if not categorical -%}
        {%- do whens.insert(0, 'when ' ~ value ~ ' is null then ' ~ null_share) -%}
        {%- set previous_upper = [none] -%}
        {%- for bin in ranged -%}
            {%- set lower = scorecard_bound(bin['lower_bound']) -%}
            {%- set upper = scorecard_bound(bin['upper_bound']) -%}
            {%- set share = scorecard_share(bin, measure, scale) -%}
            {%- if chained -%}
                {#- a value below this bin (and not in an earlier one) is in no bin -#}
                {%- if lower is not none and lower != previous_upper[-1] -%}
                    {%- do whens.append('when ' ~ value ~ ' < ' ~ scorecard_float(lower) ~ ' then 0') -%}
                {%- endif -%}
                {%- if upper is none -%}
                    {%- do whens.append('when ' ~ value ~ ' is not null then ' ~ share) -%}
                {%- else -%}
                    {%- do whens.append('when ' ~ value ~ ' < ' ~ scorecard_float(upper) ~ ' then ' ~ share) -%}
                {%- endif -%}
                {%- do previous_upper.append(upper) -%}
            {%- else -%}
                {%- set condition = ['when ' ~ value ~ ' is not null'] -%}
                {%- if lower is not none -%}
                    {%- do condition.append(value ~ ' >= ' ~ scorecard_float(lower)) -%}
                {%- endif -%}
                {%- if upper is not none -%}
                    {%- do condition.append(value ~ ' < ' ~ scorecard_float(upper)) -%}
                {%- endif -%}
                {%- do whens.append(condition | join(' and ') ~ ' then ' ~ share) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- elif missing -%}
        {%- do whens.insert(0, 'when ' ~ value ~ ' is null then ' ~ null_share) -%}
    {%- endif -%}
    {{- return('(case ' ~ (whens | join(' ')) ~ ' else 0 end)' if whens else '0') -}}
{%- endmacro %}

{#- A bound as the warehouse's text, or none when unbounded. -#}
{% macro scorecard_bound(bound) -%}
    {{- return(none if bound is none or bound == '' else bound) -}}
{%- endmacro %}

{% macro scorecard_float(bound) -%}
    {{- return("cast('" ~ bound ~ "' as " ~ dbt.type_float() ~ ')') -}}
{%- endmacro %}

{#- True when the numeric bins, in their order, ascend without overlapping (each lower bound at or above the
    previous upper bound, only the first unbounded below, only the last unbounded above). -#}
{% macro scorecard_bins_ascending(ranged) -%}
    {%- for bin in ranged -%}
        {%- set lower = scorecard_bound(bin['lower_bound']) -%}
        {%- set upper = scorecard_bound(bin['upper_bound']) -%}
        {%- if (lower is none and not loop.first) or (upper is none and not loop.last) -%}
            {{- return(false) -}}
        {%- endif -%}
        {%- if lower is not none and upper is not none and (lower | float) >= (upper | float) -%}
            {{- return(false) -}}
        {%- endif -%}
        {%- if not loop.first -%}
            {%- set previous = scorecard_bound(ranged[loop.index0 - 1]['upper_bound']) -%}
            {%- if (lower | float) < (previous | float) -%}{{- return(false) -}}{%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(true) -}}
{%- endmacro %}

{#- A bin's share as a SQL literal: its points as an integer, its log-odds share in integer units of
    10^-scale (a bigint: the exact decimal moved by `scale` places), or both packed in one bigint (points x
    2^40 + units, scorecard_scores_select). -#}
{% macro scorecard_share(bin, measure, scale) -%}
    {%- if measure == 'points' -%}
        {{- return('cast(' ~ bin['points'] ~ ' as integer)') -}}
    {%- endif -%}
    {%- if measure == 'packed' -%}
        {%- set units = scorecard_decimal_units(bin['logit'], scale) | int -%}
        {%- set packed = (bin['points'] | int) * 1099511627776 + units -%}
        {{- return('cast(' ~ packed ~ ' as ' ~ dbt.type_bigint() ~ ')') -}}
    {%- endif -%}
    {{- return('cast(' ~ scorecard_decimal_units(bin['logit'], scale) ~ ' as ' ~ dbt.type_bigint() ~ ')') -}}
{%- endmacro %}

{#- Exact decimal text ('-0.125') as an integer count of 10^-scale ('-12500000' at scale 8). -#}
{% macro scorecard_decimal_units(text, scale) -%}
    {%- set text = text | string -%}
    {%- set negative = text.startswith('-') -%}
    {%- set parts = text.lstrip('+-').split('.') -%}
    {%- set fraction = parts[1] if parts | length > 1 else '' -%}
    {%- if fraction | length > scale -%}
        {{- exceptions.raise_compiler_error('scorecard share ' ~ text ~ ' has more than ' ~ scale ~ ' decimals') -}}
    {%- endif -%}
    {%- set units = (parts[0] ~ fraction ~ ('0' * (scale - fraction | length))) | int -%}
    {{- return(('-' if negative and units != 0 else '') ~ units) -}}
{%- endmacro %}

{#- The decimals of the most precise log-odds share or intercept of the bins: the scale of the exact sum. -#}
{% macro scorecard_logit_scale(bins) -%}
    {%- set scale = [0] -%}
    {%- for bin in bins -%}
        {%- for text in [bin['logit'] | string, bin['intercept'] | string] if '.' in text -%}
            {%- do scale.append(text.split('.')[1] | length) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{- return(scale | max) -}}
{%- endmacro %}

{#- A correlated subquery: one aggregate over a loan's collection actions known at D and dated in the 30
    local days up to D (the window of the features' action counts), read by index on (loan_id, date). -#}
{% macro score_window_actions(aggregate, loan_id) -%}
    select {{ aggregate }}
    from {{ ref('stored_collection_actions') }} as actions
    where
        actions.loan_id = {{ loan_id }}
        and actions.delivered_on <= {{ business_date() }}
        and actions.action_local_date <= {{ business_date() }}
        and actions.action_local_date > {{ add_days(business_date(), -30) }}
{%- endmacro %}


{#- int_score_outcome_counts: the day before the first scored night it counts tonight, as SQL. On a first
    build, the day before the first scored night (it counts every matured one); else the latest scored night
    counted by an earlier night (matured_on < D), read when the model runs so the planner sees the date (a
    parameter would hide how few rows it selects); when nothing was ever counted, the day before the first
    scored night, or when nothing is scored, the last matured night (nothing to count). The first scored
    night is searched from the earliest activation on (the features' index by date then stops at once; the
    unscored nights before it hold a row per loan each). -#}
{% macro score_outcomes_counted_until() -%}
    {%- set features = ref('int_score_features_daily') -%}
    {%- set first_scored_sql = '(select min(first_scored.business_date) from ' ~ features ~ ' as first_scored'
        ~ ' where first_scored.scorecard_version is not null and first_scored.business_date >= '
        ~ '(select min(activations.effective_from) from ' ~ ref('stg_scorecard_activations') ~ ' as activations))' -%}
    {%- set first_scored = add_days(first_scored_sql, -1) -%}
    {%- if not is_incremental() or not execute -%}
        {{- return(first_scored) -}}
    {%- endif -%}
    {%- set found = run_query(
        'select cast(coalesce((select max(counted.business_date) from ' ~ this ~ ' as counted'
        ~ ' where counted.matured_on < ' ~ business_date() ~ '), ' ~ first_scored ~ ') as ' ~ dbt.type_string() ~ ')'
    ) -%}
    {%- set until = found.columns[0].values()[0] -%}
    {%- if until is none -%}
        {{- return(add_days(business_date(), '-' ~ var('score_horizon_days'))) -}}
    {%- endif -%}
    {{- return("cast('" ~ until ~ "' as date)") -}}
{%- endmacro %}


{#- A SELECT over `source` (a relation or CTE holding the score's features) giving its `columns` and the
    score by `bins` (active_scorecard_bins): scorecard_version, score_points, score_logit and
    score_probability, all NULL when `bins` is empty (no version active). Each feature is cast once, in a
    step computed once per row (subquery_computed_once: the CASEs compare the cast value, not a copy of the
    expression that computed it). One CASE per feature gives both of its bin's shares packed in one bigint
    (checked by scorecard_shares_pack): the points times 2^40 plus the log-odds in integer units of 10^-scale; the
    packed sum is exact integer arithmetic and unpacks into the points and the log-odds, which goes back to an
    exact decimal with `scale` decimals (decision 031). A scorecard whose shares could overflow the packing
    sums two CASEs per feature instead (same values). -#}
{% macro scorecard_scores_select(bins, source, columns) -%}
    {%- set scored = bins | length > 0 -%}
    {%- set scale = scorecard_logit_scale(bins) -%}
    {%- set numeric_features = var('score_numeric_features') -%}
    {%- set categorical_features = var('score_categorical_features') -%}
    {%- set features = numeric_features + categorical_features -%}
    {%- set unit = '1' if scale == 0 else '0.' ~ ('0' * (scale - 1)) ~ '1' -%}
    {%- set packed = scored and scorecard_shares_pack(bins, features, scale) -%}
    {#- 2^40 and 2^39: the points' place in a packed share, and the bound of the log-odds units' sum -#}
    {%- set points_place = 1099511627776 -%}
    {%- set units_bound = 549755813888 -%}
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        cast({{ "'" ~ bins[0]['version'] ~ "'" if scored else 'null' }} as {{ dbt.type_string() }})
            as scorecard_version,
        cast(points as integer) as score_points,
        cast(logit as numeric(18, 8)) as score_logit,
        cast(1 / (1 + exp(-logit)) as numeric(10, 8)) as score_probability
    from (
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            {%- if packed %}
            cast({{ bins[0]['base_points'] }} as integer)
            + cast((shares - logit_units) / {{ points_place }} as integer) as points,
            cast({{ scorecard_decimal_units(bins[0]['intercept'], scale) }} + logit_units as numeric) * {{ unit }}
                as logit
            {%- else %}
            points,
            cast(logit_units as numeric) * {{ unit }} as logit
            {%- endif %}
        from (
            select
                {%- for column in columns %}
                {{ column }},
                {%- endfor %}
                {%- if packed %}
                shares,
                -- the low 40 bits, as a signed count: the log-odds units' sum
                ((shares + {{ units_bound }}) % {{ points_place }} + {{ points_place }}) % {{ points_place }}
                - {{ units_bound }} as logit_units
                {%- else %}
                points,
                logit_units
                {%- endif %}
            from (
                select
                    {%- for column in columns %}
                    {{ column }},
                    {%- endfor %}
                    {%- if packed %}
                    cast(0 as {{ dbt.type_bigint() }})
                    {%- for feature in features %}
                        + {{ scorecard_feature_case(
                            bins, feature, 'packed', feature in categorical_features, 'score_input_' ~ feature, scale
                        ) }}
                    {%- endfor %} as shares
                    {%- elif scored %}
                    cast({{ bins[0]['base_points'] }} as integer)
                    {%- for feature in features %}
                        + {{ scorecard_feature_case(
                            bins, feature, 'points', feature in categorical_features, 'score_input_' ~ feature, scale
                        ) }}
                    {%- endfor %} as points,
                    cast({{ scorecard_decimal_units(bins[0]['intercept'], scale) }} as {{ dbt.type_bigint() }})
                    {%- for feature in features %}
                        + {{ scorecard_feature_case(
                            bins, feature, 'units', feature in categorical_features, 'score_input_' ~ feature, scale
                        ) }}
                    {%- endfor %} as logit_units
                    {%- else %}
                    cast(null as integer) as points,
                    cast(null as {{ dbt.type_bigint() }}) as logit_units
                    {%- endif %}
                from (
                    select
                        {%- for column in columns %}
                        {{ column }},
                        {%- endfor %}
                        {%- for feature in numeric_features %}
                        cast({{ feature }} as {{ dbt.type_float() }}) as score_input_{{ feature }},
                        {%- endfor %}
                        {%- for feature in categorical_features %}
                        cast({{ feature }} as {{ dbt.type_string() }}) as score_input_{{ feature }}{{ ',' if not loop.last }}
                        {%- endfor %}
                    from {{ source }}
                    {{ subquery_computed_once() }}
                ) as score_inputs
            ) as score_sums
            {{ subquery_computed_once() }}
        ) as score_parts
    ) as score_logits
{%- endmacro %}

{#- True when every sum of one share per feature fits the packing of scorecard_scores_select: the points'
    sum within +-2^14 and the log-odds units' sum within +-2^38 (a margin under 2^15 and 2^39), so the packed
    bigint sum (points x 2^40 + units) stays under 2^63 and unpacks exactly. -#}
{% macro scorecard_shares_pack(bins, features, scale) -%}
    {%- set most_points = [0] -%}
    {%- set most_units = [0] -%}
    {%- for feature in features -%}
        {%- set points = [0] -%}
        {%- set units = [0] -%}
        {%- for bin in bins if bin['feature'] == feature -%}
            {%- do points.append((bin['points'] | int) | abs) -%}
            {%- do units.append((scorecard_decimal_units(bin['logit'], scale) | int) | abs) -%}
        {%- endfor -%}
        {%- do most_points.append(points | max) -%}
        {%- do most_units.append(units | max) -%}
    {%- endfor -%}
    {{- return((most_points | sum) < 16384 and (most_units | sum) < 274877906944) -}}
{%- endmacro %}
