"""Raw landing rows for the delinquency tests, written straight into raw.* (the loader is not needed).

`RawDeliveries` collects typed rows with their lineage (delivery business date, file, line) and
inserts them; `random_portfolio` makes a small seeded portfolio that exercises every §3 edge
(partial payments, prepayments, reversals, backdated deliveries, restructures, write-offs, closures).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from arrears.contract.ddl import ensure_partition

Row = dict[str, Any]
SHANGHAI = ZoneInfo("Asia/Shanghai")

LOAN_COLUMNS = [
    "loan_id",
    "borrower_id",
    "product_code",
    "principal",
    "currency",
    "annual_rate",
    "term_months",
    "disbursed_on",
    "status",
    "closed_on",
    "written_off_on",
    "updated_at",
]
INSTALLMENT_COLUMNS = [
    "loan_id",
    "schedule_version",
    "effective_from",
    "installment_no",
    "due_date",
    "principal_due",
    "interest_due",
    "fee_due",
    "updated_at",
]
PAYMENT_COLUMNS = ["payment_id", "loan_id", "received_at", "value_date", "amount", "channel", "reversal_of"]


def at(day: date, hour: int = 12) -> datetime:
    """A source timestamp (updated_at, received_at) at `hour` local time on day."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


@dataclass
class RawDeliveries:
    """Rows of raw.loans, raw.installments and raw.payments, each tagged with the delivery that brought it."""

    loans: list[Row] = field(default_factory=list)
    installments: list[Row] = field(default_factory=list)
    payments: list[Row] = field(default_factory=list)

    def _tag(self, rows: list[Row], row: Row, delivered: date) -> Row:
        tagged = {**row, "_business_date": delivered, "_line": len(rows) + 1}
        rows.append(tagged)
        return tagged

    def loan(self, delivered: date, loan_id: str, disbursed_on: date, principal: str = "1200.00", **extra: Any) -> Row:
        """Deliver a loan version (status active unless given) on `delivered`."""
        row = {
            "loan_id": loan_id,
            "borrower_id": f"B-{loan_id}",
            "product_code": "CASH",
            "principal": Decimal(principal),
            "currency": "CNY",
            "annual_rate": Decimal("0.18"),
            "term_months": 3,
            "disbursed_on": disbursed_on,
            "status": "active",
            "closed_on": None,
            "written_off_on": None,
            "updated_at": at(delivered),
        }
        row.update(extra)
        return self._tag(self.loans, row, delivered)

    def installment(
        self,
        delivered: date,
        loan_id: str,
        no: int,
        due_date: date,
        principal: str,
        interest: str = "0",
        fee: str = "0",
        version: int = 1,
        effective_from: date | None = None,
        **extra: Any,
    ) -> Row:
        """Deliver one installment of a schedule version."""
        row = {
            "loan_id": loan_id,
            "schedule_version": version,
            "effective_from": effective_from or date(2026, 1, 1),
            "installment_no": no,
            "due_date": due_date,
            "principal_due": Decimal(principal),
            "interest_due": Decimal(interest),
            "fee_due": Decimal(fee),
            "updated_at": at(delivered),
        }
        row.update(extra)
        return self._tag(self.installments, row, delivered)

    def payment(
        self,
        delivered: date,
        payment_id: str,
        loan_id: str,
        value_date: date,
        amount: str,
        reversal_of: str | None = None,
    ) -> Row:
        """Deliver a payment (or, with reversal_of, a reversal) with the given value date."""
        row = {
            "payment_id": payment_id,
            "loan_id": loan_id,
            "received_at": at(value_date),
            "value_date": value_date,
            "amount": Decimal(amount),
            "channel": "alipay",
            "reversal_of": reversal_of,
        }
        return self._tag(self.payments, row, delivered)

    def insert(self, conn: psycopg.Connection) -> None:
        """Insert every row into its raw table (replacing nothing: raw keeps every delivered version)."""
        for table, columns, rows in (
            ("raw.loans", LOAN_COLUMNS, self.loans),
            ("raw.installments", INSTALLMENT_COLUMNS, self.installments),
            ("raw.payments", PAYMENT_COLUMNS, self.payments),
        ):
            lineage = ["_business_date", "_file", "_line", "_loaded_at"]
            for business_date in sorted({row["_business_date"] for row in rows}):
                ensure_partition(conn, table.split(".")[1], business_date)
            names = ", ".join(columns + lineage)
            marks = ", ".join(["%s"] * (len(columns) + len(lineage)))
            values = []
            for row in rows:
                tail = [
                    row["_business_date"],
                    f"{table}_{row['_business_date']}.csv",
                    row["_line"],
                    at(row["_business_date"], 23),
                ]
                values.append([row[c] for c in columns] + tail)
            with conn.cursor() as cursor:
                cursor.executemany(f"insert into {table} ({names}) values ({marks})", values)


def _months_later(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, min(day.day, 28))


def random_portfolio(seed: int, loans: int, start: date, days: int) -> RawDeliveries:
    """A seeded portfolio delivered over `days` nights from `start`, touching every §3 rule edge."""
    rng = random.Random(seed)
    raw = RawDeliveries()
    for n in range(loans):
        loan_id = f"L{n:04d}"
        disbursed = start - timedelta(days=rng.randint(20, 120))
        terms = rng.randint(2, 6)
        principal = Decimal(rng.randint(6, 60) * 100)
        raw.loan(start, loan_id, disbursed, principal=str(principal), term_months=terms)
        piece = (principal / terms).quantize(Decimal("0.01"))
        schedule = []
        for no in range(1, terms + 1):
            due = _months_later(disbursed, no)
            p = piece if no < terms else principal - piece * (terms - 1)
            interest = (principal * Decimal("0.01")).quantize(Decimal("0.01"))
            fee = Decimal(rng.choice(["0", "0", "15.00"]))
            raw.installment(start, loan_id, no, due, str(p), str(interest), str(fee), effective_from=disbursed)
            schedule.append((due, p + interest + fee))
        # Payments: whole, partial, slightly short (within and outside tolerance), prepayments.
        paid_count = 0
        for due, total in schedule:
            behaviour = rng.random()
            value = due - timedelta(days=rng.randint(-10, 5))
            if behaviour < 0.35:
                amount = total
            elif behaviour < 0.45:
                amount = total - Decimal(rng.choice(["0.50", "1.00", "1.01", "3.00"]))
            elif behaviour < 0.6:
                amount = (total * Decimal(rng.choice(["0.3", "0.5"]))).quantize(Decimal("0.01"))
            elif behaviour < 0.7:
                amount = total * 2
            else:
                continue
            delivered = max(value, start)
            # Some payments are delivered late (backdated value date).
            if rng.random() < 0.2:
                delivered = delivered + timedelta(days=rng.randint(1, 4))
            if delivered >= start + timedelta(days=days):
                continue
            paid_count += 1
            pid = f"P-{loan_id}-{paid_count}"
            raw.payment(delivered, pid, loan_id, value, str(amount))
            if rng.random() < 0.1:
                reversal_value = value + timedelta(days=rng.randint(0, 6))
                reversal_delivered = max(reversal_value, delivered)
                raw.payment(reversal_delivered, f"R-{pid}", loan_id, reversal_value, str(amount), reversal_of=pid)
            if rng.random() < 0.05:
                # A redelivered event: the first delivery must win.
                raw.payment(delivered + timedelta(days=1), pid, loan_id, value + timedelta(days=9), str(amount))
        roll = rng.random()
        change_day = start + timedelta(days=rng.randint(1, max(days - 1, 1)))
        if roll < 0.08:
            raw.loan(
                change_day,
                loan_id,
                disbursed,
                principal=str(principal),
                term_months=terms,
                status="written_off",
                written_off_on=change_day,
            )
        elif roll < 0.14:
            raw.loan(
                change_day,
                loan_id,
                disbursed,
                principal=str(principal),
                term_months=terms,
                status="closed",
                closed_on=change_day - timedelta(days=rng.randint(0, 1)),
            )
        elif roll < 0.22:
            # A restructure: a new two-installment schedule from change_day.
            remaining = principal / 2
            for no in (1, 2):
                raw.installment(
                    change_day,
                    loan_id,
                    no,
                    _months_later(change_day, no),
                    str(remaining),
                    "5.00",
                    version=2,
                    effective_from=change_day,
                )
        elif roll < 0.26:
            # A corrected installment row (same key, later updated_at): the latest version wins.
            due, _ = schedule[0]
            raw.installment(
                change_day, loan_id, 1, due + timedelta(days=3), str(piece), "0", "0", effective_from=disbursed
            )
    return raw
