"""dbt's cross-database macros for sqlfluff's jinja templater (library_path in .sqlfluff).

sqlfluff lints the models without dbt, so `{{ dbt.date_trunc(...) }}` needs a stand-in. Each
function renders what dbt-postgres renders (dbt/include/{global_project,postgres}/macros/utils), so
sqlfluff parses the same SQL the warehouse runs. Only the macros the project uses, or may soon.
"""

from __future__ import annotations


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart: str, interval: object, from_date_or_timestamp: str) -> str:
    return f"{from_date_or_timestamp} + ((interval '1 {datepart}') * ({interval}))"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    if datepart != "day":
        raise NotImplementedError(f"datediff stand-in for sqlfluff: only 'day', not {datepart!r}")
    return f"(({second_date})::date - ({first_date})::date)"


def last_day(date: str, datepart: str) -> str:
    return f"cast({dateadd('day', '-1', dateadd(datepart, '1', date_trunc(datepart, date)))} as date)"


def bool_or(expression: str) -> str:
    return f"bool_or({expression})"


def any_value(expression: str) -> str:
    return f"min({expression})"


def listagg(
    measure: str, delimiter_text: str = "','", order_by_clause: str | None = None, limit_num: int | None = None
) -> str:
    if limit_num:
        raise NotImplementedError("listagg stand-in for sqlfluff: limit_num")
    return f"string_agg({measure}, {delimiter_text} {order_by_clause or ''})"


def cast(field: str, type: str) -> str:
    return f"cast({field} as {type})"


def safe_cast(field: str, type: str) -> str:
    return f"cast({field} as {type})"


def concat(fields: list[str]) -> str:
    return f"concat({', '.join(fields)})"


def split_part(string_text: str, delimiter_text: str, part_number: int) -> str:
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def current_timestamp() -> str:
    return "now()"


def hash(field: str) -> str:
    return f"md5(cast({field} as text))"


def position(substring_text: str, string_text: str) -> str:
    return f"position({substring_text} in {string_text})"


def array_construct(inputs: list[str] | None = None, data_type: str = "integer") -> str:
    if inputs:
        return f"array[{', '.join(inputs)}]"
    return f"array[]::{data_type}[]"


def type_string() -> str:
    return "text"


def type_int() -> str:
    return "integer"


def type_bigint() -> str:
    return "bigint"


def type_numeric() -> str:
    return "numeric(28,6)"


def type_float() -> str:
    return "float"


def type_boolean() -> str:
    return "boolean"


def type_timestamp() -> str:
    return "timestamp without time zone"
