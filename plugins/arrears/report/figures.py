"""The report's figures, one collector per section, each reading its marts or audit relations for date D.

A collector returns plain JSON-ready data (the same dict goes to report.json and to the HTML page),
or raises `Unavailable` with a note a reader understands when its relation is missing or has no rows:
the marts are built by other parts of the pipeline and a report must still render without them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arrears.report.config import ReportConfig, ordered
from arrears.report.routing import routed_nowhere

if TYPE_CHECKING:
    import psycopg

Figures = dict[str, Any]
Collector = Callable[["psycopg.Connection", dt.date, ReportConfig], Figures]

NONE_LABEL = "(none)"
HELD_LABEL = "held"
OBSERVED_VALUE_MAX = 300  # GX observed values can list many unexpected values; keep the page readable
GENERIC_ROWS_MAX = 500


class Unavailable(Exception):
    """A section cannot be shown; the message says why (relation missing, no rows for D)."""


def money(value: Decimal | float | int | None) -> float:
    """A numeric amount as a JSON number with cents."""
    return round(float(value or 0), 2)


def share(numerator: float, denominator: float) -> float | None:
    """numerator / denominator rounded to 4 places, None when there is nothing to divide by."""
    return round(numerator / denominator, 4) if denominator else None


def plain(value: Any) -> Any:
    """Any database value as something json.dumps accepts (dates as ISO text, numerics as numbers)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def relation_exists(conn: psycopg.Connection, relation: str) -> bool:
    """Whether a table or view of that schema-qualified name exists."""
    row = conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()
    return bool(row and row[0])


def require_relation(conn: psycopg.Connection, relation: str) -> None:
    """Raise Unavailable when the relation does not exist (yet)."""
    if not relation_exists(conn, relation):
        raise Unavailable(f"{relation} does not exist in the warehouse yet")


def collection_order() -> tuple[str, ...]:
    """Teams in the order an account meets them (pre-due, early, mid, field, agency, legal): recipients.yml order."""
    from arrears.export.config import load_recipients

    return tuple(dict.fromkeys(team for recipient in load_recipients().values() for team in recipient.teams))


def in_collection_order(teams: set[str] | list[str], order: tuple[str, ...]) -> list[str]:
    """Teams sorted by collection order (`agency:<name>` with `agency`), then unknown teams alphabetically."""

    def key(team: str) -> tuple[int, str]:
        base = team.split(":", 1)[0]
        return (order.index(base) if base in order else len(order), team)

    return sorted(set(teams), key=key)


def _no_rows(relation: str, day: dt.date) -> Unavailable:
    return Unavailable(f"{relation} has no rows for {day.isoformat()}")


def portfolio(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """Loans, overdue amount and outstanding principal by stage, by bucket, and bucket x stage."""
    relation = "marts.fct_loan_delinquency_daily"
    require_relation(conn, relation)
    rows = conn.execute(
        f"""
        select
            coalesce(stage, %(none)s) as stage,
            coalesce(bucket, %(none)s) as bucket,
            count(*) as loans,
            count(*) filter (where dpd >= 1) as delinquent,
            coalesce(sum(overdue_amount), 0) as overdue_amount,
            coalesce(sum(outstanding_principal), 0) as outstanding_principal
        from {relation}
        where business_date = %(day)s
        group by 1, 2
        """,
        {"day": day, "none": NONE_LABEL},
    ).fetchall()
    if not rows:
        raise _no_rows(relation, day)
    stages = ordered({row[0] for row in rows}, config.stages)
    buckets = ordered({row[1] for row in rows}, config.buckets)
    by_stage: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    by_bucket: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    bucket_stage: dict[str, dict[str, int]] = defaultdict(dict)
    for stage, bucket, loans, _, overdue, outstanding in rows:
        by_stage[stage][0] += loans
        by_stage[stage][1] += float(overdue)
        by_stage[stage][2] += float(outstanding)
        by_bucket[bucket][0] += loans
        by_bucket[bucket][1] += float(overdue)
        bucket_stage[bucket][stage] = loans
    return {
        "loans": sum(row[2] for row in rows),
        "delinquent_loans": sum(row[3] for row in rows),
        "overdue_amount": money(sum(row[4] for row in rows)),
        "outstanding_principal": money(sum(row[5] for row in rows)),
        "by_stage": [
            {
                "stage": stage,
                "loans": int(by_stage[stage][0]),
                "overdue_amount": money(by_stage[stage][1]),
                "outstanding_principal": money(by_stage[stage][2]),
            }
            for stage in stages
        ],
        "by_bucket": [
            {
                "bucket": bucket,
                "loans": int(by_bucket[bucket][0]),
                "overdue_amount": money(by_bucket[bucket][1]),
                "by_stage": {stage: bucket_stage[bucket][stage] for stage in stages if stage in bucket_stage[bucket]},
            }
            for bucket in buckets
        ],
    }


def _bin_label(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


def dpd_distribution(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """Delinquent loans per DPD bin (report.yml `dpd_bins`), plus the count of loans at DPD 0."""
    relation = "marts.fct_loan_delinquency_daily"
    require_relation(conn, relation)
    rows = conn.execute(
        f"select dpd, count(*) from {relation} where business_date = %s group by dpd",
        (day,),
    ).fetchall()
    if not rows:
        raise _no_rows(relation, day)
    counts = {int(dpd or 0): loans for dpd, loans in rows}
    bins = []
    for low, high in config.dpd_bins:
        in_bin = sum(loans for dpd, loans in counts.items() if dpd >= low and (high is None or dpd <= high))
        bins.append({"label": _bin_label(low, high), "low": low, "high": high, "loans": in_bin})
    return {
        "loans_at_dpd_0": counts.get(0, 0),
        "delinquent_loans": sum(loans for dpd, loans in counts.items() if dpd >= 1),
        "max_dpd": max(counts),
        "bins": bins,
    }


def roll_rates(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """The roll-rate matrix of the last month end on or before D, and the cure rate derived from it."""
    relation = "marts.agg_roll_rates_monthly"
    require_relation(conn, relation)
    latest = conn.execute(f"select max(month_end) from {relation} where month_end <= %s", (day,)).fetchone()
    if not latest or latest[0] is None:
        # Not a gap: roll rates compare two month ends, and the book has not reached one yet. The page says so.
        return {"month_end": None, "from_buckets": [], "to_buckets": [], "cure_rate": None, "cells": []}
    month_end = latest[0]
    rows = conn.execute(
        f"""
        select from_bucket, to_bucket, loans, loans_share, principal, principal_share
        from {relation}
        where month_end = %s
        """,
        (month_end,),
    ).fetchall()
    current_bucket = config.buckets[0]
    # Cure rate (business rules §6): of the loans delinquent at the previous month end, the share now current.
    delinquent_before = sum(loans for source, _, loans, *_ in rows if source != current_bucket)
    cured = sum(loans for source, target, loans, *_ in rows if source != current_bucket and target == current_bucket)
    return {
        "month_end": plain(month_end),
        "from_buckets": ordered({str(row[0]) for row in rows}, config.buckets),
        "to_buckets": ordered({str(row[1]) for row in rows}, config.buckets),
        "cure_rate": share(cured, delinquent_before),
        "cells": [
            {
                "from_bucket": str(source),
                "to_bucket": str(target),
                "loans": int(loans or 0),
                "loans_share": None if loans_share is None else round(float(loans_share), 4),
                "principal": money(principal),
                "principal_share": None if principal_share is None else round(float(principal_share), 4),
            }
            for source, target, loans, loans_share, principal, principal_share in rows
        ],
    }


def vintages(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """Ever-30/60/90 shares by month on book, for the most recent cohorts disbursed on or before D."""
    relation = "marts.agg_vintage_curves"
    require_relation(conn, relation)
    rows = conn.execute(
        f"""
        select cohort_month, months_on_book, loans, ever_30_share, ever_60_share, ever_90_share
        from {relation}
        where cohort_month <= %s
        order by cohort_month, months_on_book
        """,
        (day,),
    ).fetchall()
    if not rows:
        raise Unavailable(f"{relation} has no cohorts disbursed on or before {day.isoformat()}")
    cohorts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cohort, months_on_book, loans, ever_30, ever_60, ever_90 in rows:
        cohorts[str(plain(cohort))].append(
            {
                "months_on_book": int(months_on_book),
                "loans": int(loans or 0),
                "ever_30_share": round(float(ever_30 or 0), 4),
                "ever_60_share": round(float(ever_60 or 0), 4),
                "ever_90_share": round(float(ever_90 or 0), 4),
            }
        )
    shown = sorted(cohorts)[-config.vintage_cohorts :]
    return {
        "cohorts_total": len(cohorts),
        "cohorts": [{"cohort_month": cohort, "points": cohorts[cohort]} for cohort in shown],
    }


def work_queue(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """Accounts per team (by bucket) for D+1, and held accounts by hold reason (the reason's first part)."""
    relation = "marts.fct_work_queue"
    require_relation(conn, relation)
    rows = conn.execute(
        f"""
        select
            team_id,
            coalesce(bucket, %(none)s) as bucket,
            -- reason lists the most decisive cause first: for a held row, that is the hold reason
            case when team_id is null then coalesce(nullif(split_part(reason, ',', 1), ''), %(none)s) end,
            count(*) as accounts,
            coalesce(sum(overdue_amount), 0) as overdue_amount,
            min(work_date) as work_date
        from {relation}
        where business_date = %(day)s
        group by 1, 2, 3
        """,
        {"day": day, "none": NONE_LABEL},
    ).fetchall()
    if not rows:
        raise _no_rows(relation, day)
    teams: dict[str, dict[str, Any]] = {}
    held_reasons: dict[str, int] = defaultdict(int)
    for team, bucket, hold_reason, accounts, overdue, _ in rows:
        label = HELD_LABEL if team is None else str(team)
        entry = teams.setdefault(label, {"team": label, "accounts": 0, "overdue_amount": 0.0, "by_bucket": {}})
        entry["accounts"] += accounts
        entry["overdue_amount"] = money(entry["overdue_amount"] + float(overdue))
        entry["by_bucket"][bucket] = entry["by_bucket"].get(bucket, 0) + accounts
        if team is None:
            held_reasons[hold_reason] += accounts
    worked = in_collection_order([label for label in teams if label != HELD_LABEL], collection_order())
    buckets = ordered({bucket for entry in teams.values() for bucket in entry["by_bucket"]}, config.buckets)
    for entry in teams.values():
        entry["by_bucket"] = {bucket: entry["by_bucket"][bucket] for bucket in buckets if bucket in entry["by_bucket"]}
    work_dates = [row[5] for row in rows if row[5] is not None]
    return {
        "work_date": plain(min(work_dates)) if work_dates else None,
        "accounts": sum(row[3] for row in rows),
        "held": teams.get(HELD_LABEL, {}).get("accounts", 0),
        "buckets": buckets,
        "teams": [teams[label] for label in worked + ([HELD_LABEL] if HELD_LABEL in teams else [])],
        "held_reasons": [
            {"reason": reason, "accounts": held_reasons[reason]}
            for reason in sorted(held_reasons, key=lambda reason: (-held_reasons[reason], reason))
        ],
    }


def promises(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """Kept rate of the promises falling due in the window ending on D, and promises made on D."""
    relation = "marts.fct_promises_to_pay"
    require_relation(conn, relation)
    window_start = day - dt.timedelta(days=config.promise_window_days - 1)
    rows = conn.execute(
        f"""
        select
            status,
            promised_on = %(day)s as made_on_day,
            promised_date between %(start)s and %(day)s as due_in_window,
            count(*) as promises,
            coalesce(sum(promised_amount), 0) as promised_amount
        from {relation}
        where promised_on <= %(day)s
        group by 1, 2, 3
        """,
        {"day": day, "start": window_start},
    ).fetchall()
    if not rows:
        raise Unavailable(f"{relation} has no promises made on or before {day.isoformat()}")

    def count(status: str | None = None, *, due: bool | None = None, made: bool | None = None) -> int:
        return sum(
            number
            for row_status, made_on_day, due_in_window, number, _ in rows
            if (status is None or row_status == status)
            and (due is None or bool(due_in_window) == due)
            and (made is None or bool(made_on_day) == made)
        )

    # A superseded promise was replaced by a newer one before it fell due: it is neither kept nor broken.
    due = count(due=True) - count("superseded", due=True)
    kept = count("kept", due=True)
    return {
        "window_start": window_start.isoformat(),
        "window_end": day.isoformat(),
        "made_on_date": count(made=True),
        "open_now": count("open"),
        "due": due,
        "kept": kept,
        "broken": count("broken", due=True),
        "open_in_grace": count("open", due=True),
        "kept_rate": share(kept, due),
        "promised_amount_due": money(
            sum(amount for status, _, due_in_window, _, amount in rows if due_in_window and status != "superseded")
        ),
    }


def compliance(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """Violations judged on D, per team and rule (team NULL shown as '(none)')."""
    relation = "marts.fct_compliance_violations"
    require_relation(conn, relation)
    rows = conn.execute(
        f"""
        select coalesce(team_id, %(none)s), coalesce(rule, %(none)s), count(*)
        from {relation}
        where business_date = %(day)s
        group by 1, 2
        """,
        {"day": day, "none": NONE_LABEL},
    ).fetchall()
    if not rows:
        # No violations on D is good news, but only if the audit has run at all.
        ever = conn.execute(f"select exists (select 1 from {relation})").fetchone()
        if not ever or not ever[0]:
            raise Unavailable(f"{relation} has no rows yet (the compliance audit has not run)")
    teams: dict[str, dict[str, int]] = defaultdict(dict)
    rules: dict[str, int] = defaultdict(int)
    for team, rule, violations in rows:
        teams[team][rule] = violations
        rules[rule] += violations
    return {
        "violations": sum(rules.values()),
        "rules": [{"rule": rule, "violations": rules[rule]} for rule in sorted(rules)],
        "teams": [
            {"team": team, "violations": sum(teams[team].values()), "by_rule": dict(sorted(teams[team].items()))}
            for team in in_collection_order([t for t in teams if t != NONE_LABEL], collection_order())
            + ([NONE_LABEL] if NONE_LABEL in teams else [])
        ],
    }


def data_quality(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """The latest check run for D: expectations passed and failed per suite, and each failure."""
    relation = "audit.dq_results"
    require_relation(conn, relation)
    latest = conn.execute(
        f"""
        select run_id, max(checked_at) as checked_at
        from {relation}
        where business_date = %s
        group by run_id
        order by checked_at desc, run_id desc
        limit 1
        """,
        (day,),
    ).fetchone()
    if not latest:
        raise Unavailable(f"no data-quality run recorded for {day.isoformat()} ({relation})")
    run_id, checked_at = latest
    rows = conn.execute(
        f"""
        select suite, expectation, success, observed_value
        from {relation}
        where business_date = %s and run_id = %s
        order by suite, expectation
        """,
        (day, run_id),
    ).fetchall()
    suites: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures = []
    for suite, expectation, success, observed in rows:
        suites[suite][0 if success else 1] += 1
        if not success:
            text = "" if observed is None else str(observed)
            if len(text) > OBSERVED_VALUE_MAX:
                text = text[:OBSERVED_VALUE_MAX] + "..."
            failures.append({"suite": suite, "expectation": expectation, "observed_value": text})
    return {
        "run_id": run_id,
        "checked_at": plain(checked_at),
        "expectations": len(rows),
        "failed": len(failures),
        "closed_with_balance": _closed_with_balance(conn, day),
        "suites": [
            {"suite": suite, "passed": suites[suite][0], "failed": suites[suite][1]} for suite in sorted(suites)
        ],
        "failures": failures,
    }


def _closed_with_balance(conn: psycopg.Connection, day: dt.date) -> list[dict[str, Any]]:
    """The reconciliation's explained exceptions of D: loans the source closed owing principal (decision 014)."""
    relation = "marts.fct_loans_closed_with_balance"
    if not relation_exists(conn, relation):
        return []
    rows = conn.execute(
        f"select loan_id, closed_on, outstanding_principal from {relation} where business_date = %s order by loan_id",
        (day,),
    ).fetchall()
    return [
        {"loan_id": loan_id, "closed_on": plain(closed_on), "outstanding_principal": money(amount)}
        for loan_id, closed_on, amount in rows
    ]


def ingest(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """The batch recorded for D and its quarantined rows by entity and reason (counts only: raw rows hold PII)."""
    require_relation(conn, "audit.batches")
    require_relation(conn, "audit.quarantine")
    batch = conn.execute(
        "select status, rows_loaded, rows_quarantined, loaded_at from audit.batches where business_date = %s",
        (day,),
    ).fetchone()
    quarantine = conn.execute(
        """
        select entity, reason, count(*)
        from audit.quarantine
        where business_date = %s
        group by entity, reason
        order by entity, reason
        """,
        (day,),
    ).fetchall()
    if batch is None and not quarantine:
        raise Unavailable(f"no delivery has been loaded for {day.isoformat()} (audit.batches)")
    entities: dict[str, dict[str, int]] = defaultdict(dict)
    for entity, reason, rows in quarantine:
        entities[entity][reason] = rows
    return {
        "batch": None
        if batch is None
        else {
            "status": batch[0],
            "rows_loaded": int(batch[1]),
            "rows_quarantined": int(batch[2]),
            "loaded_at": plain(batch[3]),
        },
        "quarantined_rows": sum(rows for *_, rows in quarantine),
        "reasons": sorted({reason for _, reason, _ in quarantine}),
        "quarantine": [
            {"entity": entity, "rows": sum(entities[entity].values()), "by_reason": entities[entity]}
            for entity in sorted(entities)
        ],
    }


def _deliveries(conn: psycopg.Connection, day: dt.date) -> dict[str, Any] | None:
    """audit.deliveries rows for D as a generic table (its columns belong to the delivery step), or None."""
    from psycopg import sql

    if not relation_exists(conn, "audit.deliveries"):
        return None
    columns = [
        name
        for (name,) in conn.execute(
            """
            select column_name from information_schema.columns
            where table_schema = 'audit' and table_name = 'deliveries'
            order by ordinal_position
            """
        ).fetchall()
    ]
    query = sql.SQL("select {} from audit.deliveries").format(sql.SQL(", ").join(map(sql.Identifier, columns)))
    params: tuple[Any, ...] = ()
    if "business_date" in columns:
        query += sql.SQL(" where business_date = %s")
        params = (day,)
    query += sql.SQL(" order by {} limit {}").format(
        # Positional sort keys: the first columns, whatever they are called.
        sql.SQL(", ").join(sql.SQL(str(position)) for position in range(1, min(3, len(columns)) + 1)),
        sql.Literal(GENERIC_ROWS_MAX),
    )
    rows = conn.execute(query, params).fetchall()
    return {"columns": columns, "rows": [[plain(value) for value in row] for row in rows]}


def exports(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """Files exported for D (audit.exports) and, when that table exists, their deliveries (audit.deliveries)."""
    require_relation(conn, "audit.exports")
    rows = conn.execute(
        """
        select recipient, file, rows, sha256, dq_run_id, exported_at
        from audit.exports
        where business_date = %s
        order by recipient, file
        """,
        (day,),
    ).fetchall()
    deliveries = _deliveries(conn, day)
    if not rows and not (deliveries and deliveries["rows"]):
        raise Unavailable(f"nothing was exported for {day.isoformat()} (audit.exports)")
    return {
        "files": [
            {
                "recipient": recipient,
                "file": file,
                "rows": int(count),
                "sha256": sha256,
                "dq_run_id": dq_run_id,
                "exported_at": plain(exported_at),
            }
            for recipient, file, count, sha256, dq_run_id, exported_at in rows
        ],
        "rows_exported": sum(int(row[2]) for row in rows if not str(row[1]).endswith("_numbers.csv")),
        "deliveries": deliveries,
        "routed_nowhere": routed_nowhere(conn, day) if relation_exists(conn, "marts.fct_work_queue") else None,
    }


def dbt_models(conn: psycopg.Connection, day: dt.date, config: ReportConfig) -> Figures:
    """Every model, seed and test of the night's `dbt build` with its status and seconds (dbt's run_results.json).

    Not from the warehouse: dbt writes the file under $ARREARS_HOME/dbt/target, and it holds the
    home's LAST dbt command only, so the section is shown only when that command was a build for D.
    """
    from arrears.report.dbt_results import OUTCOMES, RunResultsUnreadable, read_run_results, run_results_path
    from arrears.settings import paths

    path = run_results_path(paths())
    try:
        results = read_run_results(path)
    except RunResultsUnreadable as err:
        raise Unavailable(f"dbt/target/{path.name} could not be read: {err}") from err
    if results is None:
        raise Unavailable(f"no dbt command has run in this home yet (dbt/target/{path.name} is missing)")
    if results.command != "build":
        raise Unavailable(
            f"the last dbt command in this home was `dbt {results.command}`, not a build "
            f"(dbt/target/{path.name} keeps the last command only)"
        )
    if results.business_date != day.isoformat():
        raise Unavailable(
            f"the last dbt build in this home was for {results.business_date or 'no business date'} "
            f"(dbt/target/{path.name} keeps the last build only; `arrears build --date {day.isoformat()}` rebuilds it)"
        )
    if not results.nodes:
        raise Unavailable(f"the last dbt build for {day.isoformat()} selected no model or test")
    # read_run_results returns nodes in build order, so first appearance orders the resource types.
    resource_types = list(dict.fromkeys(node.resource_type for node in results.nodes))
    counts = {kind: dict.fromkeys(OUTCOMES, 0) for kind in resource_types}
    for node in results.nodes:
        counts[node.resource_type][node.outcome] += 1
    return {
        "invocation_id": results.invocation_id,
        "finished_at": results.generated_at,
        "seconds": results.elapsed_seconds,
        "select": results.select,
        "nodes_total": len(results.nodes),
        **{outcome: sum(entry[outcome] for entry in counts.values()) for outcome in OUTCOMES},
        "by_resource_type": [{"resource_type": kind, **counts[kind]} for kind in resource_types],
        "nodes": [
            {
                "resource_type": node.resource_type,
                "name": node.name,
                "status": node.status,
                "outcome": node.outcome,
                "seconds": node.seconds,
                "message": node.message,
            }
            for node in results.nodes
        ],
    }
