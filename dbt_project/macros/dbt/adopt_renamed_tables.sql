{#- on-run-start: move the tables of a warehouse built before the layers were renamed
    (docs/decisions/019) to their new names, so a night after the upgrade carries their history
    forward instead of rebuilding it: the stored copies from intermediate.int_* to stored.stored_*, the
    snapshot's and the promises' state from marts (now views) to intermediate. A table moves only when
    its old name is a table and its new name is free; otherwise nothing runs. -#}
{% macro adopt_renamed_tables() -%}
    {%- set moves = [
        ('intermediate', 'int_payments', 'stored', 'stored_payments'),
        ('intermediate', 'int_installments', 'stored', 'stored_installments'),
        ('intermediate', 'int_collection_actions', 'stored', 'stored_collection_actions'),
        ('intermediate', 'int_contact_points', 'stored', 'stored_contact_points'),
        ('intermediate', 'int_promises_made', 'stored', 'stored_promises_made'),
        ('marts', 'fct_loan_delinquency_daily', 'intermediate', 'int_loan_delinquency_daily'),
        ('marts', 'fct_promises_to_pay', 'intermediate', 'int_promises_to_pay'),
    ] -%}
    {%- set statements = [] -%}
    {%- if execute -%}
        {%- for old_schema, old_name, new_schema, new_name in moves -%}
            {%- set old = adapter.get_relation(database=target.database, schema=old_schema, identifier=old_name) -%}
            {%- set new = adapter.get_relation(database=target.database, schema=new_schema, identifier=new_name) -%}
            {%- if old is not none and old.is_table and new is none -%}
                {%- do statements.append('create schema if not exists ' ~ new_schema) -%}
                {%- do statements.append('alter table ' ~ old ~ ' rename to ' ~ new_name) -%}
                {%- do statements.append(
                    'alter table ' ~ old.incorporate(path={'identifier': new_name}) ~ ' set schema ' ~ new_schema
                ) -%}
                {#- The night a carried-forward table is as of (decision 016) follows it to its new name. -#}
                {%- set nights = adapter.get_relation(
                    database=target.database, schema='audit', identifier='carried_forward_nights'
                ) -%}
                {%- if nights is not none -%}
                    {%- do statements.append(
                        "update audit.carried_forward_nights set model = '" ~ new_schema ~ "." ~ new_name
                        ~ "' where model = '" ~ old_schema ~ "." ~ old_name ~ "'"
                    ) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set stale = adapter.get_relation(
            database=target.database, schema='staging', identifier='stg_loans_to_recompute'
        ) -%}
        {%- if stale is not none -%}
            {%- do statements.append('drop table if exists ' ~ stale) -%}
        {%- endif -%}
    {%- endif -%}
    {{ statements | join(';\n') if statements else 'select 1' }}
{%- endmacro %}
