"""Stand-in marts for the gate and export tests: the §8 tables, created empty, and row builders.

The tests are unit-level: each creates exactly the rows its behaviour needs instead of running
dbt, so a failure points at the gate or the exporter, not at a model. Each table's columns and
types come from its dbt contract (`mart_ddl`), so the stand-ins cannot drift from what dbt publishes.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from typing import Any

import psycopg
import yaml

from tests.support.cli import REPO_ROOT
from tests.support.routing_spec import spec_recipient

MARTS_DIR = REPO_ROOT / "dbt_project" / "models" / "marts"
# The stand-ins of the eight §8 marts the gate and the exporters read.
STAND_IN_MARTS = (
    "fct_loan_delinquency_daily",
    "fct_work_queue",
    "fct_delinquency_episodes",
    "fct_promises_to_pay",
    "agg_roll_rates_monthly",
    "agg_vintage_curves",
    "agg_collection_performance_daily",
    "fct_compliance_violations",
    "fct_work_queue_contacts",
    "fct_arrangements",
)
# Keys the real marts hold by their unique indexes; a test that writes a row twice must see the same conflict.
STAND_IN_KEYS = {
    "fct_loan_delinquency_daily": ("business_date", "loan_id"),
    "fct_work_queue": ("business_date", "loan_id"),
}


def contract_columns(model: str) -> list[tuple[str, str]]:
    """(column, data type) of a published mart, as its dbt contract declares them."""
    (path,) = MARTS_DIR.glob(f"*/{model}.yml")
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    (node,) = [entry for entry in document["models"] if entry["name"] == model]
    return [(column["name"], column["data_type"]) for column in node["columns"]]


def mart_ddl(model: str) -> str:
    """`create table` of a stand-in mart, derived from its dbt contract (every column nullable: a test writes
    only the columns its behaviour needs), so the stand-ins cannot drift from what dbt publishes."""
    columns = [f"{name} {data_type}" for name, data_type in contract_columns(model)]
    if model in STAND_IN_KEYS:
        columns.append(f"primary key ({', '.join(STAND_IN_KEYS[model])})")
    return f"create table if not exists marts.{model} ({', '.join(columns)})"


TEAM_CHANNELS = {
    "predue": ["sms", "app_push"],
    "early": ["call", "sms"],
    "mid": ["call", "sms", "email"],
    "field": ["visit"],
    "legal": ["letter", "legal_notice"],
    "agency": ["call", "sms", "letter"],
}


# The gate's volume bands read the trailing nights' counts from agg_row_counts_daily, which the build
# keeps per night; here a view counts the stand-ins, so the rows a test writes are counted as the build would.
ROW_COUNTS_VIEW = """
create or replace view marts.agg_row_counts_daily as
select business_date, 'fct_loan_delinquency_daily'::text as relation_name, null::text as team_id,
    count(*)::integer as row_count
from marts.fct_loan_delinquency_daily group by business_date
union all
select business_date, 'fct_work_queue', team_id, count(*)::integer from marts.fct_work_queue
group by business_date, team_id
"""


# The report's delinquency-rate trend reads the snapshot's loans per night and stage, kept by the build; here
# a view counts the stand-in snapshot the same way.
STAGE_COUNTS_VIEW = """
create or replace view marts.agg_delinquency_stages_daily as
select business_date, stage, count(*)::integer as loans
from marts.fct_loan_delinquency_daily group by business_date, stage
"""


def _right_party_outcomes() -> str:
    """The outcomes the action_outcomes seed counts as a right-party contact, as an SQL list."""
    with (REPO_ROOT / "dbt_project" / "seeds" / "action_outcomes.csv").open(encoding="utf-8") as seed:
        rows = list(csv.DictReader(seed))
    return ", ".join(f"'{row['outcome']}'" for row in rows if row["is_right_party_contact"] == "true")


# The exports read payments and actions as first delivered from the build's stored tables (§1: an event is kept
# from its first delivery); here views over the landing rows a test writes give the columns the exports read.
def stored_views() -> list[str]:
    return [
        "create schema if not exists stored",
        """create or replace view stored.stored_payments as
        select distinct on (payment_id) payment_id, loan_id, value_date, amount, reversal_of,
            reversal_of is not null as is_reversal, _business_date as delivered_on
        from raw.payments order by payment_id, _business_date, _line""",
        f"""create or replace view stored.stored_collection_actions as
        select distinct on (action_id) action_id, loan_id, direction,
            (action_at at time zone 'Asia/Shanghai')::date as action_local_date,
            coalesce(outcome in ({_right_party_outcomes()}), false) as is_right_party_contact,
            _business_date as delivered_on
        from raw.collection_actions order by action_id, _business_date, _line""",
    ]


def create_marts(conn: psycopg.Connection) -> None:
    """Create the stand-in published marts, empty, the per-night counts over them and the stored events."""
    for model in STAND_IN_MARTS:
        conn.execute(mart_ddl(model))
    conn.execute(ROW_COUNTS_VIEW)
    conn.execute(STAGE_COUNTS_VIEW)
    for statement in stored_views():
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
        """insert into marts.fct_loan_delinquency_daily (
               business_date, loan_id, borrower_id, product_code, loan_status, principal, schedule_version, dpd,
               bucket, stage, regulatory_class, overdue_principal, overdue_interest, overdue_fee, overdue_amount,
               outstanding_principal, net_paid, oldest_unpaid_due_date, next_due_date
           ) values (%s, %s, %s, 'CASH', 'active', %s, 1, %s, %s, %s, 'normal', %s, 0, 0, %s, %s, %s, %s, %s)""",
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
        allowed = list(channels if channels is not None else TEAM_CHANNELS.get((team or "").split(":")[0], []))
        conn.execute(
            "insert into marts.fct_work_queue (business_date, work_date, loan_id, borrower_id, team_id,"
            " allowed_channels, priority_rank, reason, dpd, bucket, overdue_amount, recipient)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                day,
                day + dt.timedelta(days=1),
                loan_id,
                borrower_id,
                team,
                allowed,
                rank,
                reason,
                dpd,
                bucket_for(dpd),
                overdue,
                spec_recipient(team, allowed),  # as the build routes it (business rules §5)
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


def add_contact_number(
    conn: psycopg.Connection,
    day: dt.date,
    loan_id: str,
    borrower_id: str,
    contact_point_id: str,
    kind: str,
    phone: str,
    relationship: str | None = None,
) -> None:
    """A number offered for a queue row (marts.fct_work_queue_contacts) and its landing row (pii.contact_points)."""
    third_party = kind in ("emergency_contact", "employer")
    conn.execute(
        "insert into marts.fct_work_queue_contacts (business_date, loan_id, contact_point_id, kind, locate_only)"
        " values (%s, %s, %s, %s, %s)",
        (day, loan_id, contact_point_id, kind, third_party),
    )
    line = conn.execute("select count(*) + 1 from pii.contact_points").fetchone()[0]  # type: ignore[index]
    add_raw(
        conn,
        "pii.contact_points",
        day,
        line,
        contact_point_id=contact_point_id,
        borrower_id=borrower_id,
        kind=kind,
        relationship=relationship or ("colleague" if third_party else None),
        phone=phone,
        is_valid=True,
        updated_at=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
    )
