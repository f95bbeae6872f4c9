"""Settlements, repayment plans and legal cases as the simulator intends them, with their ground truth.

A settlement is agreed for half of what the loan owes, to be paid by `settle_by`; a share of borrowers
never pay it (broken the day after `settle_by`), the others pay it in one payment on a day before
`settle_by` (kept on that value date). While a settlement waits for its payment the loan gets no other
recovery, so nothing but the settlement's own payment (or a bounce of it) decides how it ends.
Plans are judged every simulated day by the rule of business-rules §9 on the simulator's own state
(the oldest unpaid installment); legal cases record the day they enter each status.
The ground truth is written beside the landing folder (`arrears.generate.run.truth_folder`):
`arrangements.csv` and `legal_case_statuses.csv`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from arrears.generate.portfolio import CLOSED, Portfolio

if TYPE_CHECKING:
    from arrears.generate.activity import Record

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


def write_truth(truth: Path, arrangements: list[Record], cases: list[Record], last_day: int) -> None:
    """The intended outcome of every arrangement and the status dates of every legal case, as of `last_day`."""
    from arrears.generate.rows import dates, money

    def date(day: int | None) -> str:
        return "" if day is None else dates(np.asarray([day]))[0]

    with (truth / "arrangements.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arrangement_id", "loan_id", "kind", "agreed_on", "settlement_amount", "settle_by",
                         "status", "status_on"])  # fmt: skip
        for record in arrangements:
            values: dict[str, Any] = record.values
            status, on = values.get("truth", ("performing", None))
            if on is not None and on > last_day:
                status, on = "performing", None  # decided after the last delivered day
            amount = values.get("settlement_amount")
            writer.writerow([
                f"AR{record.id:09d}", f"L{values['loan'] + 1:010d}", values["kind"], date(values["agreed_on"]),
                "" if amount is None else money(np.asarray([amount]))[0], date(values.get("settle_by")),
                status, date(on),
            ])  # fmt: skip
    with (truth / "legal_case_statuses.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "loan_id", "status", "entered_on"])
        for record in cases:
            values = record.values
            entered: dict[str, int] = {"referred": int(values["opened_on"])}
            for status, day in values.get("history", []):
                if day <= last_day:
                    entered.setdefault(status, int(day))
            for status, day in entered.items():
                writer.writerow([f"LC{record.id:09d}", f"L{values['loan'] + 1:010d}", status, date(day)])
