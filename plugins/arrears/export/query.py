"""The SELECT behind one recipient's file: its team's queue rows joined to the data known at D.

Row sources are point in time (business rules §1): an upsert entity's version at D is the latest
updated_at among rows with _business_date <= D (ties: later _business_date, then later _line); an
event is kept from its first delivery. Only the sources the recipient's columns use are joined.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from arrears.export.config import ExportColumn, Recipient
from arrears.export.labels import label_parameters, labelled_sql, reason_labels
from arrears.export.privacy import needs_neutralising, neutralise_sql, policy_sql
from arrears.export.spark_sql import (
    SPARK_SOURCE_BODIES,
    SPARK_TEAM_ORDER_CTE,
    order_key_on_spark,
    spec_on_spark,
)

POSTGRES, SPARK = "postgres", "spark"  # the engines the SQL is written for (arrears.spark.session.engine)

# A team matches itself and its `<team>:<name>` sub-teams. Written as `=` / prefix `like` (not
# split_part) so the planner can estimate it from the column statistics. The export itself selects by
# the row's recipient alone (arrears.routing.recipient_rows_sql: the build routed each row to one recipient
# of its team, so the team predicate would only multiply two correlated selectivities into a far too low
# estimate); these team rows are the default for a caller that names no routing. NOT MATERIALIZED: the
# queue is read twice (rows and the borrowers it needs) and a second scan is cheaper than a spilled
# tuplestore.
TEAM_ROWS = "(team_id = any(%(teams)s) or team_id like any(%(team_prefixes)s))"
_QUEUE = """queue as {hint}(
    select *
    from marts.fct_work_queue
    where business_date = %(day)s and {routed}
)"""


def queue_cte(routed: str = TEAM_ROWS, engine: str = POSTGRES) -> str:
    """The `queue` CTE: the recipient's rows of D (`routed` is its routing predicate, from arrears.routing).

    Spark has no CTE materialisation hints (it plans the two reads itself)."""
    hint = "not materialized " if engine == POSTGRES else ""
    return _QUEUE.format(hint=hint, routed=routed if routed == TEAM_ROWS else routed.replace("%", "%%"))


def latest_known(table: str, key: str, columns: str, queue_key: str | None = None) -> str:
    """Upsert rows as known at D, for the queue's loans or borrowers only (queue_key, default the key).

    Spark's spelling (no DISTINCT ON) is arrears.export.spark_sql.latest_known_on_spark."""
    queue_key = queue_key or key
    return f"""select distinct on ({key}) {columns}
        from {table}
        where _business_date <= %(day)s and {queue_key} in (select {queue_key} from queue)
        order by {key}, updated_at desc, _business_date desc, _line desc"""


_SOURCES: dict[str, tuple[str, str]] = {
    # alias: (CTE body, join clause)
    "d": (
        "select * from marts.fct_loan_delinquency_daily where business_date = %(day)s",
        "left join d on d.loan_id = q.loan_id",
    ),
    "b": (
        latest_known(
            "pii.borrowers",
            "borrower_id",
            "borrower_id, full_name, national_id, mobile_phone, email, province, city, address, birth_date",
        ),
        "left join b on b.borrower_id = q.borrower_id",
    ),
    "l": (
        latest_known("raw.loans", "loan_id", "loan_id, principal, annual_rate, term_months, disbursed_on"),
        "left join l on l.loan_id = q.loan_id",
    ),
    "sch": (
        f"""select loan_id,
            count(*) as installments,
            sum(principal_due + interest_due + fee_due) as scheduled_total,
            (array_agg(principal_due + interest_due + fee_due order by due_date, installment_no)
                filter (where due_date > %(day)s))[1] as next_amount_due
        from (
            select *, max(schedule_version) filter (where effective_from <= %(day)s)
                over (partition by loan_id) as version_in_force
            from ({latest_known("raw.installments", "loan_id, schedule_version, installment_no", "*", "loan_id")})
                as known
        ) as versions
        where schedule_version = version_in_force
        group by loan_id""",
        "left join sch on sch.loan_id = q.loan_id",
    ),
    # Payments and actions as first delivered (§1), read from the build's stored tables by their loan_id index:
    # raw's partitions are indexed by their key only, so reading raw meant every payment and action ever
    # delivered for each recipient. The same SQL on both engines.
    "pay": (
        """select known.loan_id,
            count(case when not known.is_reversal and reversals.reversal_of is null then 1 end) as payments,
            sum(case when known.is_reversal then -known.amount else known.amount end) as paid_total,
            max(case when not known.is_reversal and reversals.reversal_of is null then known.value_date end)
                as last_payment_on
        from stored.stored_payments as known
        left join (
            select distinct reversal_of
            from stored.stored_payments
            where reversal_of is not null and delivered_on <= %(day)s and value_date <= %(day)s
        ) as reversals on reversals.reversal_of = known.payment_id
        where known.delivered_on <= %(day)s and known.value_date <= %(day)s
            and known.loan_id in (select loan_id from queue)
        group by known.loan_id""",
        "left join pay on pay.loan_id = q.loan_id",
    ),
    # Borrower-local dates and right-party outcomes as the marts count them (stored_collection_actions).
    "act": (
        """select loan_id,
            count(case when direction = 'outbound' then 1 end) as attempts,
            count(case when is_right_party_contact then 1 end) as rpc,
            max(action_local_date) as last_contact_on
        from stored.stored_collection_actions
        where delivered_on <= %(day)s and action_local_date <= %(day)s and loan_id in (select loan_id from queue)
        group by loan_id""",
        "left join act on act.loan_id = q.loan_id",
    ),
    "lc": (
        f"""select distinct on (loan_id) loan_id, case_id, court
        from ({latest_known("raw.legal_cases", "case_id", "*", "loan_id")}) as known
        where status not in ('closed', 'withdrawn') and opened_on <= %(day)s
        order by loan_id, opened_on desc, case_id desc""",
        "left join lc on lc.loan_id = q.loan_id",
    ),
}

# Session settings for the export transaction (`set local`, so they end with it). A 1M-row queue
# sorts ~170 MB of rows and hashes ~90 MB of borrowers: with the server's 64 MB work_mem both
# spilled to disk. Parallel workers each rebuilt the whole borrower hash (3x the work on 2 cores).
# Nested loops stay allowed: a recipient of a few thousand rows reads its loans' point-in-time versions by
# index; the queue's row estimate comes from fct_work_queue's (business_date, recipient) statistics.
EXPORT_SETTINGS = (
    "set local work_mem = '256MB'",
    "set local max_parallel_workers_per_gather = 0",
)

# The files' order: team in byte order ("C", not the database locale: the same file whatever the
# server's collation), then priority, then loan. Sorted key by key, nearly every comparison ties on the
# team (a file mostly holds one) and takes PostgreSQL's slow multi-key path (figures: docs/exports.md,
# "Speed"). `team_order` (the file's teams tonight, in
# byte order) lets `order_key_sql` write (team, rank) as one bigint that sorts the same way, so the
# sort compares one integer. The CTE reads the queue once more (cheap: one distinct over tonight's rows).
TEAM_ORDER_CTE = """team_order as materialized (
    select array_agg(team_id order by team_id collate "C") as teams
    from (select distinct team_id from queue) as teams_tonight
)"""


def team_order_cte(engine: str = POSTGRES) -> str:
    """The `team_order` CTE in the engine's spelling."""
    return TEAM_ORDER_CTE if engine == POSTGRES else SPARK_TEAM_ORDER_CTE


def order_key_sql(team: str, rank: str, engine: str = POSTGRES) -> str:
    """(team in byte order, rank, NULL rank last) as one bigint: the team's position x 2^32 + the rank.

    Exact for any integer rank: each team's block spans position x 2^32 +- 2^31, and a NULL rank
    (2^31) sorts after every rank of its team.
    """
    if engine != POSTGRES:
        return order_key_on_spark(team, rank)
    return (
        f"(array_position((select team_order.teams from team_order), {team})::bigint * 4294967296"
        f" + coalesce({rank}, 2147483648))"
    )


ORDER_BY = 'p.sort_key, p.sort_loan collate "C"'
ORDER_BY_ON_SPARK = "p.sort_key, p.sort_loan"  # Spark compares strings by their UTF-8 bytes, as "C" does


@dataclass(frozen=True)
class ExportQuery:
    """The recipient's SELECT (psycopg placeholders) and the sources it needs."""

    sql: str
    sources: tuple[str, ...]


def _aliases_used(sql: str) -> set[str]:
    return set(re.findall(r"\b([a-z]+)\.", sql))


def _in_language(column: ExportColumn, language: str, engine: str) -> ExportColumn:
    """A coded column carries its labels when the file's language has some (reason_labels.yml); else the codes.

    On Spark, the spec's functions that Spark names differently are renamed (spark_sql.spec_on_spark)."""
    sql = column.spec.sql if engine == POSTGRES else spec_on_spark(column.spec.sql)
    labels = reason_labels(language)
    if column.spec.coded and labels is not None:
        sql = labelled_sql(sql, labels)
    if sql == column.spec.sql:
        return column
    return dataclasses.replace(column, spec=dataclasses.replace(column.spec, sql=sql))


def source_body(alias: str, engine: str = POSTGRES) -> str:
    """The body of a row source's CTE in the engine's spelling (the join clause is the same on both)."""
    if engine == POSTGRES:
        return _SOURCES[alias][0]
    return SPARK_SOURCE_BODIES.get(alias, _SOURCES[alias][0])


def export_query(recipient: Recipient, routed: str = TEAM_ROWS, engine: str = POSTGRES) -> ExportQuery:
    """The SELECT that yields the recipient's rows, in a stable order, with every policy applied.

    `routed` is the recipient's routing predicate over the queue row (arrears.routing.recipient_rows_sql);
    `engine` the warehouse it runs on (postgres or spark: decision 042).
    """
    columns = [_in_language(column, recipient.header_language, engine) for column in recipient.columns]
    # Policies are computed once per row in an inner select; the outer select only neutralises
    # (referencing the inner value, so a mask or hash is not evaluated three times). `offset 0`
    # keeps PostgreSQL from pulling the inner select up into the outer one, which would paste each
    # policy expression back into the neutralising CASE (a keyed hash was computed twice a row).
    # Spark does not pull the inner select up into a repeated expression (its projections are only
    # collapsed when nothing costly is duplicated), and has no `offset 0`.
    expressions = [policy_sql(column, engine) for column in columns]
    used = set().union(*(_aliases_used(column.spec.sql) for column in columns))
    sources = tuple(alias for alias in _SOURCES if alias in used)
    ctes = [queue_cte(routed, engine), team_order_cte(engine)]
    ctes += [f"{alias} as (\n{source_body(alias, engine)}\n)" for alias in sources]
    joins = "\n".join(_SOURCES[alias][1] for alias in sources)
    inner = ",\n    ".join(f"{sql} as c{position}" for position, sql in enumerate(expressions))
    outer = ", ".join(
        neutralise_sql(f"p.c{position}") if needs_neutralising(column) else f"p.c{position}"
        for position, column in enumerate(columns)
    )
    sort_key = order_key_sql("q.team_id", "q.priority_rank", engine)
    offset, order_by = ("offset 0\n", ORDER_BY) if engine == POSTGRES else ("", ORDER_BY_ON_SPARK)
    sql = (
        "with "
        + ",\n".join(ctes)
        + f"\nselect {outer}\nfrom (\nselect\n    {inner},\n    {sort_key} as sort_key,"
        + f" q.loan_id as sort_loan\nfrom queue as q\n{joins}\n{offset}) as p\norder by {order_by}"
    )
    return ExportQuery(sql=sql, sources=sources)


def control_totals_sql(routed: str = TEAM_ROWS, engine: str = POSTGRES) -> str:
    """Rows and overdue amount per team of the recipient's rows (the manifest's control totals)."""
    return (
        "with "
        + queue_cte(routed, engine)
        + """
select coalesce(team_id, '(held)'), count(*), coalesce(sum(overdue_amount), 0)
from queue
group by 1
order by 1"""
    )


def query_parameters(recipient: Recipient, day: object) -> dict[str, object]:
    """The named parameters every export query may use (the HMAC pads are added by the caller)."""
    return {
        "day": day,
        "teams": list(recipient.teams),
        "team_prefixes": [_like_escape(team) + ":%" for team in recipient.teams],
    } | label_parameters(reason_labels(recipient.header_language))


def _like_escape(text: str) -> str:
    """A literal for LIKE (default escape character backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
