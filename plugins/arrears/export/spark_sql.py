"""Spark's spelling of the few parts of the export SQL that PostgreSQL writes its own way (decision 042).

The column specs (columns.yml), the masks, the formula neutralisation, the reason labels, the joins and
the control totals are one SQL text both engines run. What differs is written here, beside nothing else:
- the point-in-time sources: PostgreSQL's `DISTINCT ON` is Spark's `QUALIFY row_number() ... = 1`; the next
  instalment's amount (`(array_agg(... order by ...) filter (...))[1]`) is `min_by` over the same order
  (payments and actions are read from the stored tables with one SQL text for both engines);
- the keyed hash: HMAC-SHA256 from `sha2`/`unhex` over binary instead of bytea and `sha256()`;
- the file order: the team's position from `sort_array(collect_set(...))` (Spark sorts strings by their
  UTF-8 bytes, PostgreSQL's `collate "C"`), NULLs placed where PostgreSQL places them (ASC: last);
- the parameters: PostgreSQL binds `%(name)s`; here they become Spark literals (`spark_statement`).
Every ORDER BY here names its NULLS placement: PostgreSQL's default (ASC last, DESC first) is the
reverse of Spark's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

# Functions the column specs call by PostgreSQL's name whose Spark name differs (same arguments, same
# result): the only translation applied to a spec's SQL.
_FUNCTIONS_RENAMED = {"array_to_string": "array_join"}


def latest_known_on_spark(table: str, key: str, columns: str, queue_key: str | None = None) -> str:
    """arrears.export.query.latest_known on Spark: the latest version of each key known at D."""
    queue_key = queue_key or key
    return f"""select {columns}
        from {table}
        where _business_date <= %(day)s and {queue_key} in (select {queue_key} from queue)
        qualify row_number() over (
            partition by {key} order by updated_at desc nulls first, _business_date desc, _line desc
        ) = 1"""


_INSTALLMENTS_KNOWN = latest_known_on_spark(
    "raw.installments", "loan_id, schedule_version, installment_no", "*", "loan_id"
)

SPARK_SOURCE_BODIES: dict[str, str] = {
    "b": latest_known_on_spark(
        "pii.borrowers",
        "borrower_id",
        "borrower_id, full_name, national_id, mobile_phone, email, province, city, address, birth_date",
    ),
    "l": latest_known_on_spark("raw.loans", "loan_id", "loan_id, principal, annual_rate, term_months, disbursed_on"),
    "sch": f"""select loan_id,
            count(*) as installments,
            sum(principal_due + interest_due + fee_due) as scheduled_total,
            min_by(principal_due + interest_due + fee_due, struct(due_date, installment_no))
                filter (where due_date > %(day)s) as next_amount_due
        from (
            select *, max(case when effective_from <= %(day)s then schedule_version end)
                over (partition by loan_id) as version_in_force
            from ({_INSTALLMENTS_KNOWN}) as known
        ) as versions
        where schedule_version = version_in_force
        group by loan_id""",
    "lc": f"""select loan_id, case_id, court
        from ({latest_known_on_spark("raw.legal_cases", "case_id", "*", "loan_id")}) as known
        where status not in ('closed', 'withdrawn') and opened_on <= %(day)s
        qualify row_number() over (
            partition by loan_id order by opened_on desc nulls first, case_id desc nulls first
        ) = 1""",
}

# The file's teams tonight in byte order; a row without a team after every team (PostgreSQL's array_agg keeps
# the NULL, last, and array_position finds it).
SPARK_TEAM_ORDER_CTE = """team_order as (
    select sort_array(collect_set(team_id)) as teams
    from queue
)"""


def order_key_on_spark(team: str, rank: str) -> str:
    """arrears.export.query.order_key_sql on Spark (array_position is 1-based there too, 0 when absent)."""
    teams = "(select team_order.teams from team_order)"
    position = f"coalesce(nullif(array_position({teams}, {team}), 0), size({teams}) + 1)"
    return f"(cast({position} as bigint) * 4294967296 + coalesce({rank}, 2147483648))"


def keyed_hash_on_spark(expression: str) -> str:
    """HMAC-SHA256 of the value's UTF-8 text, in lowercase hex (arrears.export.privacy.policy_sql on Spark)."""
    inner = f"unhex(sha2(concat(%(hmac_inner)s, encode(cast({expression} as string), 'UTF-8')), 256))"
    return f"sha2(concat(%(hmac_outer)s, {inner}), 256)"


def spec_on_spark(sql: str) -> str:
    """A column spec's SQL with the functions Spark names differently renamed."""
    for postgres, spark in _FUNCTIONS_RENAMED.items():
        sql = re.sub(rf"\b{postgres}\(", f"{spark}(", sql)
    return sql


def spark_literal(value: Any) -> str:
    """A parameter as a Spark SQL literal (strings with Spark's backslash escapes)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, bytes):
        return f"X'{value.hex()}'"
    if isinstance(value, dt.date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, list | tuple):
        return "array(" + ", ".join(spark_literal(item) for item in value) + ")"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def spark_statement(sql: str, params: Mapping[str, Any]) -> str:
    """The statement with each psycopg placeholder replaced by its value as a literal (`%%` is `%`)."""

    def literal(match: re.Match[str]) -> str:
        name = match.group(1)
        return "%" if name is None else spark_literal(params[name])

    return _PLACEHOLDER.sub(literal, sql)
