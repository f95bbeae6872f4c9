{#- §10 experiments: the arms of var experiment_arms as a relation, the portable assignment point, and the
    sort keys of each priority ordering. -#}

{#- The arms (one row per experiment and arm), typed; no rows when no experiment is configured. -#}
{% macro experiment_arms_relation() -%}
    {%- set arms = var('experiment_arms', []) %}
    {%- if arms is string or arms | length == 0 %}
        select
            cast(null as {{ dbt.type_string() }}) as experiment_id,
            cast(null as {{ dbt.type_string() }}) as team_id,
            cast(null as {{ dbt.type_string() }}) as salt,
            cast(null as date) as starts_on,
            cast(null as date) as ends_on,
            cast(null as {{ dbt.type_string() }}) as arm_id,
            cast(null as integer) as arm_position,
            cast(null as boolean) as is_champion,
            cast(null as {{ dbt.type_bigint() }}) as point_from,
            cast(null as {{ dbt.type_bigint() }}) as point_to,
            cast(null as {{ dbt.type_string() }}) as priority_ordering,
            cast(null as {{ dbt.type_string() }}) as channels,
            cast(null as integer) as predue_days
        where 1 = 0
    {%- else %}
        {%- for arm in arms %}
            select
                cast({{ config_literal(arm.experiment_id) }} as {{ dbt.type_string() }}) as experiment_id,
                cast({{ config_literal(arm.team_id) }} as {{ dbt.type_string() }}) as team_id,
                cast({{ config_literal(arm.salt) }} as {{ dbt.type_string() }}) as salt,
                cast({{ config_literal(arm.starts_on) }} as date) as starts_on,
                cast({{ config_literal(arm.ends_on) }} as date) as ends_on,
                cast({{ config_literal(arm.arm_id) }} as {{ dbt.type_string() }}) as arm_id,
                cast({{ arm.arm_position | int }} as integer) as arm_position,
                {{ 'true' if arm.is_champion else 'false' }} as is_champion,
                cast({{ arm.point_from | int }} as {{ dbt.type_bigint() }}) as point_from,
                cast({{ arm.point_to | int }} as {{ dbt.type_bigint() }}) as point_to,
                cast({{ config_literal(arm.priority_ordering) }} as {{ dbt.type_string() }}) as priority_ordering,
                cast({{ config_literal(arm.channels) }} as {{ dbt.type_string() }}) as channels,
                cast({{ arm.predue_days if arm.predue_days is not none else 'null' }} as integer) as predue_days
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- A quoted SQL text literal (or null) from a configuration value. -#}
{% macro config_literal(value) -%}
    {%- if value is none -%}null{%- else -%}'{{ value | string | replace("'", "''") }}'{%- endif -%}
{%- endmacro %}

{#- The assignment point of a loan: the first 8 hex digits of md5(salt || ':' || loan_id) as an integer
    (0 .. 2**32 - 1), digit by digit so that no warehouse needs a hex or bit function. Mirrors
    arrears.experiments.assignment_point. -#}
{% macro experiment_hash_point(salt, loan_id) -%}
    {%- set digest = "lower(" ~ dbt.hash(dbt.concat([salt, "':'", loan_id])) ~ ")" %}
    {%- set terms = [] %}
    {%- for position in range(8) %}
        {%- set digit = dbt.position('substr(' ~ digest ~ ', ' ~ (position + 1) ~ ', 1)', "'0123456789abcdef'") %}
        {%- do terms.append('(' ~ digit ~ ' - 1) * cast(' ~ 16 ** (7 - position) ~ ' as ' ~ dbt.type_bigint() ~ ')') %}
    {%- endfor %}
    ({{ terms | join(' + ') }})
{%- endmacro %}

{#- The three sort keys (ascending) of a priority ordering, over a queue row `row`; a new ordering (the
    collection score) is one more branch here and one more name in arrears.experiments.PRIORITY_ORDERINGS. -#}
{% macro experiment_priority_keys(ordering, row) -%}
    {%- set no_bucket_ahead = '999999' %}
    {%- if ordering == 'rule_order' -%}
        {{ return([
            'case when ' ~ row ~ '.broke_promise_today then 0 else 1 end',
            'coalesce(' ~ row ~ '.days_to_next_bucket, ' ~ no_bucket_ahead ~ ')',
            '-' ~ row ~ '.overdue_amount',
        ]) }}
    {%- elif ordering == 'highest_overdue' -%}
        {{ return(['-' ~ row ~ '.overdue_amount', '0', '0']) }}
    {%- elif ordering == 'next_bucket_first' -%}
        {{ return([
            'coalesce(' ~ row ~ '.days_to_next_bucket, ' ~ no_bucket_ahead ~ ')',
            '-' ~ row ~ '.overdue_amount',
            '0',
        ]) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("arrears: unknown experiment priority ordering '" ~ ordering ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#- The channels an arm leaves a queue row `row`, as `|`-prefixed text (`|sms|call`): the row's §5 channels
    (row.allowed_channels) that the arm names, in the arm's order; null for a pre-due row due later than
    the arm's predue_days (row.next_due_date) or when none is left. Rows of no arm, or of an arm that
    names neither, keep all their channels. One expression, so a model has no branch a linter could
    render as a CASE without a WHEN. -#}
{% macro experiment_arm_channel_text(arms, row) -%}
    {%- set every_channel = "'|' || " ~ row ~ ".allowed_channels" %}
    {%- set branches = [] %}
    {%- for arm in arms %}
        {%- set is_this_arm = row ~ ".experiment_id = " ~ config_literal(arm.experiment_id)
            ~ " and " ~ row ~ ".arm_id = " ~ config_literal(arm.arm_id) %}
        {%- if arm.predue_days %}
            {%- do branches.append(
                "when " ~ is_this_arm ~ " and " ~ row ~ ".next_due_date > "
                ~ add_days(business_date(), arm.predue_days) ~ " then null"
            ) %}
        {%- endif %}
        {%- if arm.channels %}
            {%- set kept_channels = [] %}
            {%- for channel in arm.channels.split('|') %}
                {%- do kept_channels.append(
                    "case when '|' || " ~ row ~ ".allowed_channels || '|' like '%|" ~ channel ~ "|%'"
                    ~ " then '|" ~ channel ~ "' else '' end"
                ) %}
            {%- endfor %}
            {%- do branches.append("when " ~ is_this_arm ~ " then nullif(" ~ kept_channels | join(" || ") ~ ", '')") %}
        {%- endif %}
    {%- endfor %}
    {%- if branches | length == 0 -%}
        {{ every_channel }}
    {%- else -%}
        case {{ branches | join(" ") }} else {{ every_channel }} end
    {%- endif %}
{%- endmacro %}
