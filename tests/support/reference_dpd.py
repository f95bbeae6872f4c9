"""An independent Python implementation of business rules §1-4, to check the dbt marts against.

Written from the spec, not from the SQL: it pours each loan's net paid into the installments
one component at a time (a loop, where the SQL uses running sums), and it hard-codes the §4
tables rather than reading the seeds. Inputs are raw rows as inserted into raw.* (with their
lineage columns `_business_date` and `_line`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

Row = dict[str, Any]

TOLERANCE = Decimal("1.00")
PREDUE_DAYS = 3

# §4, from the spec's table: (lowest DPD, bucket, stage).
BUCKETS = [
    (0, "M0", "current"),
    (1, "M1", "early"),
    (31, "M2", "mid"),
    (61, "M3", "mid"),
    (91, "M4", "late"),
    (121, "M5", "late"),
    (151, "M6", "late"),
    (181, "M7+", "late"),
]
CLASSES = [(0, "normal"), (1, "special_mention"), (91, "substandard"), (271, "doubtful"), (361, "loss")]


@dataclass(frozen=True)
class LoanState:
    """The expected snapshot row of one loan at D (the published columns the spec defines)."""

    loan_id: str
    dpd: int
    bucket: str
    stage: str
    regulatory_class: str
    overdue_principal: Decimal
    overdue_interest: Decimal
    overdue_fee: Decimal
    overdue_amount: Decimal
    outstanding_principal: Decimal
    oldest_unpaid_due_date: date | None
    next_due_date: date | None
    oldest_unsettled_due_date: date | None


def _known_versions(rows: list[Row], key: tuple[str, ...], day: date) -> dict[tuple[Any, ...], Row]:
    """§1 upserts: per key, the version with the latest updated_at (then later delivery, then line) known at day."""
    chosen: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        if row["_business_date"] > day:
            continue
        k = tuple(row[c] for c in key)
        rank = (row["updated_at"], row["_business_date"], row["_line"])
        current = chosen.get(k)
        if current is None or rank > (current["updated_at"], current["_business_date"], current["_line"]):
            chosen[k] = row
    return chosen


def _known_events(rows: list[Row], key: str, day: date) -> list[Row]:
    """§1 events: each key once, its first delivery, among deliveries on or before day."""
    first: dict[Any, Row] = {}
    for row in sorted(rows, key=lambda r: (r["_business_date"], r["_line"])):
        if row["_business_date"] <= day and row[key] not in first:
            first[row[key]] = row
    return list(first.values())


def _lookup(table: list[tuple[int, str, str]] | list[tuple[int, str]], dpd: int) -> tuple[str, ...]:
    """The last entry of a (lowest DPD, ...) table whose lowest DPD is <= dpd."""
    found = table[0]
    for entry in table:
        if dpd >= entry[0]:
            found = entry
    return found[1:]


def snapshot(loans: list[Row], installments: list[Row], payments: list[Row], day: date) -> dict[str, LoanState]:
    """The expected fct_loan_delinquency_daily rows of business date `day`, by loan_id."""
    known_loans = _known_versions(loans, ("loan_id",), day)
    known_installments = list(
        _known_versions(installments, ("loan_id", "schedule_version", "installment_no"), day).values()
    )
    known_payments = _known_events(payments, "payment_id", day)
    by_id = {p["payment_id"]: p for p in known_payments}

    result: dict[str, LoanState] = {}
    for (loan_id,), loan in known_loans.items():
        status = loan["status"] or "active"
        if loan["disbursed_on"] > day:
            continue
        closed_from = (loan["closed_on"] or loan["_business_date"]) if status == "closed" else None
        if closed_from is not None and closed_from < day:
            continue
        written_off_from = (loan["written_off_on"] or loan["_business_date"]) if status == "written_off" else None
        written_off = written_off_from is not None and written_off_from <= day

        # §2: the highest version whose effective_from <= day.
        mine = [i for i in known_installments if i["loan_id"] == loan_id]
        effective = {}
        for inst in mine:
            v = inst["schedule_version"]
            effective[v] = min(effective.get(v, inst["effective_from"]), inst["effective_from"])
        in_force = [v for v, eff in effective.items() if eff <= day]
        if in_force:
            version = max(in_force)
            schedule = sorted(
                (i for i in mine if i["schedule_version"] == version),
                key=lambda i: (i["due_date"], i["installment_no"]),
            )
            version_from = effective[version]
        else:
            schedule, version_from = [], day

        # §3: net paid towards this version.
        net = Decimal("0")
        for p in known_payments:
            if p["loan_id"] != loan_id:
                continue
            if p["reversal_of"] is None:
                if version_from <= p["value_date"] <= day:
                    net += p["amount"]
            else:
                original = by_id.get(p["reversal_of"])
                original_date = original["value_date"] if original else p["value_date"]
                if original_date >= version_from and max(p["value_date"], original_date) <= day:
                    net -= p["amount"]
        money = max(net, Decimal("0"))

        overdue = {"principal": Decimal("0"), "interest": Decimal("0"), "fee": Decimal("0")}
        principal_left = Decimal("0")
        oldest_unpaid: date | None = None
        next_due: date | None = None
        oldest_unsettled: date | None = None
        due_soon = False
        for inst in schedule:
            remainder = Decimal("0")
            for part in ("fee", "interest", "principal"):
                due = inst[f"{part}_due"]
                paid = min(due, money)
                money -= paid
                unpaid = due - paid
                remainder += unpaid
                if inst["due_date"] < day:
                    overdue[part] += unpaid
                if part == "principal":
                    principal_left += unpaid
            if remainder > 0 and oldest_unsettled is None:
                oldest_unsettled = inst["due_date"]
            if remainder > TOLERANCE:
                if oldest_unpaid is None:
                    oldest_unpaid = inst["due_date"]
                if next_due is None and inst["due_date"] >= day:
                    next_due = inst["due_date"]
                if 0 < (inst["due_date"] - day).days <= PREDUE_DAYS:
                    due_soon = True
        if not schedule:
            principal_left = loan["principal"]

        dpd = (day - oldest_unpaid).days if oldest_unpaid is not None and oldest_unpaid < day else 0
        bucket, stage = _lookup(BUCKETS, dpd)
        if written_off:
            stage = "written_off"
        elif dpd == 0 and due_soon:
            stage = "pre_due"
        (regulatory_class,) = _lookup(CLASSES, dpd)
        result[loan_id] = LoanState(
            loan_id=loan_id,
            dpd=dpd,
            bucket=bucket,
            stage=stage,
            regulatory_class=regulatory_class,
            overdue_principal=overdue["principal"],
            overdue_interest=overdue["interest"],
            overdue_fee=overdue["fee"],
            overdue_amount=sum(overdue.values(), Decimal("0")),
            outstanding_principal=principal_left,
            oldest_unpaid_due_date=oldest_unpaid,
            next_due_date=next_due,
            oldest_unsettled_due_date=oldest_unsettled,
        )
    return result
