"""One day of repayments: who pays what, bounced payments and their reversals, backdating, write-offs."""

from __future__ import annotations

import numpy as np

from arrears.generate.experiment import cure_hazard_factor
from arrears.generate.portfolio import (
    ACTIVE,
    CLOSED,
    EARLY_PAYOFF,
    NEVER,
    PAYMENT_CHANNELS,
    RNG_PAYMENTS,
    ROLLER,
    WRITTEN_OFF,
    PaymentBatch,
    Portfolio,
    day_rng,
)

AGENCY, COURT = PAYMENT_CHANNELS.index("agency"), PAYMENT_CHANNELS.index("court")


def _type_parameter(pf: Portfolio, name: str) -> np.ndarray:
    return np.asarray([spec[name] for spec in pf.params["borrower_types"].values()], float)


def start_of_day(pf: Portfolio, day: int) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Restructured schedules taking effect today and reversals of bounced payments.

    Returns the loans whose state changed (closed ones included) and today's reversals.
    """
    touched: list[int] = []
    for loan, off, n, version in pf.schedule_switches.pop(day, []):
        pf.loans["off"][loan], pf.loans["n"][loan], pf.loans["version"][loan] = off, n, version
        pf.loans["effective"][loan] = day
        pf.loans["paid"][loan] = 0  # payments before effective_from belong to the old schedule
        touched.append(loan)
    reversals = pf.reversals_due.pop(day, [])
    for loan, amount, _, _ in reversals:
        pf.loans["paid"][loan] -= amount
        touched.append(loan)
    changed = np.unique(np.asarray(touched, np.int64))
    pf.refresh(changed, day)
    return changed, reversals


def simulate_payments(pf: Portfolio, day: int, delivering: bool) -> PaymentBatch:
    """Payments with value date `day`. On delivery days some bounce (reversed later) or arrive late (backdated)."""
    p = pf.params
    rng = day_rng(pf.seed, day, RNG_PAYMENTS)
    loans = pf.loans
    status, fud, kind = loans["status"], loans["first_unpaid_due"], loans["type"]
    promised = np.nonzero((loans["ptp_day"] == day) & (status != CLOSED) & (loans["frozen_until"] < day))[0]
    candidates = np.nonzero(
        (status == ACTIVE) & (fud <= day + 3) & (loans["frozen_until"] < day) & (loans["ptp_day"] != day)
    )[0]
    dpd = np.maximum(day - fud[candidates], 0)
    to_due = fud[candidates] - day
    k = kind[candidates]
    hazard = np.where(
        dpd > 0,
        _type_parameter(pf, "cure_hazard")[k],
        np.where(to_due == 0, _type_parameter(pf, "due_day_hazard")[k], _type_parameter(pf, "predue_hazard")[k]),
    )
    scale = np.ones(len(candidates))
    for threshold, factor in sorted((int(t), float(f)) for t, f in p["late_hazard_scale"].items()):
        scale = np.where(dpd >= threshold, factor, scale)
    hazard = hazard * scale
    defaulted = (k == ROLLER) & (loans["paid_count"][candidates] >= loans["trigger_k"][candidates])
    hazard = np.where(defaulted, float(p["roller_default_hazard"]), hazard)
    hazard = hazard * cure_hazard_factor(pf, day, candidates, dpd)
    paying = candidates[rng.random(len(candidates)) < hazard]
    amount = pf.due_through(paying, day)
    partial = rng.random(len(paying)) < _type_parameter(pf, "partial_share")[kind[paying]]
    amount = np.where(partial, np.round(amount * rng.uniform(0.3, 0.7, len(paying)), -2), amount)
    payoff = (kind[paying] == EARLY_PAYOFF) & (loans["paid_count"][paying] >= loans["trigger_k"][paying])
    amount = np.where(payoff, pf.remaining(paying), amount)
    channel = rng.choice(4, len(paying), p=_channel_weights(pf))

    # Recoveries on written-off loans, through the agency (or the court once a case is open).
    written_off = np.nonzero((status == WRITTEN_OFF) & (loans["frozen_until"] < day) & (loans["ptp_day"] != day))[0]
    recovering = written_off[rng.random(len(written_off)) < float(p["recovery_hazard"])]
    recovery = np.round(pf.remaining(recovering) * rng.uniform(0.1, 0.4, len(recovering)), -2)
    recovery_channel = np.where(loans["legal_open"][recovering], COURT, AGENCY)

    # Promised payments (kept promises and settlements) on the day the borrower chose.
    promise_amount = np.minimum(loans["ptp_amount"][promised], pf.remaining(promised))
    promise_channel = rng.choice(4, len(promised), p=_channel_weights(pf))
    loans["ptp_day"][promised] = -1

    loan = np.concatenate([paying, recovering, promised])
    amount = np.concatenate([amount, recovery, promise_amount]).astype(np.int64)
    channel = np.concatenate([channel, recovery_channel, promise_channel]).astype(np.int64)
    keep = amount >= 100
    loan, amount, channel = loan[keep], amount[keep], channel[keep]
    order = np.argsort(loan, kind="stable")
    loan, amount, channel = loan[order], amount[order], channel[order]
    second = rng.integers(8 * 3600, 23 * 3600, len(loan))
    loans["paid"][loan] += amount
    deliver = np.full(len(loan), day, np.int64)
    seq = np.arange(len(loan), dtype=np.int64)
    if delivering:
        left_after = pf.remaining(loan)
        bounce = (rng.random(len(loan)) < float(p["payments"]["bounce_share"])) & (left_after > 10000)
        bounce &= channel < AGENCY
        lo, hi = p["payments"]["reversal_lag_days"]
        lag = rng.integers(lo, hi + 1, len(loan))
        for i in np.nonzero(bounce)[0]:
            reversal_day = day + int(lag[i])
            pf.reversals_due.setdefault(reversal_day, []).append((int(loan[i]), int(amount[i]), day, int(seq[i])))
            loans["frozen_until"][loan[i]] = reversal_day  # no further payments until the bank bounces this one
        lo, hi = p["payments"]["backdated_lag_days"]
        late = (rng.random(len(loan)) < float(p["payments"]["backdated_share"])) & ~bounce
        deliver = np.where(late, day + rng.integers(lo, hi + 1, len(loan)), deliver)
    pf.refresh(loan, day)
    return PaymentBatch(
        day=day, loan=loan, amount=amount, second=second, channel=channel,
        reversal_of_day=np.full(len(loan), -1), reversal_of_seq=np.full(len(loan), -1), seq=seq, deliver_day=deliver,
    )  # fmt: skip


def reversal_batch(pf: Portfolio, day: int, reversals: list[tuple[int, int, int, int]], first_seq: int) -> PaymentBatch:
    """Today's reversals as payment rows (ids continue after today's payments)."""
    rng = day_rng(pf.seed, day, RNG_PAYMENTS + 100)
    count = len(reversals)
    data = np.asarray(reversals, np.int64).reshape(count, 4)
    return PaymentBatch(
        day=day, loan=data[:, 0], amount=data[:, 1], second=rng.integers(9 * 3600, 18 * 3600, count),
        channel=np.zeros(count, np.int64), reversal_of_day=data[:, 2], reversal_of_seq=data[:, 3],
        seq=first_seq + np.arange(count, dtype=np.int64), deliver_day=np.full(count, day, np.int64),
    )  # fmt: skip


def write_off(pf: Portfolio, day: int) -> np.ndarray:
    """Write off active loans whose DPD at the end of `day` exceeds the write-off threshold."""
    loans = pf.loans
    limit = int(pf.params["write_off_dpd"])
    due = np.nonzero((loans["status"] == ACTIVE) & (loans["first_unpaid_due"] < day - limit))[0]
    loans["status"][due] = WRITTEN_OFF
    loans["written_off_on"][due] = day
    loans["updated"][due] = day
    loans["ptp_day"][due] = -1
    return due


def _channel_weights(pf: Portfolio) -> np.ndarray:
    weights = np.asarray(list(pf.params["payments"]["channels"].values()), float)
    return weights / weights.sum()


__all__ = ["NEVER", "reversal_batch", "simulate_payments", "start_of_day", "write_off"]
