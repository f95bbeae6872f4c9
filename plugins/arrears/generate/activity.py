"""Collection activity: actions and outcomes, promises, restrictions, arrangements, restructures, legal cases,
and the deliberately injected compliance violations (with their ground truth).

Normal actions stay inside every compliance rule with a margin (09:00-20:00, at most 2 connected contacts per
borrower and 4 unanswered attempts per number a day, no barred channel, third parties only when every own number
is invalid, visits with 2-3 collectors), so the compliance audit finds exactly the injected ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arrears.generate.compliance_cases import ComplianceCases
from arrears.generate.plans import agree_settlement, enter_status, judge_plans, settlement_kept
from arrears.generate.portfolio import (
    ACTIVE,
    CLOSED,
    RNG_ACTIONS,
    RNG_EVENTS,
    RNG_VIOLATIONS,
    ROLLER,
    WRITTEN_OFF,
    Portfolio,
    day_rng,
)
from arrears.generate.schedule import amortise

CHANNELS = ["call", "sms", "email", "app_push", "letter", "visit", "legal_notice"]
CALL, SMS, EMAIL, APP_PUSH, LETTER, VISIT, LEGAL_NOTICE = range(7)
ALL_CHANNELS = (1 << len(CHANNELS)) - 1
OUTCOMES = [
    "no_answer",
    "busy",
    "unreachable",
    "wrong_number",
    "third_party",
    "right_party_contact",
    "promise_to_pay",
    "refused_to_pay",
    "dispute_raised",
    "paid_claimed",
    "delivered",
    "failed",
]
OUTCOME = {name: code for code, name in enumerate(OUTCOMES)}
CONNECTED = np.isin(np.arange(len(OUTCOMES)), [OUTCOME[x] for x in OUTCOMES[4:10]])
UNANSWERED = np.isin(np.arange(len(OUTCOMES)), [OUTCOME["no_answer"], OUTCOME["busy"], OUTCOME["unreachable"]])
FAILED_CALL = np.isin(np.arange(len(OUTCOMES)), [OUTCOME["no_answer"], OUTCOME["unreachable"], OUTCOME["wrong_number"]])
RPC = np.isin(np.arange(len(OUTCOMES)), [OUTCOME[x] for x in OUTCOMES[5:10]])
TEAMS = ["predue", "early", "mid", "field", "agency", "legal"]
PREDUE, EARLY, MID, FIELD, AGENCY, LEGAL = range(6)
TEAM_SIZES = [0, 40, 30, 20, 15, 8]
RULES = [
    "outside_contact_window",
    "over_daily_connected_calls",
    "over_daily_unanswered_attempts",
    "third_party_without_lost_contact",
    "contact_during_restriction",
    "visit_under_two_collectors",
    "contact_to_barred_number",
    "outside_placement",  # injected by generate/agencies.py
]
# Channels each restriction kind bars (mirrors dbt_project/seeds/restriction_channel_bars.csv; a test keeps them equal).
CEASE_BARS = (1 << CALL) | (1 << SMS) | (1 << EMAIL) | (1 << APP_PUSH) | (1 << VISIT)
HOUR = 3600


@dataclass
class Record:
    """One upsert record (restriction, arrangement or legal case) with its current version."""

    id: int
    values: dict[str, Any]
    updated: int  # day of the current version
    next_day: int = -1  # when the simulator next looks at it


@dataclass
class Actions:
    """One day's collection actions, in action_id order."""

    day: int
    loan: np.ndarray
    borrower: np.ndarray
    contact: np.ndarray
    second: np.ndarray
    channel: np.ndarray
    team: np.ndarray
    agent: np.ndarray
    outcome: np.ndarray
    promised_amount: np.ndarray
    promised_day: np.ndarray
    collectors: np.ndarray
    rule: np.ndarray  # index into RULES for injected violations, else -1

    def __len__(self) -> int:
        return len(self.loan)


@dataclass
class DayChanges:
    """Upsert records created or changed on one day (to deliver)."""

    contacts: list[int] = field(default_factory=list)
    restrictions: list[Record] = field(default_factory=list)
    arrangements: list[Record] = field(default_factory=list)
    legal_cases: list[Record] = field(default_factory=list)
    installments: list[int] = field(default_factory=list)  # flat installment positions of new schedules


@dataclass
class Activity:
    """Collection-side state: restrictions, arrangements and legal cases."""

    restrictions: list[Record] = field(default_factory=list)
    arrangements: list[Record] = field(default_factory=list)
    legal_cases: list[Record] = field(default_factory=list)
    pending_restructures: list[int] = field(default_factory=list)
    cases: ComplianceCases = field(default_factory=ComplianceCases)

    # ------------------------------------------------------------------ restrictions

    def add_restriction(
        self, borrower: int, kind: str, channel: str | None, start: int, end: int | None, today: int
    ) -> Record:
        """A new restriction; `end` None = open-ended."""
        record = Record(
            id=len(self.restrictions) + 1,
            values={"borrower": borrower, "kind": kind, "channel": channel, "from": start, "to": end},
            updated=today,
        )
        self.restrictions.append(record)
        return record

    def masks(self, borrowers: int, day: int) -> tuple[np.ndarray, np.ndarray]:
        """(compliance bars, simulator holds) per borrower for restrictions active on `day`, as channel bitmasks.

        Bars apply to every team; holds to every team but legal (business rules §7): cease_communication leaves
        legal its letters and notices, dispute leaves legal what it does on loans with an open case, deceased,
        bankruptcy and legal_hold leave legal everything. A per-number bar bars its number only (not here).
        """
        bars = np.zeros(borrowers, np.int64)
        holds = np.zeros(borrowers, np.int64)
        for record in self.restrictions:
            v = record.values
            if v["from"] > day or (v["to"] is not None and v["to"] < day):
                continue
            b = v["borrower"]
            if v.get("contact") is not None:
                continue
            if v["kind"] == "do_not_contact":
                bars[b] |= ALL_CHANNELS if v["channel"] is None else 1 << CHANNELS.index(v["channel"])
            elif v["kind"] == "cease_communication":
                bars[b] |= CEASE_BARS
                holds[b] |= ALL_CHANNELS
            elif v["kind"] in ("dispute", "deceased", "bankruptcy", "legal_hold"):
                holds[b] |= ALL_CHANNELS
        return bars, holds


def _agent(team: np.ndarray, loan: np.ndarray) -> np.ndarray:
    sizes = np.asarray(TEAM_SIZES)[team]
    return np.where(sizes > 0, (loan * 2654435761 >> 8) % np.maximum(sizes, 1) + 1, 0)


def _pick(rng: np.random.Generator, weights: dict[str, float], count: int) -> np.ndarray:
    names = list(weights)
    p = np.asarray([weights[n] for n in names], float)
    return np.asarray([OUTCOME[n] for n in names])[rng.choice(len(names), count, p=p / p.sum())]


def primary_contacts(pf: Portfolio) -> tuple[np.ndarray, np.ndarray]:
    """Per borrower: the first valid own number and the first valid third-party number (-1 when none)."""
    c = pf.contacts
    index = np.arange(len(c))
    big = np.int64(2**62)
    own = np.where(c["valid"] & (c["kind"] <= 2), index, big)
    third = np.where(c["valid"] & (c["kind"] >= 3), index, big)
    off = pf.borrowers["cp_off"]
    first_own = np.minimum.reduceat(own, off) if len(off) else own[:0]
    first_third = np.minimum.reduceat(third, off) if len(off) else third[:0]
    return np.where(first_own == big, -1, first_own), np.where(first_third == big, -1, first_third)


class ActionBuilder:
    """Collects candidate actions as column lists."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in Actions.__dataclass_fields__ if k != "day"}

    def add(self, **columns: Any) -> None:
        """Add actions; missing optional columns default to empty (-1)."""
        count = len(columns["loan"])
        for name in self.parts:
            value = columns.get(name, -1)
            self.parts[name].append(np.broadcast_to(np.asarray(value, np.int64), (count,)).copy())

    def build(self, day: int) -> Actions:
        """All collected actions as one `Actions` (unordered)."""
        data = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in self.parts.items()}
        return Actions(day=day, **data)


def _take(actions: Actions, keep: np.ndarray) -> Actions:
    return Actions(
        day=actions.day, **{k: getattr(actions, k)[keep] for k in Actions.__dataclass_fields__ if k != "day"}
    )


def _group_rank(keys: np.ndarray, flags: np.ndarray, order: np.ndarray) -> np.ndarray:
    """For rows in `order`, the running count of `flags` within each run of equal `keys` (1-based, 0 if unflagged)."""
    k, f = keys[order], flags[order].astype(np.int64)
    running = np.cumsum(f)
    starts = np.r_[True, k[1:] != k[:-1]] if len(k) else np.zeros(0, bool)
    base = np.maximum.accumulate(np.where(starts, running - f, 0)) if len(k) else running
    result = np.zeros(len(keys), np.int64)
    result[order] = (running - base) * f
    return result


def simulate_actions(pf: Portfolio, act: Activity, day: int, changes: DayChanges) -> Actions:
    """The day's collection actions, worked from the state at the end of the previous day, and their effects."""
    p = pf.params["collections"]
    rng = day_rng(pf.seed, day, RNG_ACTIONS)
    loans = pf.loans
    status, fud = loans["status"], loans["first_unpaid_due"]
    dpd = np.maximum(day - 1 - fud, 0)
    written_recent = (status == WRITTEN_OFF) & (loans["written_off_on"] >= day - int(p["agency_days_after_write_off"]))
    active = status == ACTIVE
    to_due = fud - day
    predue = np.nonzero(active & (dpd == 0) & np.isin(to_due, p["predue_sms_days"]) & ~loans["legal_open"])[0]
    legal = np.nonzero(loans["legal_open"] & (active | written_recent))[0]
    not_legal = ~loans["legal_open"]
    early = np.nonzero(active & not_legal & (dpd >= 1) & (dpd <= 30))[0]
    mid = np.nonzero(active & not_legal & (dpd >= 31) & (dpd <= 90))[0]
    late = np.nonzero(not_legal & ((active & (dpd > 90)) | written_recent))[0]
    own, third = primary_contacts(pf)
    b = loans["borrower"]
    builder = ActionBuilder()

    # Pre-due reminders: an SMS (and sometimes an app push) in the morning.
    builder.add(
        loan=predue,
        borrower=b[predue],
        contact=own[b[predue]],
        second=rng.integers(9 * HOUR, 12 * HOUR, len(predue)),
        channel=SMS,
        team=PREDUE,
        outcome=np.where(rng.random(len(predue)) < p["sms_failed_share"], OUTCOME["failed"], OUTCOME["delivered"]),
    )
    push = predue[rng.random(len(predue)) < 0.2]
    builder.add(
        loan=push,
        borrower=b[push],
        second=rng.integers(9 * HOUR, 12 * HOUR, len(push)),
        channel=APP_PUSH,
        team=PREDUE,
        outcome=OUTCOME["delivered"],
    )

    # Field visits: mid stage, DPD >= 61, overdue >= the minimum, no RPC in 14 days, address known (always).
    overdue_mid = pf.due_through(mid, day - 1) if len(mid) else np.zeros(0, np.int64)
    field_ok = (dpd[mid] >= p["field_min_dpd"]) & (overdue_mid >= p["field_min_overdue"] * 100)
    field_ok &= loans["last_rpc"][mid] < day - 14
    visiting = mid[field_ok & (rng.random(len(mid)) < p["field_probability"])]
    builder.add(
        loan=visiting,
        borrower=b[visiting],
        second=rng.integers(10 * HOUR, 18 * HOUR, len(visiting)),
        channel=VISIT,
        team=FIELD,
        outcome=_pick(rng, p["visit_outcomes"], len(visiting)),
        collectors=2 + (rng.random(len(visiting)) < 0.2),
    )
    mid = np.setdiff1d(mid, visiting)

    # Calls (with attempts until a connection), SMS and e-mail per stage.
    for team, members, call_p, sms_p, email_p in (
        (EARLY, early, p["early_call_probability"], p["early_sms_probability"], 0.0),
        (MID, mid, p["mid_call_probability"], p["mid_sms_probability"], p["mid_email_probability"]),
        (AGENCY, late, p["agency_call_probability"], 0.05, 0.0),
    ):
        calling = members[(rng.random(len(members)) < call_p) & (loans["promise_until"][members] < day)]
        _add_calls(builder, rng, pf, calling, team, own, third, day)
        texting = members[rng.random(len(members)) < sms_p]
        texting = texting[own[b[texting]] >= 0]
        builder.add(
            loan=texting,
            borrower=b[texting],
            contact=own[b[texting]],
            second=rng.integers(9 * HOUR, 20 * HOUR, len(texting)),
            channel=SMS,
            team=team,
            outcome=np.where(rng.random(len(texting)) < p["sms_failed_share"], OUTCOME["failed"], OUTCOME["delivered"]),
        )
        mailing = members[rng.random(len(members)) < email_p]
        builder.add(
            loan=mailing,
            borrower=b[mailing],
            second=rng.integers(9 * HOUR, 20 * HOUR, len(mailing)),
            channel=EMAIL,
            team=team,
            outcome=OUTCOME["delivered"],
        )
    writing = late[rng.random(len(late)) < p["agency_letter_probability"]]
    builder.add(
        loan=writing,
        borrower=b[writing],
        second=rng.integers(10 * HOUR, 17 * HOUR, len(writing)),
        channel=LETTER,
        team=AGENCY,
        outcome=OUTCOME["delivered"],
    )
    noticing = legal[rng.random(len(legal)) < p["legal_letter_probability"]]
    builder.add(
        loan=noticing,
        borrower=b[noticing],
        second=rng.integers(10 * HOUR, 17 * HOUR, len(noticing)),
        channel=np.where(rng.random(len(noticing)) < 0.5, LETTER, LEGAL_NOTICE),
        team=LEGAL,
        outcome=OUTCOME["delivered"],
    )

    actions = builder.build(day)
    actions.agent = _agent(actions.team, actions.loan)
    bars, holds = act.masks(len(pf.borrowers), day)
    bit = np.left_shift(1, actions.channel)
    allowed = (bars[actions.borrower] & bit) == 0
    allowed &= ((holds[actions.borrower] & bit) == 0) | (actions.team == LEGAL)
    barred_numbers = act.cases.barred(len(pf.contacts), day)
    allowed &= ~barred_numbers[actions.contact]  # a per-number bar: that number, every channel
    actions = _take(actions, allowed)
    actions = _apply_caps(actions, int(p["max_connected_per_borrower"]), int(p["max_unanswered_per_number"]))
    _promises(pf, rng, actions, day)
    _effects(pf, act, rng, actions, day, changes)
    # Other injected violations use only numbers that are not barred (each must break exactly one rule).
    clean_own, clean_third = np.where(barred_numbers[own], -1, own), np.where(barred_numbers[third], -1, third)
    injected = _inject_violations(pf, actions, bars, holds, clean_own, clean_third, day)
    everything = _concat(actions, injected)
    order = np.lexsort((np.arange(len(everything)), everything.loan, everything.second))
    everything = _take(everything, order)
    _contact_state(pf, everything, changes)
    return everything


def _add_calls(
    builder: ActionBuilder,
    rng: np.random.Generator,
    pf: Portfolio,
    loans: np.ndarray,
    team: int,
    own: np.ndarray,
    third: np.ndarray,
    day: int,
) -> None:
    p = pf.params["collections"]
    b = pf.loans["borrower"][loans]
    has_own = own[b] >= 0
    # Third parties only for accounts whose own numbers are all invalid (lost contact), locate-only.
    via_third = ~has_own & (third[b] >= 0) & (rng.random(len(loans)) < p["third_party_call_probability"])
    loans, b, via_third = loans[has_own | via_third], b[has_own | via_third], via_third[has_own | via_third]
    count = len(loans)
    attempts = rng.integers(1, int(p["max_call_attempts"]) + 1, count)
    width = int(p["max_call_attempts"])
    outcomes = np.where(
        via_third[:, None],
        _pick(rng, p["third_party_outcomes"], count * width).reshape(count, width),
        _pick(rng, p["call_outcomes"], count * width).reshape(count, width),
    )
    connected = CONNECTED[outcomes]
    earlier_connected = np.asarray((np.cumsum(connected, axis=1) - connected) > 0)
    start = rng.integers(9 * HOUR, 16 * HOUR, count)
    gap = rng.integers(20 * 60, 90 * 60, count)
    for j in range(width):
        take = (attempts > j) & ~earlier_connected[:, j]
        second = start + j * gap
        take &= second < 20 * HOUR
        contact = np.where(via_third, third[b], own[b])
        builder.add(
            loan=loans[take],
            borrower=b[take],
            contact=contact[take],
            second=second[take],
            channel=CALL,
            team=team,
            outcome=outcomes[take, j],
        )


def _apply_caps(actions: Actions, max_connected: int, max_unanswered: int) -> Actions:
    """Drop connected contacts beyond the per-borrower margin, then unanswered attempts beyond the per-number one."""
    order = np.lexsort((np.arange(len(actions)), actions.second, actions.borrower))
    rank = _group_rank(actions.borrower, CONNECTED[actions.outcome], order)
    actions = _take(actions, rank <= max_connected)
    order = np.lexsort((np.arange(len(actions)), actions.second, actions.contact))
    flags = UNANSWERED[actions.outcome] & (actions.contact >= 0)
    rank = _group_rank(actions.contact, flags, order)
    return _take(actions, rank <= max_unanswered)


def _promises(pf: Portfolio, rng: np.random.Generator, actions: Actions, day: int) -> None:
    """Promise amounts and dates; a kept promise schedules the borrower's payment before the promised date."""
    p = pf.params["collections"]
    rows = np.nonzero(actions.outcome == OUTCOME["promise_to_pay"])[0]
    loans = actions.loan[rows]
    # One promise per loan a day: later ones on the same day become plain right-party contacts.
    _, first = np.unique(loans, return_index=True)
    duplicate = np.setdiff1d(np.arange(len(rows)), first)
    actions.outcome[rows[duplicate]] = OUTCOME["right_party_contact"]
    rows, loans = rows[first], loans[first]
    written = pf.loans["status"][loans] == WRITTEN_OFF
    owed = np.where(written, np.round(pf.remaining(loans) * 0.2, -2), pf.due_through(loans, day))
    amount = np.maximum(np.round(owed * rng.uniform(0.5, 1.0, len(rows)), -2), 100).astype(np.int64)
    lo, hi = p["promise_days"]
    promised_day = day + rng.integers(lo, hi + 1, len(rows))
    actions.promised_amount[rows] = amount
    actions.promised_day[rows] = promised_day
    kept_p = np.asarray(list(p["promise_kept"].values()), float)[pf.loans["type"][loans]]
    kept = rng.random(len(rows)) < kept_p
    pay_day = day + (rng.random(len(rows)) * (promised_day - day + 1)).astype(np.int64)
    pf.loans["ptp_day"][loans[kept]] = pay_day[kept]
    pf.loans["ptp_amount"][loans[kept]] = amount[kept]
    pf.loans["promise_until"][loans] = promised_day + 2


def _effects(
    pf: Portfolio, act: Activity, rng: np.random.Generator, actions: Actions, day: int, changes: DayChanges
) -> None:
    """What outcomes change: invalid numbers, RPC dates, disputes, complaints, plans, restructures, settlements."""
    p = pf.params["collections"]
    wrong = np.unique(actions.contact[(actions.outcome == OUTCOME["wrong_number"]) & (actions.contact >= 0)])
    pf.contacts["valid"][wrong] = False
    pf.contacts["updated"][wrong] = day
    changes.contacts.extend(wrong.tolist())
    rpc = RPC[actions.outcome]
    pf.loans["last_rpc"][actions.loan[rpc]] = day
    lo, hi = p["dispute_days"]
    disputed = np.unique(actions.borrower[actions.outcome == OUTCOME["dispute_raised"]])
    for borrower in disputed.tolist():
        record = act.add_restriction(borrower, "dispute", None, day + 1, None, day)
        record.next_day = day + int(rng.integers(lo, hi + 1))
        changes.restrictions.append(record)
    rpc_rows = np.nonzero(rpc)[0]
    draws = rng.random((len(rpc_rows), 3))
    seen: set[int] = set()
    for i, row in enumerate(rpc_rows.tolist()):
        loan, borrower = int(actions.loan[row]), int(actions.borrower[row])
        if loan in seen:
            continue
        seen.add(loan)
        if draws[i, 0] < p["complaint_share_of_rpc"] and borrower not in disputed:
            changes.restrictions.append(act.add_restriction(borrower, "complaint", None, day + 1, day + 30, day))
            changes.restrictions.append(act.add_restriction(borrower, "do_not_contact", "call", day + 1, day + 30, day))
            continue
        status = int(pf.loans["status"][loan])
        loan_dpd = day - 1 - int(pf.loans["first_unpaid_due"][loan])
        if status == WRITTEN_OFF and draws[i, 1] < p["settlement_share_of_rpc"]:
            owed = int(pf.remaining(np.asarray([loan]))[0])
            if owed >= 10000:
                record = _arrangement(act, loan, "settlement", day, None)
                agree_settlement(pf, record, owed, day)
                changes.arrangements.append(record)
        elif status == ACTIVE and 31 <= loan_dpd <= 120 and draws[i, 1] < p["restructure_share_of_rpc"]:
            if pf.loans["frozen_until"][loan] < day and not any(x == loan for x in act.pending_restructures):
                act.pending_restructures.append(loan)
        elif (
            status == ACTIVE
            and actions.outcome[row] == OUTCOME["promise_to_pay"]
            and 31 <= loan_dpd <= 90
            and draws[i, 1] < p["repayment_plan_share_of_ptp"]
        ):
            record = _arrangement(act, loan, "repayment_plan", day, None)
            record.next_day = day + 30
            changes.arrangements.append(record)


def _arrangement(act: Activity, loan: int, kind: str, day: int, version: int | None) -> Record:
    record = Record(
        id=len(act.arrangements) + 1,
        values={"loan": loan, "kind": kind, "agreed_on": day, "status": "active", "new_schedule_version": version},
        updated=day,
    )
    act.arrangements.append(record)
    return record


def _inject_violations(
    pf: Portfolio, actions: Actions, bars: np.ndarray, holds: np.ndarray, own: np.ndarray, third: np.ndarray, day: int
) -> Actions:
    """Deliberate violations, each on its own borrower so that every one breaks exactly one rule."""
    p = pf.params["violations"]
    rng = day_rng(pf.seed, day, RNG_VIOLATIONS)
    builder = ActionBuilder()
    mean = max(float(p["minimum_per_day"]), float(p["share_of_actions"]) * len(actions))
    counts = rng.poisson(mean, RULES.index("outside_placement"))  # the contact rules, in RULES order
    used: set[int] = set()
    # One representative action per worked borrower: its loan, team and agent.
    _, first = np.unique(actions.borrower, return_index=True)
    worked = first[np.isin(actions.team[first], [EARLY, MID, AGENCY, PREDUE])]
    borrowers = actions.borrower[worked]
    contact_ok = (own[borrowers] >= 0) & (bars[borrowers] & ((1 << CALL) | (1 << SMS)) == 0) & (holds[borrowers] == 0)
    connected = CONNECTED[actions.outcome]
    call = actions.channel == CALL

    def choose(mask: np.ndarray, count: int) -> list[int]:
        rows = [int(r) for r in worked[mask] if int(actions.borrower[r]) not in used]
        picked = [rows[i] for i in rng.permutation(len(rows))[:count]] if rows else []
        used.update(int(actions.borrower[r]) for r in picked)
        return picked

    def add(row: int, rule: int | None, **columns: Any) -> None:
        builder.add(
            loan=[actions.loan[row]],
            borrower=[actions.borrower[row]],
            team=[actions.team[row]],
            agent=[actions.agent[row]],
            rule=-1 if rule is None else rule,
            **columns,
        )

    for row in choose(contact_ok, int(counts[0])):
        late_or_early = (
            int(rng.integers(22 * HOUR + 300, 24 * HOUR - 300))
            if rng.random() < 0.5
            else int(rng.integers(6 * HOUR, 8 * HOUR - 600))
        )
        add(
            row,
            0,
            contact=[own[actions.borrower[row]]],
            second=late_or_early,
            channel=SMS,
            outcome=OUTCOME["delivered"],
        )
    for row in choose(contact_ok, int(counts[1])):
        borrower = actions.borrower[row]
        mine = actions.borrower == borrower
        if (connected & mine & ~call).any():
            continue  # keep the 4th connected contact unambiguous whether or not visits count
        already = int((connected & mine).sum())
        for i in range(4 - already):
            add(
                row,
                1 if i == 3 - already else None,
                contact=[own[borrower]],
                second=20 * HOUR + 1800 + i * 600,
                channel=CALL,
                outcome=OUTCOME["right_party_contact"],
            )
    for row in choose(contact_ok, int(counts[2])):
        number = own[actions.borrower[row]]
        already = int((UNANSWERED[actions.outcome] & (actions.contact == number)).sum())
        for i in range(7 - already):
            add(
                row,
                2 if i == 6 - already else None,
                contact=[number],
                second=20 * HOUR + 1800 + i * 480,
                channel=CALL,
                outcome=OUTCOME["no_answer"],
            )
    # Third party while not lost: an own number answered (not a failed call) both before today and today.
    own_fine = np.zeros(len(actions), bool)
    own_fine[np.nonzero(connected & call)[0]] = True
    answered_today = np.unique(actions.borrower[own_fine & (pf.contacts["kind"][np.maximum(actions.contact, 0)] <= 2)])
    contacted_before = (
        pf.contacts["called"][np.maximum(own[borrowers], 0)]
        & ~pf.contacts["last_failed"][np.maximum(own[borrowers], 0)]
    )
    mask = contact_ok & (third[borrowers] >= 0) & np.isin(borrowers, answered_today) & contacted_before
    for row in choose(mask, int(counts[3])):
        add(
            row,
            3,
            contact=[third[actions.borrower[row]]],
            second=int(rng.integers(8 * HOUR + 600, 8 * HOUR + 3000)),
            channel=CALL,
            outcome=OUTCOME["no_answer"],
        )
    # A barred channel: a loan in the queue whose borrower has an active restriction barring SMS or calls.
    barred = _queued_barred(pf, bars, holds, own, day)
    for loan in rng.permutation(barred)[: int(counts[4])].tolist():
        borrower = int(pf.loans["borrower"][loan])
        if borrower in used:
            continue
        used.add(borrower)
        channel = SMS if bars[borrower] & (1 << SMS) else CALL
        team = _stage_team(pf, loan, day)
        builder.add(
            loan=[loan],
            borrower=[borrower],
            contact=[own[borrower]],
            second=int(rng.integers(10 * HOUR, 17 * HOUR)),
            channel=channel,
            team=team,
            agent=_agent(np.asarray([team]), np.asarray([loan])),
            outcome=OUTCOME["delivered"] if channel == SMS else OUTCOME["no_answer"],
            rule=4,
        )
    visit_ok = (
        np.isin(actions.team[worked], [MID, AGENCY]) & (bars[borrowers] & (1 << VISIT) == 0) & (holds[borrowers] == 0)
    )
    for row in choose(visit_ok, int(counts[5])):
        builder.add(
            loan=[actions.loan[row]],
            borrower=[actions.borrower[row]],
            second=int(rng.integers(10 * HOUR, 17 * HOUR)),
            channel=VISIT,
            team=FIELD,
            agent=_agent(np.asarray([FIELD]), actions.loan[row : row + 1]),
            outcome=OUTCOME["failed"],
            collectors=1,
            rule=5,
        )
    return builder.build(day)


def _queued_barred(pf: Portfolio, bars: np.ndarray, holds: np.ndarray, own: np.ndarray, day: int) -> np.ndarray:
    loans = pf.loans
    dpd = np.maximum(day - 1 - loans["first_unpaid_due"], 0)
    queued = (loans["status"] == ACTIVE) & (dpd >= 1) & ~loans["legal_open"]
    b = loans["borrower"]
    barred = (bars[b] & ((1 << CALL) | (1 << SMS))) != 0
    return np.nonzero(queued & barred & (holds[b] == 0) & (own[b] >= 0))[0]


def _stage_team(pf: Portfolio, loan: int, day: int) -> int:
    dpd = day - 1 - int(pf.loans["first_unpaid_due"][loan])
    return EARLY if dpd <= 30 else MID if dpd <= 90 else AGENCY


def _concat(a: Actions, b: Actions) -> Actions:
    fields = [k for k in Actions.__dataclass_fields__ if k != "day"]
    return Actions(day=a.day, **{k: np.concatenate([getattr(a, k), getattr(b, k)]) for k in fields})


def _contact_state(pf: Portfolio, actions: Actions, changes: DayChanges) -> None:
    """Remember per number whether it was ever called and whether its latest call failed (lost-contact rule)."""
    rows = np.nonzero((actions.channel == CALL) & (actions.contact >= 0))[0]
    if len(rows) == 0:
        return
    contact = actions.contact[rows]
    # Rows are in time order: the last occurrence per number is its latest call.
    last = len(rows) - 1 - np.unique(contact[::-1], return_index=True)[1]
    pf.contacts["called"][contact[last]] = True
    pf.contacts["last_failed"][contact[last]] = FAILED_CALL[actions.outcome[rows[last]]]


def end_of_day(pf: Portfolio, act: Activity, day: int, changes: DayChanges, delivering: bool) -> None:
    """Restructures agreed today, follow-ups of arrangements, restrictions and legal cases, new legal referrals."""
    rng = day_rng(pf.seed, day, RNG_EVENTS)
    loans = pf.loans
    if delivering:
        _restructure(pf, act, rng, day, changes)
    for record in act.arrangements:
        if record.next_day != day or record.values["status"] != "active":
            continue
        loan = record.values["loan"]
        cured = loans["status"][loan] == CLOSED or loans["first_unpaid_due"][loan] >= day
        if record.values["kind"] == "settlement":
            cured = settlement_kept(record)
        record.values["status"] = "completed" if cured else "broken"
        record.updated = day
        changes.arrangements.append(record)
    judge_plans(pf, act.arrangements, day)
    for record in act.restrictions:
        if record.next_day == day and record.values["to"] is None:
            record.values["to"] = day  # dispute resolved / hold lifted: active through today
            record.updated = day
            changes.restrictions.append(record)
    _legal(pf, act, rng, day, changes, delivering)


def _restructure(pf: Portfolio, act: Activity, rng: np.random.Generator, day: int, changes: DayChanges) -> None:
    todo = [loan for loan in act.pending_restructures if pf.loans["status"][loan] == ACTIVE]
    act.pending_restructures = []
    if not todo:
        return
    loans = np.asarray(todo, np.int64)
    outstanding = np.asarray([pf.exact_outstanding_principal(int(loan)) for loan in todo], np.int64)
    keep = outstanding >= 10000
    loans, outstanding = loans[keep], outstanding[keep]
    left = pf.loans["n"][loans] - pf.loans["paid_count"][loans]
    terms = np.clip(left + 6, 6, 36).astype(np.int64)
    effective = np.full(len(loans), day + 1, np.int64)
    schedules = amortise(
        outstanding, np.round(pf.loans["rate"][loans] * 0.8, 4), terms, np.zeros(len(loans)), effective
    )
    version = pf.loans["version"][loans] + 1
    start = len(pf.installments)
    pf._append_schedules(loans, schedules, version, effective, terms)
    changes.installments.extend(range(start, len(pf.installments)))
    for i, loan in enumerate(loans.tolist()):
        pf.schedule_switches.setdefault(day + 1, []).append(
            (loan, start + int(schedules.offsets[i]), int(terms[i]), int(version[i]))
        )
        changes.arrangements.append(_arrangement(act, loan, "restructure", day, int(version[i])))
    # After a restructure most borrowers keep to the new plan; some default on it again.
    relapse = rng.random(len(loans)) < 0.3
    pf.loans["type"][loans] = np.where(relapse, ROLLER, 0)
    pf.loans["trigger_k"][loans] = 2


LEGAL_STEPS = {
    "referred": ("accepted", 7, 20),
    "accepted": ("filed", 10, 30),
    "filed": ("judgment", 30, 60),
    "judgment": ("enforcement", 10, 30),
    "enforcement": ("closed", 30, 90),
}


def _legal(
    pf: Portfolio, act: Activity, rng: np.random.Generator, day: int, changes: DayChanges, delivering: bool
) -> None:
    p = pf.params["collections"]
    loans = pf.loans
    for record in act.legal_cases:
        v = record.values
        if v["status"] in ("closed", "withdrawn"):
            continue
        loan = v["loan"]
        if loans["status"][loan] == CLOSED:
            new_status = "closed"
        elif record.next_day == day:
            new_status = "withdrawn" if rng.random() < 0.1 else LEGAL_STEPS[v["status"]][0]
        else:
            continue
        v["status"] = new_status
        enter_status(record, new_status, day)
        record.updated = day
        changes.legal_cases.append(record)
        if new_status in LEGAL_STEPS:
            lo, hi = LEGAL_STEPS[new_status][1:]
            record.next_day = day + int(rng.integers(lo, hi + 1))
        if new_status == "judgment":
            v["judgment"] = int(round(v["claim"] * float(rng.uniform(0.8, 1.0)), -2))
        borrower = int(loans["borrower"][loan])
        if new_status == "filed":
            hold = act.add_restriction(borrower, "legal_hold", None, day + 1, None, day)
            v["hold"] = hold.id
            changes.restrictions.append(hold)
        if new_status in ("closed", "withdrawn"):
            loans["legal_open"][loan] = False
            if "hold" in v:
                hold = act.restrictions[v["hold"] - 1]
                if hold.values["to"] is None:
                    hold.values["to"], hold.updated = day, day
                    changes.restrictions.append(hold)
    if not delivering:
        return
    dpd = np.maximum(day - loans["first_unpaid_due"], 0)
    late = ((loans["status"] == ACTIVE) & (dpd > 90)) | (loans["status"] == WRITTEN_OFF)
    candidates = np.nonzero(late & ~loans["legal_open"])[0]
    candidates = candidates[rng.random(len(candidates)) < p["legal_referral_probability"]]
    candidates = candidates[pf.outstanding_principal(candidates) >= p["legal_min_principal"] * 100]
    for loan in candidates.tolist():
        changes.legal_cases.append(open_case(pf, act, rng, loan, day, "referred", day))


def open_case(
    pf: Portfolio, act: Activity, rng: np.random.Generator, loan: int, opened: int, status: str, today: int
) -> Record:
    """A legal case on a loan (referred today, or already further along in the initial book)."""
    courts = pf.params["courts"]
    record = Record(
        id=len(act.legal_cases) + 1,
        values={
            "loan": loan,
            "status": status,
            "opened_on": opened,
            "court": int(rng.integers(0, len(courts))),
            "claim": int(pf.remaining(np.asarray([loan]))[0]),
            "judgment": None,
        },
        updated=today,
    )
    lo, hi = LEGAL_STEPS[status][1:]
    record.next_day = today + int(rng.integers(lo, hi + 1))
    pf.loans["legal_open"][loan] = True
    enter_status(record, status, today)
    act.legal_cases.append(record)
    return record


def initial_activity(pf: Portfolio, act: Activity, day: int) -> DayChanges:
    """Restrictions and legal cases already in place when the first delivery is made (the book has a past)."""
    rng = day_rng(pf.seed, day, RNG_EVENTS + 100)
    changes = DayChanges()
    loans = pf.loans
    dpd = np.maximum(day - 1 - loans["first_unpaid_due"], 0)
    troubled = ((loans["status"] == ACTIVE) & (dpd > 0)) | (loans["status"] == WRITTEN_OFF)
    borrowers = np.unique(loans["borrower"][troubled])
    for kind, share in pf.params["initial_restrictions"].items():
        chosen = borrowers[rng.random(len(borrowers)) < share]
        for borrower in chosen.tolist():
            start = day - int(rng.integers(1, 90))
            end: int | None = None
            channel: str | None = None
            if kind == "do_not_contact":
                channel = ["call", "sms", None][int(rng.integers(0, 3))]
                end = start + int(rng.integers(30, 180))
            elif kind == "complaint":
                end = start + 30
            record = act.add_restriction(borrower, kind, channel, start, end, start)
            if kind == "dispute":
                record.next_day = day + int(rng.integers(5, 30))
            changes.restrictions.append(record)
    late = np.nonzero(((loans["status"] == ACTIVE) & (dpd > 90)) | (loans["status"] == WRITTEN_OFF))[0]
    late = late[pf.outstanding_principal(late) >= pf.params["collections"]["legal_min_principal"] * 100]
    late = late[rng.random(len(late)) < pf.params["initial_legal_share"]]
    for loan in late.tolist():
        status = ["referred", "accepted", "filed", "judgment"][int(rng.integers(0, 4))]
        opened = day - int(rng.integers(10, 120))
        record = open_case(pf, act, rng, loan, opened, status, opened)
        record.next_day = day + int(rng.integers(1, 30))
        if status in ("filed", "judgment"):
            hold = act.add_restriction(int(loans["borrower"][loan]), "legal_hold", None, opened + 20, None, opened + 20)
            record.values["hold"] = hold.id
            changes.restrictions.append(hold)
        if status == "judgment":
            record.values["judgment"] = int(round(record.values["claim"] * 0.9, -2))
        changes.legal_cases.append(record)
    return changes
