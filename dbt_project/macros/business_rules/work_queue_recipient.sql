{#- §5 "What leaves the warehouse carries the rules": the one recipient a queue row goes to, from var
    recipient_routing (config/recipients.yml, passed by the runner: the recipients in file order, each with
    its teams, channels and rows_without_channel, and the teams' channel_order).

    A row's team is served by the recipients naming it; a sub-team `agency:<id>` that no recipient names is
    served by those naming its base team `agency`. Each channel of the team's order belongs to the first
    of them (file order) serving it, and the row goes to the owner of the first channel it allows; a row
    allowing no channel goes to the recipient taking rows_without_channel, if any. Otherwise NULL: the row
    reaches no file (counted in the run report). Compiled to one CASE: no join, portable. -#}
{% macro work_queue_recipient(team_column, channels_column) -%}
    {%- set routing = var('recipient_routing', {}) %}
    {%- set recipients = routing.get('recipients', []) if routing is mapping else [] %}
    {#- Named sub-teams (agency:acme) first: a base team's branch then takes only the sub-teams left over. -#}
    {%- set sub_teams = [] %}
    {%- set base_teams = [] %}
    {%- for recipient in recipients %}
        {%- for team in recipient.teams if team not in sub_teams and team not in base_teams %}
            {%- do (sub_teams if ':' in team else base_teams).append(team) %}
        {%- endfor %}
    {%- endfor %}
    {%- if (sub_teams + base_teams) | length == 0 -%}
        cast(null as {{ dbt.type_string() }})
    {%- else -%}
        case
        {%- for team in sub_teams + base_teams %}
            {%- set serving = [] %}
            {%- for recipient in recipients if team in recipient.teams %}{% do serving.append(recipient) %}{% endfor %}
            {%- set whens = [] %}
            {%- for channel in routing_channel_order(routing, team, serving) %}
                {%- set owners = [] %}
                {%- for recipient in serving if channel in recipient.channels %}
                    {%- do owners.append(recipient.name) %}
                {%- endfor %}
                {%- if owners %}
                    {%- do whens.append('when ' ~ array_contains(channels_column, config_literal(channel))
                        ~ ' then ' ~ config_literal(owners[0])) %}
                {%- endif %}
            {%- endfor %}
            {%- set takers = [] %}
            {%- for recipient in serving if recipient.rows_without_channel %}
                {%- do takers.append(recipient.name) %}
            {%- endfor %}
            {%- if takers %}
                {%- do whens.append('when coalesce(' ~ array_size(channels_column) ~ ', 0) = 0 then '
                    ~ config_literal(takers[0])) %}
            {%- endif %}
            {%- if ':' in team %}
            when {{ team_column }} = {{ config_literal(team) }}
            {%- else %}
            when {{ dbt.split_part(team_column, "':'", 1) }} = {{ config_literal(team) }}
            {%- endif %}
                then {% if whens %}case {{ whens | join(' ') }} end{% else %}cast(null as {{ dbt.type_string() }}){% endif %}
        {%- endfor %}
        end
    {%- endif %}
{%- endmacro %}

{#- A team's channel order: its own, else its base team's, else its recipients' channels in file order. -#}
{% macro routing_channel_order(routing, team, serving) -%}
    {%- set orders = routing.get('channel_order', {}) %}
    {%- set base = team.split(':')[0] %}
    {%- if team in orders %}
        {%- do return(orders[team]) %}
    {%- elif base in orders %}
        {%- do return(orders[base]) %}
    {%- endif %}
    {%- set served = [] %}
    {%- for recipient in serving %}
        {%- for channel in recipient.channels if channel not in served %}{% do served.append(channel) %}{% endfor %}
    {%- endfor %}
    {%- do return(served) %}
{%- endmacro %}
