-- §10 Outcomes per experiment arm over every loan whose outcome window has passed (fct_experiment_loans),
-- one row per experiment, arm and metric: the arm's value with its 95 % confidence interval and the
-- difference from the champion with the interval of that difference (normal approximation: a rate's
-- variance is p(1-p), a per-loan mean's the sample variance; the difference's variance is the sum of both
-- arms' variances of the mean). Metrics: loans (the arm's count, its interval from the binomial share),
-- contacts, right-party contacts and promises per loan, promise kept rate (per promise decided), 30-day
-- cure rate (per loan delinquent at entry), 30-day roll rate, and money collected per loan.
{{ config(contract={'enforced': true}) }}

{%- set z = 1.959964 %}
{#- metric, unit counted (the denominator), the value of one unit, whether it is a rate (0/1 per unit) #}
{%- set metrics = [
    ('contacts_per_loan', '1', 'contacts', false),
    ('right_party_contacts_per_loan', '1', 'right_party_contacts', false),
    ('promises_per_loan', '1', 'promises_made', false),
    ('promise_kept_rate', 'promises_decided', 'promises_kept', true),
    ('cure_rate_30d', 'case when was_delinquent then 1 else 0 end', 'case when is_cured then 1 else 0 end', true),
    ('roll_rate_30d', '1', 'case when has_rolled then 1 else 0 end', true),
    ('collected_per_loan', '1', 'collected_amount', false),
] %}
{%- set rate_metrics = [] %}
{%- for name, unit, value, is_rate in metrics if is_rate %}{% do rate_metrics.append("'" ~ name ~ "'") %}{% endfor %}

with experiment_loans as (
    select * from {{ ref('fct_experiment_loans') }}
),

-- The champion of each experiment, as recorded when its loans entered.
champions as (
    select
        experiment_id,
        arm_id
    from experiment_loans
    where is_champion
    group by experiment_id, arm_id
),

experiment_sizes as (
    select
        experiment_id,
        count(*) as experiment_loans
    from experiment_loans
    group by experiment_id
),

-- Per arm and metric: units (n), the mean, and the variance of one unit's value.
arm_metrics as (
    select
        experiment_loans.experiment_id,
        experiment_loans.arm_id,
        'loans' as metric,
        cast(count(*) as {{ dbt.type_numeric() }}) as units,
        cast(count(*) as {{ dbt.type_numeric() }}) as metric_value,
        cast(null as {{ dbt.type_numeric() }}) as unit_variance
    from experiment_loans
    group by experiment_loans.experiment_id, experiment_loans.arm_id
    {%- for name, unit, value, is_rate in metrics %}
        union all
        select
            experiment_id,
            arm_id,
            '{{ name }}' as metric,
            cast(sum({{ unit }}) as {{ dbt.type_numeric() }}) as units,
            cast(sum(case when {{ unit }} > 0 then {{ value }} end) as {{ dbt.type_numeric() }})
            / nullif(sum({{ unit }}), 0) as metric_value,
            {%- if is_rate %}
                cast(null as {{ dbt.type_numeric() }}) as unit_variance
            {%- else %}
                cast(var_samp({{ value }}) as {{ dbt.type_numeric() }}) as unit_variance
            {%- endif %}
        from experiment_loans
        group by experiment_id, arm_id
    {%- endfor %}
),

with_variance as (
    select
        arm_metrics.experiment_id,
        arm_metrics.arm_id,
        arm_metrics.metric,
        arm_metrics.units,
        arm_metrics.metric_value,
        case
            when arm_metrics.metric = 'loans'
                -- the count's variance from the binomial share of the experiment's loans
                then arm_metrics.metric_value * (1 - arm_metrics.metric_value / experiment_sizes.experiment_loans)
            when arm_metrics.metric in ({{ rate_metrics | join(', ') }})
                then arm_metrics.metric_value * (1 - arm_metrics.metric_value) / nullif(arm_metrics.units, 0)
            else arm_metrics.unit_variance / nullif(arm_metrics.units, 0)
        end as value_variance
    from arm_metrics
    inner join experiment_sizes
        on arm_metrics.experiment_id = experiment_sizes.experiment_id
),

compared as (
    select
        arm.experiment_id,
        arm.arm_id,
        arm.arm_id = champion.arm_id as is_champion,
        arm.metric,
        arm.units,
        arm.metric_value,
        arm.value_variance,
        champion_metric.metric_value as champion_value,
        arm.metric_value - champion_metric.metric_value as difference,
        case
            when arm.metric <> 'loans'
                then arm.value_variance + champion_metric.value_variance
        end as difference_variance
    from with_variance as arm
    left join champions as champion
        on arm.experiment_id = champion.experiment_id
    left join with_variance as champion_metric
        on
            champion.experiment_id = champion_metric.experiment_id
            and champion.arm_id = champion_metric.arm_id
            and arm.metric = champion_metric.metric
),

final as (
    select
        cast({{ business_date() }} as date) as as_of_date,
        cast(experiment_id as {{ dbt.type_string() }}) as experiment_id,
        cast(arm_id as {{ dbt.type_string() }}) as arm_id,
        coalesce(is_champion, false) as is_champion,
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(units as {{ dbt.type_numeric() }}) as units,
        cast(metric_value as {{ dbt.type_numeric() }}) as metric_value,
        cast(metric_value - {{ z }} * sqrt(value_variance) as {{ dbt.type_numeric() }}) as ci_low,
        cast(metric_value + {{ z }} * sqrt(value_variance) as {{ dbt.type_numeric() }}) as ci_high,
        cast(champion_value as {{ dbt.type_numeric() }}) as champion_value,
        cast(difference as {{ dbt.type_numeric() }}) as difference_from_champion,
        cast(difference - {{ z }} * sqrt(difference_variance) as {{ dbt.type_numeric() }}) as difference_ci_low,
        cast(difference + {{ z }} * sqrt(difference_variance) as {{ dbt.type_numeric() }}) as difference_ci_high
    from compared
)

select * from final
