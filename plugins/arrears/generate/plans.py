"""Settlements, repayment plans and legal cases as the simulator intends them, with their ground truth.

A settlement is agreed for half of what the loan owes, to be paid by `settle_by`; a share of borrowers
never pay it (broken the day after `settle_by`), the others pay it in one payment on a day before
`settle_by` (kept on that value date). While a settlement waits for its payment the loan gets no other
recovery, so nothing but the settlement's own payment (or a bounce of it) decides how it ends.
Plans are judged every simulated day by the rule of business-rules §9 on the simulator's own state
(the oldest unpaid installment); legal cases record the day they enter each status.
The ground truth they leave in the records is written by `plans_truth`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

from arrears.generate.portfolio import CLOSED, Portfolio


class Record(Protocol):
    """An activity record (arrears.generate.activity.Record, which imports this module)."""

    id: int
    values: dict[str, Any]
    next_day: int


# §9 arrangement_break_dpd (dbt var, default 30): the simulator's truth uses the same number.
BREAK_DPD = 30
PLAN_KINDS = ("repayment_plan", "restructure")


def _draws(pf: Portfolio, day: int, loan: int) -> np.ndarray:
    """Draws of their own for one settlement: the book's other random streams stay as they were."""
    return np.random.default_rng([pf.seed, day, loan, 923]).random(3)


def agree_settlement(pf: Portfolio, record: Record, owed: int, day: int) -> None:
    """Terms of a settlement agreed on `day` for a loan owing `owed` cents, and whether it will be paid."""
    p = pf.params["collections"]
    pays_draw, pay_draw, grace_draw = _draws(pf, day, int(record.values["loan"]))
    amount = int(round(owed * 0.5, -2))
    pay_day = day + 1 + int(pay_draw * 10)
    settle_by = pay_day + int(grace_draw * (p.get("settlement_grace_days", 5) + 1))
    pays = bool(pays_draw >= p.get("settlement_broken_share", 0.3))
    loan = int(record.values["loan"])
    record.values.update(settlement_amount=amount, settle_by=settle_by, pays=pays)
    if pays:
        pf.loans["ptp_day"][loan], pf.loans["ptp_amount"][loan] = pay_day, amount
        pf.loans["frozen_until"][loan] = max(int(pf.loans["frozen_until"][loan]), pay_day - 1)
        record.values["truth"] = ("kept", pay_day)
    else:
        pf.loans["frozen_until"][loan] = max(int(pf.loans["frozen_until"][loan]), settle_by)
        record.values["truth"] = ("broken", settle_by + 1)
    record.next_day = settle_by + 1  # the source reports the outcome the day after settle_by


def settlement_kept(record: Record) -> bool:
    """What the source reports the day after settle_by."""
    return bool(record.values.get("pays"))


def judge_plans(pf: Portfolio, arrangements: Iterable[Record], day: int) -> None:
    """§9 on the simulator's state at the end of `day`: the first day each plan is completed or broken.

    A plan without its own schedule is completed once the arrears it was agreed on are paid (the oldest
    unpaid installment falls due on or after agreed_on); one with its own schedule once the loan is paid
    off. Broken once the oldest unpaid installment is BREAK_DPD days late, counted from agreed_on for an
    installment due before the plan.
    """
    loans = pf.loans
    for record in arrangements:
        values = record.values
        if values["kind"] not in PLAN_KINDS or "truth" in values or day <= values["agreed_on"]:
            continue
        loan, agreed = int(values["loan"]), int(values["agreed_on"])
        oldest_unpaid = int(loans["first_unpaid_due"][loan])
        if loans["status"][loan] == CLOSED:
            values["truth"] = ("completed", day)
        elif values["new_schedule_version"] is None and oldest_unpaid >= agreed:
            values["truth"] = ("completed", day)
        elif day >= max(oldest_unpaid, agreed) + BREAK_DPD:
            values["truth"] = ("broken", day)


def enter_status(record: Record, status: str, day: int) -> None:
    """A legal case entered `status` on `day` (its delivered version carries that day)."""
    record.values.setdefault("history", []).append((status, day))
