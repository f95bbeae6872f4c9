"""The day loop: history before the first delivery, then one delivery per day, reproducible from the seed.

Continuing a landing folder re-simulates from its first delivery date (kept in `<out>_truth/params.json`)
without writing the days that already exist: the state is a pure function of seed, size and that anchor date,
so a continued folder is byte-identical to one generated in one go.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from arrears.contract import load_contract
from arrears.generate.activity import Actions, Activity, DayChanges, end_of_day, initial_activity, simulate_actions
from arrears.generate.agencies import add_outside_placement
from arrears.generate.compliance_cases import ComplianceCases
from arrears.generate.pools import POOL_SIZE, Pools, make_pools
from arrears.generate.portfolio import PaymentBatch, Portfolio
from arrears.generate.repayment import reversal_batch, simulate_payments, start_of_day, write_off
from arrears.generate.restriction_cases import new_restrictions, with_injected_cases
from arrears.generate.rows import (
    Rows,
    action_rows,
    arrangement_rows,
    borrower_rows,
    contact_rows,
    installment_rows,
    legal_case_rows,
    loan_rows,
    payment_rows,
    restriction_rows,
)

RESERVOIR = 30  # earlier event rows kept for `event_conflict` faults


@dataclass
class Day:
    """One simulated delivery day: its rows per entity and the injected violations."""

    day: int
    rows: dict[str, Rows]
    actions: Actions
    portfolio: Portfolio
    cases: ComplianceCases
    activity: Activity
    earlier_events: dict[str, deque[list[str]]] = field(default_factory=dict)


def simulate_days(loans: int, anchor: int, last: int, seed: int, experiment: bool = False) -> Iterator[Day]:
    """Simulate the book from its history through day `last`, yielding each delivery day from `anchor` on.

    The caller formats and writes a day's rows before asking for the next one (rows are produced lazily).
    """
    pf = Portfolio(seed=seed, anchor=anchor, initial_loans=loans, experiment=experiment)
    pools = make_pools(seed)
    pf.create_initial(POOL_SIZE)
    first = int(pf.loans["disbursed"].min()) if len(pf.loans) else anchor
    for day in range(first, anchor):
        pf.pending_payments.append(simulate_payments(pf, day, delivering=False))
        write_off(pf, day)
    act = Activity()
    initial = initial_activity(pf, act, anchor)
    reservoir: dict[str, deque[list[str]]] = {
        "payments": deque(maxlen=RESERVOIR),
        "collection_actions": deque(maxlen=RESERVOIR),
    }
    contract = load_contract()
    for day in range(anchor, last + 1):
        changes = initial if day == anchor else DayChanges()
        new_start = len(pf.installments)
        pf.create_new_loans(day, POOL_SIZE)
        new_positions = np.arange(new_start, len(pf.installments))
        actions = with_injected_cases(pf, act, simulate_actions(pf, act, day, changes), day)
        actions = add_outside_placement(pf, act, actions, day)
        _, reversals = start_of_day(pf, day)
        batch = simulate_payments(pf, day, delivering=True)
        pf.pending_payments.append(batch)
        if reversals:
            pf.pending_payments.append(reversal_batch(pf, day, reversals, first_seq=len(batch.loan)))
        write_off(pf, day)
        end_of_day(pf, act, day, changes, delivering=True)
        new_restrictions(pf, act, day, changes)
        rows = _day_rows(pf, act, pools, day, day == anchor, changes, new_positions, actions)
        yield Day(
            day=day, rows=rows, actions=actions, portfolio=pf, cases=act.cases, activity=act, earlier_events=reservoir
        )
        for name in reservoir:
            count, make = rows[name]
            columns = make(0, min(3, count))
            names = contract.entity(name).column_names
            reservoir[name].extend([list(values) for values in zip(*(columns[n] for n in names), strict=True)])


def _day_rows(
    pf: Portfolio, act: Activity, pools: Pools, day: int, first: bool, changes: DayChanges,
    new_positions: np.ndarray, actions: Actions,
) -> dict[str, Rows]:  # fmt: skip
    if first:
        borrowers = np.arange(len(pf.borrowers))
        contacts = np.arange(len(pf.contacts))
        loans = np.arange(len(pf.loans))
        installments = np.arange(len(pf.installments))
        restrictions, arrangements, cases = act.restrictions, act.arrangements, act.legal_cases
    else:
        borrowers = np.nonzero(pf.borrowers["created"] == day)[0]
        contacts = np.nonzero(pf.contacts["updated"] == day)[0]
        loans = np.nonzero(pf.loans["updated"] == day)[0]
        installments = np.concatenate([new_positions, np.asarray(changes.installments, np.int64)])
        restrictions, arrangements, cases = changes.restrictions, changes.arrangements, changes.legal_cases
    return {
        "borrowers": borrower_rows(pf, pools, borrowers),
        "contact_points": contact_rows(pf, contacts),
        "loans": loan_rows(pf, loans),
        "installments": installment_rows(pf, installments),
        "payments": payment_rows(_deliverable(pf, day)),
        "collection_actions": action_rows(pf, actions),
        "arrangements": arrangement_rows(arrangements),
        "restrictions": restriction_rows(restrictions),
        "legal_cases": legal_case_rows(cases, pf.params["courts"]),
    }


def _deliverable(pf: Portfolio, day: int) -> list[PaymentBatch]:
    """Payments whose delivery day has come (backdated ones arrive days after their value date).

    A loan closed today has all its payments delivered today, however late they would otherwise arrive:
    the source closes a loan when the money is in, so the delivery that says `closed` carries the money
    that paid it off (a loan closed with principal outstanding leaves the book with a balance).
    """
    closed_today = np.nonzero(pf.loans["closed_on"] == day)[0]
    due: list[PaymentBatch] = []
    waiting: list[PaymentBatch] = []
    for batch in pf.pending_payments:
        now = (batch.deliver_day <= day) | np.isin(batch.loan, closed_today)
        if now.all():
            due.append(batch)
            continue
        if now.any():
            due.append(_subset(batch, now))
        waiting.append(_subset(batch, ~now))
    pf.pending_payments = waiting
    return due


def _subset(batch: PaymentBatch, mask: np.ndarray) -> PaymentBatch:
    return PaymentBatch(
        day=batch.day, loan=batch.loan[mask], amount=batch.amount[mask], second=batch.second[mask],
        channel=batch.channel[mask], reversal_of_day=batch.reversal_of_day[mask],
        reversal_of_seq=batch.reversal_of_seq[mask], seq=batch.seq[mask], deliver_day=batch.deliver_day[mask],
    )  # fmt: skip
