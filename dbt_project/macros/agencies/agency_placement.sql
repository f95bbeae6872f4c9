{#- Agency placements (business rules §9): the deterministic draw and the night-to-night state of
    marts.fct_agency_placements (docs/agencies.md, decision 024). -#}


{#- A number in [0, 1) fixed by the text: the same on every rebuild and every machine. -#}
{% macro unit_interval_hash(text_expression) -%}
    {{ return(adapter.dispatch('unit_interval_hash', 'arrears')(text_expression)) }}
{%- endmacro %}

{% macro postgres__unit_interval_hash(text_expression) -%}
    cast(cast(cast('x' || substr(md5({{ text_expression }}), 1, 8) as bit(32)) as bigint) & 4294967295 as numeric)
    / 4294967296
{%- endmacro %}

{% macro spark__unit_interval_hash(text_expression) -%}
    cast(conv(substr(md5({{ text_expression }}), 1, 8), 16, 10) as decimal(20, 0)) / 4294967296
{%- endmacro %}

{% macro default__unit_interval_hash(text_expression) -%}
    {{ arrears_not_ported('unit_interval_hash') }}
{%- endmacro %}


{#- Pre-hook: bring the placements back to what they were after night D-1, so night D (a rerun, a
    backfill or the next night) is always computed from the same state: placements made on D or later
    are removed, recalls made on D or later are undone. -#}
{% macro rewind_placements_to_night_before() -%}
    {{ return(adapter.dispatch('rewind_placements_to_night_before', 'arrears')()) }}
{%- endmacro %}

{% macro default__rewind_placements_to_night_before() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where placed_on >= {{ business_date() }};
        update {{ this }} set recalled_on = null, recall_reason = null where recalled_on >= {{ business_date() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- Condition (§7 outside_placement): the action `action` (an alias with loan_id, agency_name and
    action_local_date) is an agency's, on a loan no placement in `placements` gave that agency for the
    action's local date X. A placement made on night P is in the agency's file for work on P+1: it covers
    X when placed_on < X and it was not recalled before X (recalled_on empty or >= X). -#}
{% macro is_outside_placement(action, placements) -%}
    {{ action }}.agency_name is not null
    and not exists (
        select 1
        from {{ placements }} as placements
        where
            placements.loan_id = {{ action }}.loan_id
            and placements.agency_id = {{ action }}.agency_name
            and placements.placed_on < {{ action }}.action_local_date
            and (
                placements.recalled_on is null
                or placements.recalled_on >= {{ action }}.action_local_date
            )
    )
{%- endmacro %}


{#- The columns of fct_agency_placements as its contract types them (`cast(x as type) as x, ...`), from the
    columns of the same names, or all null (nulls=true: the empty state of a first build). -#}
{% macro placement_columns(nulls=false) -%}
    {%- set columns = [
        ('placement_id', dbt.type_string()),
        ('loan_id', dbt.type_string()),
        ('borrower_id', dbt.type_string()),
        ('placement_number', 'integer'),
        ('agency_id', dbt.type_string()),
        ('placed_on', 'date'),
        ('holding_days', 'integer'),
        ('expires_on', 'date'),
        ('dpd_at_placement', 'integer'),
        ('balance_placed', 'numeric(18, 2)'),
        ('recalled_on', 'date'),
        ('recall_reason', dbt.type_string()),
    ] %}
    {%- set typed = [] %}
    {%- for name, type in columns %}
        {%- do typed.append('cast(' ~ ('null' if nulls else name) ~ ' as ' ~ type ~ ') as ' ~ name) %}
    {%- endfor %}
    {{- typed | join(',\n        ') }}
{%- endmacro %}
