"""Simulator state -> contract rows: every entity's columns as CSV-ready strings, produced in slices.

A `Rows` is (row count, slice function); the slice function returns {column name: values} and the writer puts
the columns in the order of the landing contract, so no column list is repeated here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from arrears.generate.activity import CHANNELS, OUTCOMES, TEAMS, Actions, Record
from arrears.generate.agencies import first_placement_agency
from arrears.generate.identity import national_ids
from arrears.generate.pools import Pools
from arrears.generate.portfolio import CP_KINDS, PAYMENT_CHANNELS, PRODUCTS, RELATIONSHIPS, PaymentBatch, Portfolio

Columns = dict[str, list[str]]
Rows = tuple[int, Callable[[int, int], Columns]]
TIMES = [f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00" for s in range(86400)]
STATUS = ["active", "closed", "written_off"]


def dates(days: np.ndarray) -> list[str]:
    """Day numbers as YYYY-MM-DD."""
    return np.datetime_as_string(np.asarray(days, np.int64).astype("datetime64[D]")).tolist()


def optional_dates(days: np.ndarray) -> list[str]:
    """Day numbers as YYYY-MM-DD, empty where negative (NULL)."""
    text = dates(np.maximum(days, 0))
    return [t if d >= 0 else "" for t, d in zip(text, np.asarray(days).tolist(), strict=True)]


def timestamps(days: np.ndarray, seconds: np.ndarray) -> list[str]:
    """ISO 8601 local timestamps with the +08:00 offset of Asia/Shanghai."""
    return [d + TIMES[s] for d, s in zip(dates(days), np.asarray(seconds).tolist(), strict=True)]


def money(cents: np.ndarray) -> list[str]:
    """Amounts with two decimals."""
    return [f"{c // 100}.{c % 100:02d}" for c in np.asarray(cents, np.int64).tolist()]


def optional_money(cents: np.ndarray) -> list[str]:
    """Amounts with two decimals, empty where negative (NULL)."""
    return [f"{c // 100}.{c % 100:02d}" if c >= 0 else "" for c in np.asarray(cents, np.int64).tolist()]


def ids(prefix: str, numbers: np.ndarray, width: int) -> list[str]:
    """Identifiers like L000000042."""
    return [f"{prefix}{n:0{width}d}" for n in np.asarray(numbers, np.int64).tolist()]


def _spread(index: np.ndarray, start: int, span: int) -> np.ndarray:
    """A deterministic time of day per record (so versions of the same day keep a stable order)."""
    return start + (np.asarray(index, np.int64) * 7919) % span


def borrower_rows(pf: Portfolio, pools: Pools, index: np.ndarray) -> Rows:
    """Borrowers (full records; updated_at on their creation day)."""
    b = pf.borrowers

    def make(a: int, z: int) -> Columns:
        i = index[a:z]
        user = b["email"][i].tolist()
        return {
            "borrower_id": ids("B", i + 1, 9),
            "full_name": [pools.names[k] for k in b["name"][i].tolist()],
            "national_id": national_ids(b["area"][i], b["birth"][i], b["id_seq"][i]),
            "mobile_phone": [str(m) for m in b["mobile"][i].tolist()],
            "email": [
                f"{pools.email_users[u]}{n % 1000}@{_DOMAINS[n % 5]}" for u, n in zip(user, i.tolist(), strict=True)
            ],
            "province": [pools.provinces[k] for k in b["province"][i].tolist()],
            "city": [pools.cities[k] for k in b["city"][i].tolist()],
            "address": [pools.addresses[k] for k in b["address"][i].tolist()],
            "birth_date": [f"{d // 10000:04d}-{d // 100 % 100:02d}-{d % 100:02d}" for d in b["birth"][i].tolist()],
            "updated_at": timestamps(b["created"][i], _spread(i, 9 * 3600, 3600)),
        }

    return len(index), make


_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "outlook.com"]


def contact_rows(pf: Portfolio, index: np.ndarray) -> Rows:
    """Contact points (current version)."""
    c = pf.contacts

    def make(a: int, z: int) -> Columns:
        i = index[a:z]
        return {
            "contact_point_id": ids("CP", i + 1, 10),
            "borrower_id": ids("B", c["borrower"][i] + 1, 9),
            "kind": [CP_KINDS[k] for k in c["kind"][i].tolist()],
            "relationship": [RELATIONSHIPS[r] if r >= 0 else "" for r in c["relationship"][i].tolist()],
            "phone": [str(m) for m in c["phone"][i].tolist()],
            "is_valid": ["true" if v else "false" for v in c["valid"][i].tolist()],
            "updated_at": timestamps(c["updated"][i], _spread(i, 10 * 3600, 3600 * 11)),
        }

    return len(index), make


def loan_rows(pf: Portfolio, index: np.ndarray) -> Rows:
    """Loans (current version)."""
    loans = pf.loans

    def make(a: int, z: int) -> Columns:
        i = index[a:z]
        return {
            "loan_id": ids("L", i + 1, 10),
            "borrower_id": ids("B", loans["borrower"][i] + 1, 9),
            "product_code": [PRODUCTS[k] for k in loans["product"][i].tolist()],
            "principal": money(loans["principal"][i]),
            "currency": ["CNY"] * len(i),
            "annual_rate": [f"{r:.4f}" for r in loans["rate"][i].tolist()],
            "term_months": [str(t) for t in loans["term"][i].tolist()],
            "disbursed_on": dates(loans["disbursed"][i]),
            "status": [STATUS[s] for s in loans["status"][i].tolist()],
            "closed_on": optional_dates(loans["closed_on"][i]),
            "written_off_on": optional_dates(loans["written_off_on"][i]),
            "updated_at": timestamps(loans["updated"][i], _spread(i, 11 * 3600, 3600 * 11)),
        }

    return len(index), make


def installment_rows(pf: Portfolio, positions: np.ndarray) -> Rows:
    """Installments at the given flat positions (whole schedules)."""
    inst = pf.installments

    def make(a: int, z: int) -> Columns:
        i = positions[a:z]
        loan = inst["loan"][i]
        version = inst["version"][i]
        created = np.where(version == 1, inst["effective"][i], inst["effective"][i] - 1)
        return {
            "loan_id": ids("L", loan + 1, 10),
            "schedule_version": [str(v) for v in version.tolist()],
            "effective_from": dates(inst["effective"][i]),
            "installment_no": [str(n) for n in inst["number"][i].tolist()],
            "due_date": dates(inst["due"][i]),
            "principal_due": money(inst["principal"][i]),
            "interest_due": money(inst["interest"][i]),
            "fee_due": money(inst["fee"][i]),
            "updated_at": timestamps(created, _spread(loan, 11 * 3600, 3600 * 11)),
        }

    return len(positions), make


def payment_rows(batches: Sequence[PaymentBatch]) -> Rows:
    """Payments and reversals, ids P<value date><sequence>."""
    loan = np.concatenate([x.loan for x in batches]) if batches else np.zeros(0, np.int64)
    day = np.concatenate([np.full(len(x.loan), x.day) for x in batches]) if batches else loan
    seq = np.concatenate([x.seq for x in batches]) if batches else loan
    amount = np.concatenate([x.amount for x in batches]) if batches else loan
    second = np.concatenate([x.second for x in batches]) if batches else loan
    channel = np.concatenate([x.channel for x in batches]) if batches else loan
    rday = np.concatenate([x.reversal_of_day for x in batches]) if batches else loan
    rseq = np.concatenate([x.reversal_of_seq for x in batches]) if batches else loan
    ymd = [d.replace("-", "") for d in dates(day)] if len(day) else []

    def make(a: int, z: int) -> Columns:
        rymd = [d.replace("-", "") for d in dates(np.maximum(rday[a:z], 0))]
        return {
            "payment_id": [f"P{d}{s:07d}" for d, s in zip(ymd[a:z], seq[a:z].tolist(), strict=True)],
            "loan_id": ids("L", loan[a:z] + 1, 10),
            "received_at": timestamps(day[a:z], second[a:z]),
            "value_date": dates(day[a:z]),
            "amount": money(amount[a:z]),
            "channel": [PAYMENT_CHANNELS[c] for c in channel[a:z].tolist()],
            "reversal_of": [f"P{d}{s:07d}" if s >= 0 else "" for d, s in zip(rymd, rseq[a:z].tolist(), strict=True)],
        }

    return len(loan), make


AGENCY_TEAM = TEAMS.index("agency")


def action_rows(pf: Portfolio, actions: Actions) -> Rows:
    """Collection actions, ids A<date><sequence> in time order."""
    ymd = dates(np.asarray([actions.day]))[0].replace("-", "")

    def team_name(team: int, loan: int) -> str:
        return f"agency:{first_placement_agency(f'L{loan + 1:010d}')}" if team == AGENCY_TEAM else TEAMS[team]

    def make(a: int, z: int) -> Columns:
        loan = actions.loan[a:z].tolist()
        teams = [team_name(t, ln) for t, ln in zip(actions.team[a:z].tolist(), loan, strict=True)]
        agents = [
            (t.split(":")[-1] + f"-{g:03d}") if g > 0 else ""
            for t, g in zip(teams, actions.agent[a:z].tolist(), strict=True)
        ]
        day = np.full(z - a, actions.day)
        return {
            "action_id": [f"A{ymd}{n:08d}" for n in range(a + 1, z + 1)],
            "loan_id": ids("L", actions.loan[a:z] + 1, 10),
            "borrower_id": ids("B", actions.borrower[a:z] + 1, 9),
            "contact_point_id": [f"CP{c + 1:010d}" if c >= 0 else "" for c in actions.contact[a:z].tolist()],
            "action_at": timestamps(day, actions.second[a:z]),
            "channel": [CHANNELS[c] for c in actions.channel[a:z].tolist()],
            "direction": ["outbound"] * (z - a),
            "team_id": teams,
            "agent_id": agents,
            "outcome": [OUTCOMES[o] for o in actions.outcome[a:z].tolist()],
            "promised_amount": optional_money(actions.promised_amount[a:z]),
            "promised_date": optional_dates(actions.promised_day[a:z]),
            "collectors_present": [str(c) if c >= 0 else "" for c in actions.collectors[a:z].tolist()],
        }

    return len(actions), make


def action_id(day: int, position: int) -> str:
    """The action_id of the action at 0-based `position` of a day's file."""
    return f"A{dates(np.asarray([day]))[0].replace('-', '')}{position + 1:08d}"


def _record_rows(records: Sequence[Record], make_one: Callable[[Record], dict[str, str]]) -> Rows:
    latest = {r.id: r for r in records}  # one version per key and delivery
    ordered = [latest[k] for k in sorted(latest)]

    def make(a: int, z: int) -> Columns:
        rows = [make_one(r) for r in ordered[a:z]]
        return {name: [row[name] for row in rows] for name in (rows[0] if rows else {})}

    return len(ordered), make


def _date(day: int | None) -> str:
    return "" if day is None else dates(np.asarray([day]))[0]


def _stamp(day: int, key: int) -> str:
    return _date(day) + TIMES[int(_spread(np.asarray([key]), 19 * 3600, 4 * 3600)[0])]


def restriction_rows(records: Sequence[Record]) -> Rows:
    """Restrictions (current version)."""

    def one(r: Record) -> dict[str, str]:
        v = r.values
        return {
            "restriction_id": f"R{r.id:09d}",
            "borrower_id": f"B{v['borrower'] + 1:09d}",
            "kind": v["kind"],
            "channel": v["channel"] or "",
            "contact_point_id": "" if v.get("contact") is None else f"CP{v['contact'] + 1:010d}",
            "effective_from": _date(v["from"]),
            "effective_to": _date(v["to"]),
            "updated_at": _stamp(r.updated, r.id),
        }

    return _record_rows(records, one)


def arrangement_rows(records: Sequence[Record]) -> Rows:
    """Arrangements (current version)."""

    def one(r: Record) -> dict[str, str]:
        v = r.values
        version = v["new_schedule_version"]
        amount = v.get("settlement_amount")
        return {
            "arrangement_id": f"AR{r.id:09d}",
            "loan_id": f"L{v['loan'] + 1:010d}",
            "kind": v["kind"],
            "agreed_on": _date(v["agreed_on"]),
            "status": v["status"],
            "new_schedule_version": "" if version is None else str(version),
            "settlement_amount": "" if amount is None else money(np.asarray([amount]))[0],
            "settle_by": _date(v.get("settle_by")),
            "updated_at": _stamp(r.updated, r.id),
        }

    return _record_rows(records, one)


def legal_case_rows(records: Sequence[Record], courts: list[str]) -> Rows:
    """Legal cases (current version)."""

    def one(r: Record) -> dict[str, str]:
        v = r.values
        judgment = v["judgment"]
        return {
            "case_id": f"LC{r.id:09d}",
            "loan_id": f"L{v['loan'] + 1:010d}",
            "status": v["status"],
            "opened_on": _date(v["opened_on"]),
            "court": courts[v["court"]],
            "claim_amount": money(np.asarray([v["claim"]]))[0],
            "judgment_amount": "" if judgment is None else money(np.asarray([judgment]))[0],
            "updated_at": _stamp(r.updated, r.id),
        }

    return _record_rows(records, one)
