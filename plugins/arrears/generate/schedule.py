"""Repayment schedules: equal-installment amortisation with interest and a flat monthly fee, monthly due dates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def add_months(day: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Day numbers (days since 1970-01-01) `months` later on the same day of month, capped at the 28th."""
    dates = np.asarray(day, dtype=np.int64).astype("datetime64[D]")
    month_start = dates.astype("datetime64[M]")
    day_of_month = np.minimum((dates - month_start.astype("datetime64[D]")).astype(np.int64), 27)
    target = (month_start + np.asarray(months, dtype=np.int64)).astype("datetime64[D]") + day_of_month
    return target.astype(np.int64)


@dataclass
class Schedules:
    """Flat installment arrays for a batch of schedules; schedule i occupies offsets[i] .. offsets[i] + terms[i]."""

    offsets: np.ndarray
    due_day: np.ndarray
    principal: np.ndarray  # cents
    interest: np.ndarray
    fee: np.ndarray


def amortise(
    principal_cents: np.ndarray,
    annual_rate: np.ndarray,
    terms: np.ndarray,
    fee_rate: np.ndarray,
    first_base_day: np.ndarray,
) -> Schedules:
    """Equal installments (principal + interest) per schedule; due dates one month apart from `first_base_day`.

    Rounding is to the cent on each installment; the last installment takes the remaining principal so the
    schedule's principal always adds up exactly to the amount financed.
    """
    count = len(principal_cents)
    offsets = np.zeros(count, dtype=np.int64)
    if count:
        offsets[1:] = np.cumsum(terms[:-1])
    total = int(terms.sum())
    due_day = np.zeros(total, dtype=np.int64)
    principal = np.zeros(total, dtype=np.int64)
    interest = np.zeros(total, dtype=np.int64)
    fee = np.zeros(total, dtype=np.int64)
    for term in np.unique(terms):
        members = np.nonzero(terms == term)[0]
        balance = principal_cents[members].astype(np.float64)
        monthly = annual_rate[members] / 12.0
        with np.errstate(divide="ignore", invalid="ignore"):
            payment = np.where(monthly > 0, balance * monthly / (1.0 - (1.0 + monthly) ** -float(term)), balance / term)
        monthly_fee = np.round(principal_cents[members] * fee_rate[members]).astype(np.int64)
        remaining = principal_cents[members].astype(np.int64)
        for k in range(int(term)):
            position = offsets[members] + k
            interest_k = np.round(remaining * monthly).astype(np.int64)
            if k == term - 1:
                principal_k = remaining.copy()
            else:
                principal_k = np.clip(np.round(payment).astype(np.int64) - interest_k, 0, remaining)
            interest[position] = interest_k
            principal[position] = principal_k
            fee[position] = monthly_fee
            due_day[position] = add_months(first_base_day[members], k + 1)
            remaining = remaining - principal_k
    return Schedules(offsets=offsets, due_day=due_day, principal=principal, interest=interest, fee=fee)
