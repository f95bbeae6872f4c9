"""The simulated outside agencies (business rules §9): who works which late loan, and the injected
`outside_placement` violations with their ground truth.

An agency works a late loan as the agency the warehouse places it with first: the same draw from
(loan id, placement number 1) weighted by share among the active agencies of the agencies file
(marts.fct_agency_placements, macro unit_interval_hash). The simulator does not see the nightly
files, so an agency may still call a loan before its placement night or after a recall: those
calls are found by the audit too, but they are not part of the ground truth. What is: each day a
few agency SMS on loans too young ever to have been placed (disbursed under 120 days ago, 0 DPD),
rule `outside_placement` in <out>_truth/violations.csv.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from arrears.agencies import load_agencies
from arrears.generate.activity import AGENCY, OUTCOME, RULES, SMS, Actions, Activity, primary_contacts
from arrears.generate.portfolio import ACTIVE, Portfolio, day_rng

RNG_OUTSIDE_PLACEMENT = 101  # its own random stream: the other injected violations stay as they were
OUTSIDE_PLACEMENT = RULES.index("outside_placement")
NEVER_PLACED_AGE_DAYS = 120  # first due after >= 30 days, then 91 days past due before routing to `agency`
HOUR = 3600


def placement_draw(loan_id: str, placement_number: int) -> float:
    """The warehouse's draw for a placement: md5 of "<loan_id>:<number>", first 32 bits, in [0, 1)."""
    digest = hashlib.md5(f"{loan_id}:{placement_number}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16) / 2**32


@functools.cache
def _active_shares() -> tuple[tuple[str, float], ...]:
    return tuple(
        (agency.agency_id, agency.share)
        for agency in sorted(load_agencies(), key=lambda agency: agency.agency_id)
        if agency.active and agency.share > 0
    )


@functools.cache
def first_placement_agency(loan_id: str) -> str:
    """The agency a loan is first placed with (no previous agency; capacity not binding)."""
    shares = _active_shares()
    total = sum(share for _, share in shares)
    draw, upper = placement_draw(loan_id, 1), 0.0
    for agency_id, share in shares:
        upper += share / total
        if draw < upper:
            return agency_id
    return shares[-1][0]


def add_outside_placement(pf: Portfolio, act: Activity, actions: Actions, day: int) -> Actions:
    """The day's actions plus the injected outside_placement SMS (each on its own untouched borrower)."""
    p = pf.params["violations"]
    rng = day_rng(pf.seed, day, RNG_OUTSIDE_PLACEMENT)
    loans = pf.loans
    own, _ = primary_contacts(pf)
    bars, holds = act.masks(len(pf.borrowers), day)
    borrower = loans["borrower"]
    candidates = np.nonzero(
        (loans["status"] == ACTIVE)
        & (loans["first_unpaid_due"] >= day)
        & (day - loans["disbursed"] < NEVER_PLACED_AGE_DAYS)
        & (own[borrower] >= 0)
        & (bars[borrower] == 0)
        & (holds[borrower] == 0)
        & ~np.isin(borrower, actions.borrower)
    )[0]
    _, first = np.unique(borrower[candidates], return_index=True)  # one loan per borrower
    candidates = candidates[first]
    count = min(int(rng.poisson(max(float(p["minimum_per_day"]), 1.0))), len(candidates))
    loan = np.sort(rng.permutation(candidates)[:count]).astype(np.int64)
    if not len(loan):
        return actions
    added = {
        "loan": loan,
        "borrower": borrower[loan].astype(np.int64),
        "contact": own[borrower[loan]].astype(np.int64),
        "second": rng.integers(10 * HOUR, 17 * HOUR, len(loan)).astype(np.int64),
        "channel": np.full(len(loan), SMS, np.int64),
        "team": np.full(len(loan), AGENCY, np.int64),
        "agent": np.zeros(len(loan), np.int64),
        "outcome": np.full(len(loan), OUTCOME["delivered"], np.int64),
        "promised_amount": np.full(len(loan), -1, np.int64),
        "promised_day": np.full(len(loan), -1, np.int64),
        "collectors": np.full(len(loan), -1, np.int64),
        "rule": np.full(len(loan), OUTSIDE_PLACEMENT, np.int64),
    }
    fields = [name for name in Actions.__dataclass_fields__ if name != "day"]
    return Actions(day=actions.day, **{name: np.concatenate([getattr(actions, name), added[name]]) for name in fields})
