{#- §2 The schedule in force at D, one definition for the delinquency snapshot (int_schedule_in_force) and
    the arrangements (int_arrangement_states). Of `installments` (a CTE of installment versions with
    schedule_version and effective_from), the rows of the highest schedule_version per `key` that has
    started by D; a version starts on the earliest effective_from among its rows. Every column is kept,
    plus version_effective_from and version_in_force. Window functions pick the version in one pass (no
    self-join of the schedule). Returns a select (use it inside a CTE). -#}
{% macro schedule_version_in_force(installments, key) -%}
    select *
    from (
        select
            with_start.*,
            max(
                case
                    when with_start.version_effective_from <= {{ business_date() }}
                        then with_start.schedule_version
                end
            ) over (partition by with_start.{{ key }}) as version_in_force
        from (
            select
                versions.*,
                min(versions.effective_from) over (
                    partition by versions.{{ key }}, versions.schedule_version
                ) as version_effective_from
            from {{ installments }} as versions
        ) as with_start
    ) as ranked
    where schedule_version = version_in_force
{%- endmacro %}
