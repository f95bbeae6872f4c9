"""Playing the compliance cases of business rules §5 and §7 (described in generate/compliance_cases.py).

Called from the day loop (generate/simulator.py): new per-number refusals and pre-due SMS bars at the end of a
day, and after the day's actions the injected contacts to barred numbers and during restrictions, then the
attribution of the complaints dated that day.
"""

from __future__ import annotations

import numpy as np

from arrears.generate.activity import (
    AGENCY,
    CALL,
    LEGAL,
    LETTER,
    OUTCOME,
    PREDUE,
    RULES,
    SMS,
    TEAMS,
    ActionBuilder,
    Actions,
    Activity,
    DayChanges,
    _agent,
    _concat,
    _contact_state,
    _stage_team,
    _take,
    primary_contacts,
)
from arrears.generate.compliance_cases import (
    BARRED_NUMBER_CALLS_PER_DAY,
    DURING_RESTRICTION_PER_DAY,
    HOUR,
    NUMBER_REFUSAL_SHARE,
    RNG_CASES,
    SMS_BAR_SHARE_OF_PREDUE,
)
from arrears.generate.portfolio import ACTIVE, Portfolio, day_rng
from arrears.generate.rows import AGENCY_TEAM, dates


def with_injected_cases(pf: Portfolio, act: Activity, actions: Actions, day: int) -> Actions:
    """The day's actions (in time order) with the injected cases added in time order; complaints attributed."""
    bars, holds = act.masks(len(pf.borrowers), day)
    own, _ = primary_contacts(pf)
    injected = inject(pf, act, actions, bars, holds, own, day)
    everything = _concat(actions, injected)
    everything = _take(everything, np.lexsort((np.arange(len(everything)), everything.loan, everything.second)))
    _contact_state(pf, everything, DayChanges())
    attribute_complaints(pf, act, everything, day)
    return everything


def _choose(rng: np.random.Generator, candidates: np.ndarray, mean: float) -> np.ndarray:
    count = min(len(candidates), int(rng.poisson(mean)))
    return rng.permutation(candidates)[:count] if count else candidates[:0]


def new_restrictions(pf: Portfolio, act: Activity, day: int, changes: DayChanges) -> None:
    """Today's per-number refusals and pre-due SMS bars, in force from tomorrow."""
    cases = act.cases
    rng = day_rng(pf.seed, day, RNG_CASES)
    c = pf.contacts
    loans = pf.loans
    mean = max(1.0, NUMBER_REFUSAL_SHARE * len(pf.borrowers))
    # Own numbers of borrowers in collections (asked not to be called there), and contact persons.
    in_collections = np.unique(loans["borrower"][(loans["status"] == ACTIVE) & (loans["first_unpaid_due"] < day)])
    own_numbers = np.nonzero(c["valid"] & (c["kind"] <= 2) & np.isin(c["borrower"], in_collections))[0]
    contact_persons = np.nonzero(c["valid"] & (c["kind"] >= 3))[0]
    refused = np.concatenate([_choose(rng, own_numbers, mean), _choose(rng, contact_persons, mean)])
    for contact in refused.tolist():
        end = None if rng.random() < 0.5 else day + 1 + int(rng.integers(10, 60))
        record = act.add_restriction(int(c["borrower"][contact]), "do_not_contact", None, day + 1, end, day)
        record.values["contact"] = contact
        cases.number_bars.append((contact, day + 1, end))
        cases.number_bar_truth.append(
            f"R{record.id:09d},CP{contact + 1:010d},{_iso(day + 1)},{'' if end is None else _iso(end)}\n"
        )
        changes.restrictions.append(record)
    to_due = loans["first_unpaid_due"] - (day + 1)
    predue = np.nonzero((loans["status"] == ACTIVE) & (to_due >= 0) & (to_due <= 3) & ~loans["legal_open"])[0]
    for borrower in np.unique(_choose(rng, loans["borrower"][predue], SMS_BAR_SHARE_OF_PREDUE * len(predue))).tolist():
        end = day + 1 + int(rng.integers(30, 90))
        changes.restrictions.append(act.add_restriction(int(borrower), "do_not_contact", "sms", day + 1, end, day))


def _iso(day: int) -> str:
    return str(dates(np.asarray([day]))[0])


def inject(
    pf: Portfolio,
    act: Activity,
    actions: Actions,
    bars: np.ndarray,
    holds: np.ndarray,
    own: np.ndarray,
    day: int,
) -> Actions:
    """Today's injected contacts to barred numbers and during restrictions (each breaking exactly one rule)."""
    rng = day_rng(pf.seed, day, RNG_CASES + 1)
    loans = pf.loans
    barred = act.cases.barred(len(pf.contacts), day)
    builder = ActionBuilder()
    used = set(np.unique(actions.borrower[actions.rule >= 0]).tolist())  # other injections: one rule each
    barred_rule, restriction_rule = RULES.index("contact_to_barred_number"), RULES.index("contact_during_restriction")
    dpd = np.maximum(day - 1 - loans["first_unpaid_due"], 0)
    worked = (loans["status"] == ACTIVE) & (dpd >= 1)
    b = loans["borrower"]
    # A clean own number: valid, not barred, and no bar on calls for the borrower.
    own_ok = (own[b] >= 0) & ~barred[own[b]]

    def add(loan: int, team: int, channel: int, contact: int, rule: int) -> None:
        borrower = int(b[loan])
        used.add(borrower)
        builder.add(
            loan=[loan],
            borrower=[borrower],
            contact=[contact],
            second=int(rng.integers(10 * HOUR, 17 * HOUR)),
            channel=channel,
            team=team,
            agent=_agent(np.asarray([team]), np.asarray([loan])),
            outcome=OUTCOME["no_answer"] if channel == CALL else OUTCOME["delivered"],
            rule=rule,
        )

    def pick(mask: np.ndarray) -> list[int]:
        candidates = np.nonzero(mask)[0]
        chosen = []
        for loan in _choose(rng, candidates, DURING_RESTRICTION_PER_DAY).tolist():
            if int(b[loan]) not in used:
                chosen.append(loan)
                used.add(int(b[loan]))
        return chosen

    # A call to a barred own number of a loan otherwise free to call.
    own_barred = (own[b] >= 0) & barred[own[b]]
    free = worked & ~loans["legal_open"] & (holds[b] == 0) & ((bars[b] & (1 << CALL)) == 0)
    for loan in _choose(rng, np.nonzero(free & own_barred)[0], BARRED_NUMBER_CALLS_PER_DAY).tolist():
        if int(b[loan]) not in used:
            add(loan, _stage_team(pf, loan, day), CALL, int(own[b[loan]]), barred_rule)
    # The stage team calls during a dispute, cease_communication, death, bankruptcy or legal hold.
    for loan in pick(worked & ~loans["legal_open"] & (holds[b] != 0) & own_ok):
        add(loan, _stage_team(pf, loan, day), CALL, int(own[b[loan]]), restriction_rule)
    # An agency calls on a loan whose legal case opened before today.
    opened_before = np.zeros(len(loans), bool)
    for record in act.legal_cases:
        v = record.values
        # Not a case that moves on today (it may close, and the audit reads its status as delivered today).
        if v["status"] not in ("closed", "withdrawn") and v["opened_on"] < day and record.next_day != day:
            opened_before[v["loan"]] = True
    for loan in pick(opened_before & own_ok & ((bars[b] & (1 << CALL)) == 0)):
        add(loan, AGENCY, CALL, int(own[b[loan]]), restriction_rule)
    # The pre-due reminder SMS despite the borrower's SMS bar.
    to_due = loans["first_unpaid_due"] - day
    predue = (loans["status"] == ACTIVE) & (dpd == 0) & (to_due >= 1) & (to_due <= 3) & ~loans["legal_open"]
    sms_barred = (bars[b] & (1 << SMS)) != 0
    for loan in pick(predue & sms_barred & (holds[b] == 0) & own_ok):
        add(loan, PREDUE, SMS, int(own[b[loan]]), restriction_rule)
    # A legal letter during a dispute on a loan with no legal route (no open case, no hold above the dispute).
    disputed = _borrowers_with(act, ("dispute",), len(pf.borrowers), day)
    above = _borrowers_with(act, ("deceased", "bankruptcy", "legal_hold"), len(pf.borrowers), day)
    no_letter_bar = (bars[b] & (1 << LETTER)) == 0
    for loan in pick(worked & ~loans["legal_open"] & disputed[b] & ~above[b] & no_letter_bar):
        add(loan, LEGAL, LETTER, -1, restriction_rule)
    return builder.build(day)


def _borrowers_with(act: Activity, kinds: tuple[str, ...], borrowers: int, day: int) -> np.ndarray:
    mask = np.zeros(borrowers, bool)
    for record in act.restrictions:
        v = record.values
        if v["kind"] in kinds and v["from"] <= day and (v["to"] is None or v["to"] >= day):
            mask[v["borrower"]] = True
    return mask


def attribute_complaints(pf: Portfolio, act: Activity, actions: Actions, day: int) -> None:
    """Remember today's actions; complaints dated today go to every team and agent of days C-6..C."""
    cases = act.cases
    cases.recent.append((day, actions.borrower.copy(), actions.loan.copy(), actions.team.copy(), actions.agent.copy()))
    agencies = pf.params["collections"]["agencies"]
    for record in act.restrictions:
        v = record.values
        if v["kind"] != "complaint" or v["from"] != day:
            continue
        found: set[tuple[str, str]] = set()
        for _, borrower, loan, team, agent in cases.recent:
            for row in np.nonzero(borrower == v["borrower"])[0].tolist():
                t = int(team[row])
                name = f"agency:{agencies[pf.loans['agency'][loan[row]]]}" if t == AGENCY_TEAM else TEAMS[t]
                g = int(agent[row])
                found.add((name, name.split(":")[-1] + f"-{g:03d}" if g > 0 else ""))
        cases.complaint_truth += [f"R{record.id:09d},{_iso(day)},{t},{g}\n" for t, g in sorted(found)]
