"""The simulated portfolio: borrowers, contact points, loans and schedules as numpy arrays, and repayments.

Every random draw comes from a generator seeded with (seed, day, purpose), and days are simulated in order
from the first delivery's history, so the state at any day is a pure function of the seed and the anchor date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arrears.generate.identity import AREA_CODES, mobile_numbers
from arrears.generate.params import load_params
from arrears.generate.schedule import amortise

NEVER = 2**40  # a day number later than any simulated day
TOLERANCE_CENTS = 100  # business rule: an installment is paid when at most 1.00 remains

TYPES = ["reliable", "occasional_late", "partial", "roller", "early_payoff"]
ROLLER, EARLY_PAYOFF = TYPES.index("roller"), TYPES.index("early_payoff")
PRODUCTS = ["cash_loan", "installment_purchase"]
CP_KINDS = ["own_mobile", "own_home", "own_work", "emergency_contact", "employer"]
RELATIONSHIPS = ["spouse", "parent", "sibling", "friend", "colleague", "other"]
ACTIVE, CLOSED, WRITTEN_OFF = 0, 1, 2
PAYMENT_CHANNELS = ["bank_transfer", "alipay", "wechat_pay", "card", "agency", "court", "other"]

# Purposes of the per-day random generators (never reorder: it would change every output).
RNG_INITIAL, RNG_NEW_LOANS, RNG_PAYMENTS, RNG_ACTIONS, RNG_EVENTS, RNG_VIOLATIONS, RNG_FAULTS = range(7)


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    """Day numbers as yyyymmdd integers."""
    dates = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year * 10000 + month * 100 + day


def day_rng(seed: int, day: int, purpose: int) -> np.random.Generator:
    """The generator for one purpose on one day: independent of how many days a run covers."""
    return np.random.default_rng([seed & 0xFFFFFFFF, day, purpose])


class Table:
    """A growable set of equally long numpy columns."""

    def __init__(self, **columns: np.ndarray) -> None:
        self.columns: dict[str, np.ndarray] = dict(columns)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        self.columns[name] = values

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def append(self, **columns: np.ndarray) -> np.ndarray:
        """Append rows (every column given) and return their indices."""
        start = len(self)
        for name in self.columns:
            self.columns[name] = np.concatenate([self.columns[name], columns[name].astype(self.columns[name].dtype)])
        return np.arange(start, len(self))


def _empty(**dtypes: Any) -> Table:
    return Table(**{name: np.zeros(0, dtype=dtype) for name, dtype in dtypes.items()})


@dataclass
class PaymentBatch:
    """Payments created on one value date (amount > 0) or reversals (reversal_of >= 0)."""

    day: int
    loan: np.ndarray
    amount: np.ndarray
    second: np.ndarray
    channel: np.ndarray
    reversal_of_day: np.ndarray
    reversal_of_seq: np.ndarray
    seq: np.ndarray  # payment_id sequence within `day`
    deliver_day: np.ndarray


@dataclass
class Portfolio:
    """All simulator state."""

    seed: int
    anchor: int  # day number of the first delivery
    initial_loans: int
    params: dict[str, Any] = field(default_factory=load_params)
    experiment: bool = False  # the simulated experiment of behaviour.yml is on (generate/experiment.py)
    experiment_arms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # each loan's arm
    borrowers: Table = field(init=False)
    contacts: Table = field(init=False)
    loans: Table = field(init=False)
    installments: Table = field(init=False)
    pending_payments: list[PaymentBatch] = field(default_factory=list)  # not yet delivered
    reversals_due: dict[int, list[tuple[int, int, int, int]]] = field(
        default_factory=dict
    )  # day -> (loan, amount, day, seq)
    schedule_switches: dict[int, list[tuple[int, int, int, int]]] = field(
        default_factory=dict
    )  # day -> (loan, off, n, version)

    def __post_init__(self) -> None:
        self.borrowers = _empty(
            name=np.int32, address=np.int32, province=np.int16, city=np.int16, company=np.int32, email=np.int32,
            area=np.int64, birth=np.int64, id_seq=np.int64, mobile=np.int64, cp_off=np.int64, cp_n=np.int64,
            created=np.int64,
        )  # fmt: skip
        self.contacts = _empty(
            borrower=np.int64, kind=np.int8, relationship=np.int8, phone=np.int64, valid=np.bool_,
            called=np.bool_, last_failed=np.bool_, updated=np.int64,
        )  # fmt: skip
        self.loans = _empty(
            borrower=np.int64, product=np.int8, principal=np.int64, rate=np.float64, term=np.int64, disbursed=np.int64,
            status=np.int8, closed_on=np.int64, written_off_on=np.int64, type=np.int8, trigger_k=np.int64,
            version=np.int64, off=np.int64, n=np.int64, effective=np.int64, paid=np.int64, paid_count=np.int64,
            first_unpaid_due=np.int64, frozen_until=np.int64, ptp_day=np.int64, ptp_amount=np.int64,
            promise_until=np.int64, last_rpc=np.int64, agency=np.int8, legal_open=np.bool_, updated=np.int64,
        )  # fmt: skip
        self.installments = _empty(
            due=np.int64, principal=np.int64, interest=np.int64, fee=np.int64, cum_due=np.int64, cum_principal=np.int64,
            loan=np.int64, version=np.int64, effective=np.int64, number=np.int64,
        )  # fmt: skip

    # ------------------------------------------------------------------ creation

    def add_borrowers(self, rng: np.random.Generator, created: np.ndarray, pool_size: int) -> np.ndarray:
        """New borrowers (created on the given days) with their contact points; returns their indices."""
        count = len(created)
        age_days = rng.integers(21 * 365, 60 * 365, count)
        birth_int = yyyymmdd(created - age_days)
        has_home = rng.random(count) < 0.3
        has_work = rng.random(count) < 0.2
        has_employer = rng.random(count) < 0.5
        cp_n = 2 + has_home + has_work + has_employer
        cp_off = len(self.contacts) + np.concatenate([[0], np.cumsum(cp_n)[:-1]]).astype(np.int64)
        mobile = mobile_numbers(rng, count)
        index = self.borrowers.append(
            name=rng.integers(0, pool_size, count), address=rng.integers(0, pool_size, count),
            province=rng.integers(0, 64, count), city=rng.integers(0, 256, count),
            company=rng.integers(0, pool_size // 4, count), email=rng.integers(0, pool_size, count),
            area=np.asarray(AREA_CODES)[rng.integers(0, len(AREA_CODES), count)], birth=birth_int,
            id_seq=rng.integers(0, 1000, count), mobile=mobile, cp_off=cp_off, cp_n=cp_n, created=created,
        )  # fmt: skip
        # Contact points per borrower in kind order: own_mobile, [own_home], [own_work], emergency, [employer].
        kinds = np.concatenate([np.zeros(count, np.int8), np.full(count, 1, np.int8), np.full(count, 2, np.int8),
                                np.full(count, 3, np.int8), np.full(count, 4, np.int8)])  # fmt: skip
        owner = np.tile(index, 5)
        present = np.concatenate([np.ones(count, bool), has_home, has_work, np.ones(count, bool), has_employer])
        order = np.lexsort((kinds, owner))
        order = order[present[order]]
        kinds, owner = kinds[order], owner[order]
        total = len(order)
        phone = mobile_numbers(rng, total)
        phone[kinds == 0] = mobile  # the own mobile is the borrower's registered number
        relationship = np.where(kinds == 3, rng.integers(0, 4, total), np.where(kinds == 4, 4, -1))
        # Some numbers are known to be wrong from the start (never the registered mobile of most borrowers).
        valid = rng.random(total) >= np.where(kinds == 0, 0.01, 0.04)
        self.contacts.append(
            borrower=owner, kind=kinds, relationship=relationship, phone=phone, valid=valid,
            called=np.zeros(total, bool), last_failed=np.zeros(total, bool), updated=created[owner - index[0]],
        )  # fmt: skip
        return index

    def add_loans(self, rng: np.random.Generator, borrower: np.ndarray, disbursed: np.ndarray) -> np.ndarray:
        """New loans with their version-1 schedules and a repayment behaviour; returns their indices."""
        p = self.params
        count = len(borrower)
        products = list(p["products"].values())
        product = (rng.random(count) >= products[0]["share"]).astype(np.int8)
        term = np.zeros(count, np.int64)
        principal = np.zeros(count, np.int64)
        rate = np.zeros(count)
        fee_rate = np.zeros(count)
        for code, spec in enumerate(products):
            members = np.nonzero(product == code)[0]
            m = len(members)
            weights = np.asarray(spec["term_weights"], float)
            term[members] = np.asarray(spec["terms"])[rng.choice(len(weights), m, p=weights / weights.sum())]
            amount = spec["principal_median"] * np.exp(rng.normal(0, spec["principal_sigma"], m))
            amount = np.clip(np.round(amount / 100) * 100, spec["principal_min"], spec["principal_max"])
            principal[members] = (amount * 100).astype(np.int64)
            rate[members] = np.round(rng.uniform(spec["rate_min"], spec["rate_max"], m), 4)
            fee_rate[members] = spec["monthly_fee_rate"]
        shares = np.asarray([t["share"] for t in p["borrower_types"].values()], float)
        kind = rng.choice(len(shares), count, p=shares / shares.sum()).astype(np.int8)
        # roller: the installment from which it stops paying; early_payoff: the one with which it pays off.
        trigger_k = (rng.random(count) * term).astype(np.int64)
        schedules = amortise(principal, rate, term, fee_rate, disbursed)
        start = len(self.installments)
        index = np.arange(len(self.loans), len(self.loans) + count)
        self._append_schedules(index, schedules, np.ones(count, np.int64), disbursed, term)
        self.loans.append(
            borrower=borrower, product=product, principal=principal, rate=rate, term=term, disbursed=disbursed,
            status=np.zeros(count), closed_on=np.full(count, -1), written_off_on=np.full(count, -1), type=kind,
            trigger_k=trigger_k, version=np.ones(count), off=start + schedules.offsets, n=term, effective=disbursed,
            paid=np.zeros(count), paid_count=np.zeros(count), first_unpaid_due=schedules.due_day[schedules.offsets],
            frozen_until=np.full(count, -1), ptp_day=np.full(count, -1), ptp_amount=np.zeros(count),
            promise_until=np.full(count, -1), last_rpc=np.full(count, -(10**6)),
            agency=rng.integers(0, len(p["collections"]["agencies"]), count), legal_open=np.zeros(count, bool),
            updated=disbursed,
        )  # fmt: skip
        return index

    def _append_schedules(
        self, loans: np.ndarray, schedules: Any, version: np.ndarray, effective: np.ndarray, terms: np.ndarray
    ) -> None:
        owner = np.repeat(np.arange(len(loans)), terms)
        total_due = schedules.principal + schedules.interest + schedules.fee
        starts = np.repeat(schedules.offsets, terms)
        cum_due = np.cumsum(total_due)
        cum_principal = np.cumsum(schedules.principal)
        # Cumulative sums restart at each schedule: subtract the running total before the schedule's first row.
        before_due = np.concatenate([[0], cum_due])[starts]
        before_principal = np.concatenate([[0], cum_principal])[starts]
        self.installments.append(
            due=schedules.due_day, principal=schedules.principal, interest=schedules.interest, fee=schedules.fee,
            cum_due=cum_due - before_due, cum_principal=cum_principal - before_principal, loan=loans[owner],
            version=version[owner], effective=effective[owner], number=np.arange(len(owner)) - starts + 1,
        )  # fmt: skip

    def create_initial(self, pool_size: int) -> None:
        """The book at the first delivery: loans disbursed over the previous `history_days`, growing over time."""
        p = self.params["portfolio"]
        rng = day_rng(self.seed, self.anchor, RNG_INITIAL)
        count = self.initial_loans
        history = int(p["history_days"])
        weights = 1.0 + (float(p["history_growth"]) - 1.0) * np.linspace(0.0, 1.0, history)
        disbursed = np.sort(self.anchor - history + rng.choice(history, count, p=weights / weights.sum()))
        self._add_loans_with_borrowers(rng, disbursed, float(p["repeat_borrower_share"]), pool_size)

    def create_new_loans(self, day: int, pool_size: int) -> np.ndarray:
        """Loans disbursed on a delivery day (most to new borrowers)."""
        p = self.params["portfolio"]
        rng = day_rng(self.seed, day, RNG_NEW_LOANS)
        count = int(rng.poisson(self.initial_loans * float(p["new_loans_per_day"])))
        return self._add_loans_with_borrowers(
            rng, np.full(count, day, np.int64), float(p["repeat_borrower_share"]), pool_size
        )

    def _add_loans_with_borrowers(
        self, rng: np.random.Generator, disbursed: np.ndarray, repeat_share: float, pool_size: int
    ) -> np.ndarray:
        count = len(disbursed)
        existing = len(self.borrowers)
        repeat = rng.random(count) < repeat_share
        if existing == 0 and count:
            repeat[0] = False
        new_count = int((~repeat).sum())
        new_index = self.add_borrowers(rng, disbursed[~repeat], pool_size) if new_count else np.zeros(0, np.int64)
        borrower = np.zeros(count, np.int64)
        borrower[~repeat] = new_index
        # A repeat loan goes to a borrower who already existed when it was disbursed.
        known_before = existing + np.cumsum(~repeat) - (~repeat)
        borrower[repeat] = (rng.random(int(repeat.sum())) * known_before[repeat]).astype(np.int64)
        return self.add_loans(rng, borrower, disbursed)

    # ------------------------------------------------------------------ repayment state

    def refresh(self, loans: np.ndarray, day: int) -> np.ndarray:
        """Recompute paid installments and the oldest unpaid due date; close fully paid loans. Returns closed ones."""
        if len(loans) == 0:
            return loans
        off, n, paid = self.loans["off"][loans], self.loans["n"][loans], self.loans["paid"][loans]
        width = int(n.max())
        positions = off[:, None] + np.arange(width)[None, :]
        inside = np.arange(width)[None, :] < n[:, None]
        cum_due = self.installments["cum_due"][np.where(inside, positions, off[:, None])]
        paid_count = ((cum_due <= paid[:, None] + TOLERANCE_CENTS) & inside).sum(axis=1)
        self.loans["paid_count"][loans] = paid_count
        unpaid = paid_count < n
        self.loans["first_unpaid_due"][loans] = np.where(
            unpaid, self.installments["due"][off + np.minimum(paid_count, n - 1)], NEVER
        )
        closing = loans[~unpaid & (self.loans["status"][loans] == ACTIVE)]
        self.loans["status"][closing] = CLOSED
        self.loans["closed_on"][closing] = day
        self.loans["updated"][closing] = day
        return closing

    def dpd(self, day: int, loans: np.ndarray | None = None) -> np.ndarray:
        """Days past due at the end of `day` (0 when nothing is overdue)."""
        fud = self.loans["first_unpaid_due"] if loans is None else self.loans["first_unpaid_due"][loans]
        return np.maximum(day - fud, 0)

    def remaining(self, loans: np.ndarray) -> np.ndarray:
        """What is left to pay on the schedule in force (cents)."""
        last = self.loans["off"][loans] + self.loans["n"][loans] - 1
        return np.maximum(self.installments["cum_due"][last] - self.loans["paid"][loans], 0)

    def due_through(self, loans: np.ndarray, day: int) -> np.ndarray:
        """Amount that makes the loan current through `day` (at least the next installment)."""
        off, n, pc = self.loans["off"][loans], self.loans["n"][loans], self.loans["paid_count"][loans]
        window = 8  # more than 180 DPD of monthly installments is never needed: the loan is written off by then
        k = pc[:, None] + np.arange(window)[None, :]
        inside = k < n[:, None]
        due = self.installments["due"][off[:, None] + np.minimum(k, n[:, None] - 1)]
        count = ((due <= day) & inside).sum(axis=1)
        last = np.minimum(pc + np.maximum(count, 1) - 1, n - 1)
        return np.maximum(self.installments["cum_due"][off + last] - self.loans["paid"][loans], 0)

    def outstanding_principal(self, loans: np.ndarray) -> np.ndarray:
        """Principal of the schedule in force minus principal of fully paid installments (cents, approximate for
        a partly paid installment, which the simulator only needs for thresholds)."""
        off, n, pc = self.loans["off"][loans], self.loans["n"][loans], self.loans["paid_count"][loans]
        total = self.installments["cum_principal"][off + n - 1]
        paid = np.where(pc > 0, self.installments["cum_principal"][off + np.maximum(pc - 1, 0)], 0)
        return total - paid

    def exact_outstanding_principal(self, loan: int) -> int:
        """Outstanding principal by the business-rule waterfall (fee, interest, then principal, oldest first)."""
        off, n = int(self.loans["off"][loan]), int(self.loans["n"][loan])
        money = int(self.loans["paid"][loan])
        outstanding = 0
        for position in range(off, off + n):
            fee, interest = int(self.installments["fee"][position]), int(self.installments["interest"][position])
            principal = int(self.installments["principal"][position])
            money -= fee + interest
            allocated = min(max(money, 0), principal)
            money -= allocated
            outstanding += principal - allocated
        return outstanding
