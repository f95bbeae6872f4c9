"""Stand-in marts for the gate and export tests: the §8 tables, created empty, and row builders.

The tests are unit-level: each creates exactly the rows its behaviour needs instead of running
dbt, so a failure points at the gate or the exporter, not at a model. Column names and types
follow business rules §8 (plus the extra snapshot columns the real model publishes and the
reconciliation reads: principal, net_paid, schedule_version, loan_status).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import psycopg

MART_DDL = [
    """create table if not exists marts.fct_loan_delinquency_daily (
        business_date date, loan_id text, borrower_id text, product_code text, loan_status text,
        principal numeric(18,2), schedule_version integer, dpd integer, bucket text, stage text,
        regulatory_class text, overdue_principal numeric(18,2), overdue_interest numeric(18,2),
        overdue_fee numeric(18,2), overdue_amount numeric(18,2), outstanding_principal numeric(18,2),
        net_paid numeric(18,2), oldest_unpaid_due_date date, next_due_date date,
        primary key (business_date, loan_id))""",
    """create table if not exists marts.fct_work_queue (
        business_date date, work_date date, loan_id text, borrower_id text, team_id text,
        allowed_channels text[], priority_rank integer, reason text, dpd integer, bucket text,
        overdue_amount numeric(18,2), primary key (business_date, loan_id))""",
    """create table if not exists marts.fct_delinquency_episodes (
        loan_id text, episode_no integer, started_on date, ended_on date, end_reason text, max_dpd integer,
        max_bucket text, collected_amount numeric(18,2))""",
    """create table if not exists marts.fct_promises_to_pay (
        action_id text, loan_id text, promised_on date, promised_date date, promised_amount numeric(18,2),
        status text, kept_on date)""",
    """create table if not exists marts.agg_roll_rates_monthly (
        month_end date, from_bucket text, to_bucket text, loans integer, loans_share numeric,
        principal numeric(18,2), principal_share numeric)""",
    """create table if not exists marts.agg_vintage_curves (
        cohort_month date, months_on_book integer, loans integer, ever_30_share numeric,
        ever_60_share numeric, ever_90_share numeric)""",
    """create table if not exists marts.agg_collection_performance_daily (
        business_date date, team_id text, agent_id text, channel text, attempts integer, rpc integer,
        ptp integer, ptp_kept_rate numeric, collected_amount numeric(18,2))""",
    """create table if not exists marts.fct_compliance_violations (
        action_id text, business_date date, rule text, team_id text, agent_id text)""",
]

TEAM_CHANNELS = {
    "predue": ["sms", "app_push"],
    "early": ["call", "sms"],
    "mid": ["call", "sms", "email"],
    "field": ["visit"],
    "legal": ["letter", "legal_notice"],
    "agency": ["call", "sms", "letter"],
}


def create_marts(conn: psycopg.Connection) -> None:
    """Create the eight published marts, empty."""
    for statement in MART_DDL:
        conn.execute(statement)


def bucket_for(dpd: int) -> str:
    """Business rules §4 bucket of a DPD."""
    limits = [(0, "M0"), (30, "M1"), (60, "M2"), (90, "M3"), (120, "M4"), (150, "M5"), (180, "M6")]
    return next((bucket for limit, bucket in limits if dpd <= limit), "M7+")


def stage_for(dpd: int) -> str:
    """Business rules §4 stage of a DPD (pre_due for DPD 0: every test loan at 0 is about to fall due)."""
    if dpd == 0:
        return "pre_due"
    return "early" if dpd <= 30 else "mid" if dpd <= 90 else "late"


def record_delivery(conn: psycopg.Connection, day: dt.date) -> None:
    """A loaded batch for `day` in audit.batches: the gate refuses a date without one."""
    conn.execute(
        "insert into audit.batches (business_date, status, manifest, rows_loaded, rows_quarantined)"
        " values (%s, 'loaded', '{}', 1, 0) on conflict do nothing",
        (day,),
    )


def add_loan(
    conn: psycopg.Connection,
    day: dt.date,
    loan_id: str,
    *,
    dpd: int,
    team: str | None,
    overdue: str = "1000.00",
    outstanding: str = "20000.00",
    principal: str = "30000.00",
    net_paid: str = "10000.00",
    stage: str | None = None,
    borrower_id: str | None = None,
    channels: Sequence[str] | None = None,
    reason: str | None = None,
    rank: int = 1,
    queued: bool = True,
) -> None:
    """One loan in the snapshot of `day` and (unless queued=False) its queue row; the day counts as delivered."""
    record_delivery(conn, day)
    borrower_id = borrower_id or f"B{loan_id[1:]}"
    stage = stage or stage_for(dpd)
    conn.execute(
        """insert into marts.fct_loan_delinquency_daily values
           (%s, %s, %s, 'CASH', 'active', %s, 1, %s, %s, %s, 'normal', %s, 0, 0, %s, %s, %s, %s, %s)""",
        (
            day,
            loan_id,
            borrower_id,
            principal,
            dpd,
            bucket_for(dpd),
            stage,
            overdue,
            overdue,
            outstanding,
            net_paid,
            day - dt.timedelta(days=dpd) if dpd else None,
            day + dt.timedelta(days=2),
        ),
    )
    if queued:
        conn.execute(
            "insert into marts.fct_work_queue values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                day,
                day + dt.timedelta(days=1),
                loan_id,
                borrower_id,
                team,
                list(channels if channels is not None else TEAM_CHANNELS.get((team or "").split(":")[0], [])),
                rank,
                reason,
                dpd,
                bucket_for(dpd),
                overdue,
            ),
        )


def add_raw(conn: psycopg.Connection, table: str, day: dt.date, line: int, **values: Any) -> None:
    """One landing row (lineage columns filled) in raw.<entity> or pii.<entity>."""
    from arrears.contract.ddl import ensure_partition

    ensure_partition(conn, table.split(".", 1)[1], day)  # typed tables are partitioned by delivery date
    columns = [*values, "_business_date", "_file", "_line", "_loaded_at"]
    placeholders = ", ".join(["%s"] * len(columns))
    conn.execute(
        f"insert into {table} ({', '.join(columns)}) values ({placeholders})",
        (*values.values(), day, f"{table}.csv", line, dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
    )


def add_borrower(conn: psycopg.Connection, day: dt.date, borrower_id: str, line: int = 1, **values: Any) -> None:
    """A borrower version delivered on `day` (defaults: a plausible Chinese borrower)."""
    row = {
        "borrower_id": borrower_id,
        "full_name": "张三丰",
        "national_id": "310101199001011234",
        "mobile_phone": "13912341234",
        "email": "zhang.san@example.com",
        "province": "上海市",
        "city": "上海市",
        "address": "上海市黄浦区南京东路1号",
        "birth_date": dt.date(1990, 1, 1),
        "updated_at": dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
    }
    row.update(values)
    add_raw(conn, "pii.borrowers", day, line, **row)
