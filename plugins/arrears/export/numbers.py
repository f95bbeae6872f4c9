"""The numbers file of a dialing recipient: every number its dialer may use for each row, keyed by loan_id.

A second CSV beside the rows (`<recipient>_<D>_numbers.csv`) rather than repeated columns: a row
has from zero to several numbers, a dialer imports a number list per account, and a repeated-column
layout would need a fixed maximum (dropping numbers beyond it) or empty columns on most rows. The
numbers are the warehouse's (marts.fct_work_queue_contacts: own valid numbers, third-party numbers
only for lost contact and locate-only; barred and invalid numbers never); the phone is read as
known at D from pii.contact_points. Same order as the rows file, so the bytes are deterministic.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from arrears.export.config import COLUMNS_FILE, LANGUAGES, Recipient, RecipientConfigError
from arrears.export.privacy import neutralise_sql
from arrears.export.query import POSTGRES, order_key_sql, queue_cte, team_order_cte

NUMBERS_SUFFIX = "_numbers"


@dataclass(frozen=True)
class NumberColumn:
    """One column of the numbers file."""

    name: str
    sql: str
    labels: dict[str, str]
    dialable: bool = False

    def cell_sql(self, engine: str = POSTGRES) -> str:
        """The cell: a dialable number as digits is left as is, any other text is neutralised.

        Spark's regular expressions are Java's: `\\z` is the end of the text (`$` also matches before a
        final line break), and its string literals take backslash escapes, so the `+` is a class."""
        if self.dialable:
            digits = f"{self.sql} ~ '^\\+?[0-9]+$'" if engine == POSTGRES else f"{self.sql} rlike '^[+]?[0-9]+\\\\z'"
            return f"case when {digits} then {self.sql} else {neutralise_sql(self.sql)} end"
        return neutralise_sql(f"({self.sql})")


@functools.cache
def number_columns(path: Path = COLUMNS_FILE) -> tuple[NumberColumn, ...]:
    """The numbers file's columns, in file order (export/columns.yml, `number_columns`)."""
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("number_columns") or {}
    columns = []
    for name, spec in raw.items():
        labels = spec.get("labels") or {}
        if any(language not in labels for language in LANGUAGES):
            raise RecipientConfigError(f"columns.yml: number_columns.{name} needs a label in {', '.join(LANGUAGES)}")
        columns.append(NumberColumn(name, str(spec["sql"]), dict(labels), bool(spec.get("dialable", False))))
    return tuple(columns)


def numbers_file_name(target: Recipient, business_date: dt.date) -> str:
    """<recipient>_<D>_numbers.csv"""
    return f"{target.name}_{business_date.isoformat()}{NUMBERS_SUFFIX}.csv"


def number_headers(language: str) -> list[str]:
    """The numbers file's header in the recipient's language."""
    return [column.labels[language] for column in number_columns()]


def numbers_query(routed: str, engine: str = POSTGRES) -> str:
    """The numbers of the recipient's rows (same queue CTE and row order as its rows file).

    Each offered number is joined to its versions delivered up to D and the latest kept (§1: latest
    updated_at, then later delivery, then later line), instead of first de-duplicating every number of
    the queue's borrowers: one queue scan and one sort fewer (benchmarks/results.md). On Spark (decision 042)
    the same query, with the NULLs of each ORDER BY placed where PostgreSQL places them and without
    `collate "C"` (Spark compares strings by their UTF-8 bytes already).
    """
    cells = ",\n    ".join(column.cell_sql(engine) for column in number_columns())
    if engine == POSTGRES:
        newest, then = (
            "v.updated_at desc",
            'n.loan_id collate "C", n.locate_only, n.kind collate "C", n.contact_point_id collate "C"',
        )
    else:
        newest, then = (
            "v.updated_at desc nulls first",
            "n.loan_id, n.locate_only nulls last, n.kind nulls last, n.contact_point_id nulls last",
        )
    return f"""with {queue_cte(routed, engine)},
{team_order_cte(engine)},
numbers_known as (
    select
        q.team_id, q.priority_rank, n.loan_id, n.contact_point_id, n.kind, n.locate_only, v.relationship, v.phone,
        row_number() over (
            partition by n.loan_id, n.contact_point_id
            order by {newest}, v._business_date desc, v._line desc
        ) as recency
    from queue as q
    inner join marts.fct_work_queue_contacts as n on n.business_date = q.business_date and n.loan_id = q.loan_id
    inner join pii.contact_points as v on v.contact_point_id = n.contact_point_id and v._business_date <= %(day)s
)
select
    {cells}
from numbers_known as n
where n.recency = 1
order by {order_key_sql("n.team_id", "n.priority_rank", engine)}, {then}
"""
