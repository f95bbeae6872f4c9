"""Collections marts on a small hand-made portfolio, built by real dbt on a real warehouse.

Rows go straight into the typed landing tables (as the loader would leave them), then
`arrears.transform.build` runs the whole dbt project for a business date. Each loan is built to
land in one row of the business-rules §5 table; each injected action breaks one §7 rule.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
import pytest

from arrears.contract import load_contract
from arrears.contract.ddl import ensure_partition

D = dt.date(2026, 3, 10)
DAY_BEFORE = D - dt.timedelta(days=1)
DAY_AFTER = D + dt.timedelta(days=1)
TZ = "+08:00"


def insert_raw(
    conn: psycopg.Connection, entity_name: str, delivered_on: dt.date, rows: Iterable[dict[str, Any]]
) -> None:
    """Insert typed rows into an entity's landing table with lineage, as one delivery file."""
    entity = load_contract().entity(entity_name)
    names = entity.column_names
    lineage = ["_business_date", "_file", "_line", "_loaded_at"]
    ensure_partition(conn, entity, delivered_on)
    placeholders = ", ".join(["%s"] * (len(names) + len(lineage)))
    statement = f"insert into {entity.raw_table} ({', '.join(names + lineage)}) values ({placeholders})"
    for line, row in enumerate(rows, start=2):
        unknown = set(row) - set(names)
        assert not unknown, f"{entity_name}: unknown columns {unknown}"
        values = [row.get(name) for name in names]
        extra: list[Any] = [delivered_on, f"{entity_name}.csv", line, dt.datetime.now(dt.UTC)]
        conn.execute(statement, values + extra)


def at(day: dt.date, hhmmss: str) -> str:
    """A timestamp on `day` at borrower-local (Asia/Shanghai) time `hhmmss`."""
    return f"{day.isoformat()} {hhmmss}{TZ}"


# loan_id -> (due date of its single installment, principal, borrower has an address)
LOANS: dict[str, tuple[dt.date, int, bool]] = {
    "predue": (D + dt.timedelta(days=2), 1000, True),
    "current": (D + dt.timedelta(days=20), 1000, True),
    "early_plain": (dt.date(2026, 3, 1), 1000, True),
    "early_promise": (dt.date(2026, 3, 1), 1000, True),
    "early_dnc_all": (dt.date(2026, 3, 1), 1000, True),
    "early_dnc_lifted": (dt.date(2026, 3, 1), 1000, True),
    "early_lost_contact": (dt.date(2026, 3, 1), 1000, True),
    "disputed": (dt.date(2026, 3, 1), 1000, True),
    "field": (dt.date(2026, 1, 5), 5000, True),
    "mid_no_address": (dt.date(2026, 1, 5), 5000, False),
    "late_legal": (dt.date(2025, 11, 1), 20000, True),
    "late_agency": (dt.date(2025, 11, 1), 5000, True),
}
QUEUED = set(LOANS) - {"current"}


def borrower(loan_id: str) -> str:
    return f"b_{loan_id}"


def load_portfolio(conn: psycopg.Connection) -> None:
    """The portfolio as delivered up to D, plus one later delivery D must not see."""
    first = dt.date(2026, 3, 1)
    insert_raw(
        conn,
        "borrowers",
        first,
        (
            {
                "borrower_id": borrower(loan_id),
                "full_name": "测试",
                "province": "上海市",
                "city": "上海市",
                "address": "某路1号" if has_address else None,
                "updated_at": at(first, "01:00:00"),
            }
            for loan_id, (_, _, has_address) in LOANS.items()
        ),
    )
    contact_points = []
    for loan_id in LOANS:
        contact_points.append(
            {
                "contact_point_id": f"own_{loan_id}",
                "borrower_id": borrower(loan_id),
                "kind": "own_mobile",
                "phone": "13800000000",
                "is_valid": True,
                "updated_at": at(first, "01:00:00"),
            }
        )
        contact_points.append(
            {
                "contact_point_id": f"tp_{loan_id}",
                "borrower_id": borrower(loan_id),
                "kind": "emergency_contact",
                "relationship": "parent",
                "phone": "13900000000",
                "is_valid": True,
                "updated_at": at(first, "01:00:00"),
            }
        )
    insert_raw(conn, "contact_points", first, contact_points)
    insert_raw(
        conn,
        "loans",
        first,
        (
            {
                "loan_id": loan_id,
                "borrower_id": borrower(loan_id),
                "product_code": "cash_loan",
                "principal": principal,
                "currency": "CNY",
                "term_months": 1,
                "disbursed_on": dt.date(2025, 6, 1),
                "status": "active",
                "updated_at": at(first, "01:00:00"),
            }
            for loan_id, (_, principal, _) in LOANS.items()
        ),
    )
    insert_raw(
        conn,
        "installments",
        first,
        (
            {
                "loan_id": loan_id,
                "schedule_version": 1,
                "effective_from": dt.date(2025, 6, 1),
                "installment_no": 1,
                "due_date": due,
                "principal_due": principal,
                "interest_due": 0,
                "fee_due": 0,
                "updated_at": at(first, "01:00:00"),
            }
            for loan_id, (due, principal, _) in LOANS.items()
        ),
    )
    restriction_base = {"effective_from": first, "updated_at": at(first, "01:00:00")}
    insert_raw(
        conn,
        "restrictions",
        first,
        [
            {"restriction_id": "r_dnc_all", "borrower_id": borrower("early_dnc_all"), "kind": "do_not_contact"}
            | restriction_base,
            {"restriction_id": "r_dnc_lifted", "borrower_id": borrower("early_dnc_lifted"), "kind": "do_not_contact"}
            | restriction_base,
            {"restriction_id": "r_dispute", "borrower_id": borrower("disputed"), "kind": "dispute"} | restriction_base,
        ],
    )
    # A later version lifts the do-not-contact (effective_to in the past): the latest version wins.
    insert_raw(
        conn,
        "restrictions",
        dt.date(2026, 3, 5),
        [
            {
                "restriction_id": "r_dnc_lifted",
                "borrower_id": borrower("early_dnc_lifted"),
                "kind": "do_not_contact",
                "effective_from": first,
                "effective_to": dt.date(2026, 3, 4),
                "updated_at": at(dt.date(2026, 3, 5), "01:00:00"),
            }
        ],
    )
    # Delivered after D: the queue for D must not see it.
    insert_raw(
        conn,
        "restrictions",
        DAY_AFTER,
        [
            {
                "restriction_id": "r_late_news",
                "borrower_id": borrower("early_plain"),
                "kind": "do_not_contact",
                "effective_from": first,
                "updated_at": at(DAY_AFTER, "01:00:00"),
            }
        ],
    )
    insert_raw(conn, "collection_actions", DAY_BEFORE, earlier_actions())
    insert_raw(conn, "collection_actions", D, actions_of_d())


def action(action_id: str, loan_id: str, when: str, outcome: str, **extra: Any) -> dict[str, Any]:
    """An outbound call by team early on the loan's own mobile, unless overridden."""
    row = {
        "action_id": action_id,
        "loan_id": loan_id,
        "borrower_id": borrower(loan_id),
        "contact_point_id": f"own_{loan_id}",
        "action_at": when,
        "channel": "call",
        "direction": "outbound",
        "team_id": "early",
        "agent_id": "agent_1",
        "outcome": outcome,
    }
    return row | extra


def earlier_actions() -> list[dict[str, Any]]:
    """Delivered on D-1: the promise, and two failed calls towards lost contact."""
    return [
        action(
            "promise",
            "early_promise",
            at(DAY_BEFORE, "10:00:00"),
            "promise_to_pay",
            promised_amount=1000,
            promised_date=D + dt.timedelta(days=2),
        ),
        action("lost_1", "early_lost_contact", at(DAY_BEFORE, "10:00:00"), "no_answer"),
        action("lost_2", "early_lost_contact", at(DAY_BEFORE, "11:00:00"), "unreachable"),
    ]


# action_id -> rule, for the actions of D built to break exactly one rule each
EXPECTED_VIOLATIONS = {
    ("night_call", "outside_contact_window"),
    ("lonely_visit", "visit_under_two_collectors"),
    ("tp_not_lost", "third_party_without_lost_contact"),
    ("sms_despite_dnc", "contact_during_restriction"),
    ("connected_4", "over_daily_connected_calls"),
    ("unanswered_7", "over_daily_unanswered_attempts"),
}


def actions_of_d() -> list[dict[str, Any]]:
    """Delivered on D: the third failed call (lost contact), clean actions, and one per rule broken."""
    rows = [
        action("lost_3", "early_lost_contact", at(D, "09:00:00"), "wrong_number"),
        action(
            "tp_lost_ok",
            "early_lost_contact",
            at(D, "09:30:00"),
            "third_party",
            contact_point_id="tp_early_lost_contact",
        ),
        action("ok_call", "early_plain", at(D, "08:00:00"), "no_answer"),
        action(
            "ok_letter_at_night",
            "late_legal",
            at(D, "23:30:00"),
            "delivered",
            channel="letter",
            team_id="legal",
            contact_point_id=None,
        ),
        action("night_call", "early_plain", at(D, "22:00:00"), "no_answer"),
        action(
            "lonely_visit",
            "field",
            at(D, "10:00:00"),
            "no_answer",
            channel="visit",
            team_id="field",
            contact_point_id=None,
            collectors_present=1,
        ),
        action(
            "ok_visit",
            "field",
            at(D, "11:00:00"),
            "no_answer",
            channel="visit",
            team_id="field",
            contact_point_id=None,
            collectors_present=2,
        ),
        action("tp_not_lost", "early_plain", at(D, "12:00:00"), "third_party", contact_point_id="tp_early_plain"),
        action("sms_despite_dnc", "early_dnc_all", at(D, "12:00:00"), "delivered", channel="sms"),
        action("sms_after_lift", "early_dnc_lifted", at(D, "12:00:00"), "delivered", channel="sms"),
    ]
    rows += [
        action(f"connected_{n}", "mid_no_address", at(D, f"1{n}:00:00"), "right_party_contact", team_id="mid")
        for n in range(1, 5)
    ]
    rows += [
        action(
            f"unanswered_{n}",
            "late_agency",
            at(D, f"13:0{n}:00"),
            "busy" if n <= 2 else "no_answer",
            team_id="agency:acme",
        )
        for n in range(1, 8)
    ]
    return rows


def build(day: dt.date) -> None:
    from arrears.transform import build as build_models

    build_models(day)


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory, server_url: str) -> Iterable[str]:
    """One database with the portfolio, built for D-1 then D (dbt is slow: build once per module)."""
    import os

    from arrears.warehouse.schema import init_schema

    name = f"test_collections_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    patch = pytest.MonkeyPatch()
    patch.setenv("ARREARS_WAREHOUSE_URL", url)
    patch.setenv("ARREARS_HOME", str(tmp_path_factory.mktemp("collections_home")))
    with psycopg.connect(url, autocommit=True) as conn:
        init_schema(conn)
        load_portfolio(conn)
    build(DAY_BEFORE)
    build(D)
    yield url
    patch.undo()
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


def queue_of(url: str, day: dt.date) -> dict[str, dict[str, Any]]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("select * from marts.fct_work_queue where business_date = %s", (day,))
        return {row["loan_id"]: row for row in cur.fetchall()}


def test_every_pre_due_or_delinquent_loan_has_exactly_one_queue_row(built_warehouse: str) -> None:
    with psycopg.connect(built_warehouse) as conn:
        rows = conn.execute(
            "select loan_id, count(*) from marts.fct_work_queue where business_date = %s group by loan_id", (D,)
        ).fetchall()
    assert dict(rows) == {loan_id: 1 for loan_id in QUEUED}


def test_queue_follows_the_routing_table_and_the_narrowing(built_warehouse: str) -> None:
    queue = queue_of(built_warehouse, D)
    routed = {loan_id: (row["team_id"], row["allowed_channels"], row["hold_reason"]) for loan_id, row in queue.items()}
    assert routed == {
        "predue": ("predue", ["sms", "app_push"], None),
        "early_plain": ("early", ["call", "sms"], None),
        "early_promise": ("early", ["sms"], None),
        "early_dnc_all": (None, [], "do_not_contact"),
        "early_dnc_lifted": ("early", ["call", "sms"], None),
        "early_lost_contact": ("early", ["call", "sms"], None),
        "disputed": (None, [], "dispute"),
        "field": ("field", ["visit"], None),
        "mid_no_address": ("mid", ["call", "sms", "email"], None),
        "late_legal": ("legal", ["letter", "legal_notice"], None),
        # Placed on D-1 with acme (md5 "late_agency:1" = 0.346 of acme 0.5 | pioneer 0.2 | summit 0.3), recalled
        # on D for acme's misconduct (unanswered_7 broke the daily cap) and re-placed with another agency:
        # "late_agency:2" = 0.273 of pioneer 0.4 | summit 0.6 (shares renormalised without acme).
        "late_agency": ("agency:pioneer", ["call", "sms", "letter"], None),
    }
    with psycopg.connect(built_warehouse) as conn:
        placements = conn.execute(
            "select placement_number, agency_id, placed_on, recalled_on, recall_reason"
            " from marts.fct_agency_placements where loan_id = 'late_agency' order by placement_number"
        ).fetchall()
    assert placements == [(1, "acme", DAY_BEFORE, D, "misconduct"), (2, "pioneer", D, None, None)]
    assert queue["early_promise"]["reason"] == "early,ptp_hold"
    assert all(row["work_date"] == D + dt.timedelta(days=1) for row in queue.values())
    assert queue["field"]["min_collectors"] == 2


def test_no_call_with_an_open_promise_and_no_team_on_a_held_row(built_warehouse: str) -> None:
    with psycopg.connect(built_warehouse) as conn:
        calls_despite_promise = conn.execute(
            "select count(*) from marts.fct_work_queue where has_open_promise and 'call' = any(allowed_channels)"
        ).fetchone()
        held_with_team = conn.execute(
            "select count(*) from marts.fct_work_queue where hold_reason is not null and team_id is not null"
        ).fetchone()
    assert calls_despite_promise == (0,)
    assert held_with_team == (0,)


def test_third_party_numbers_only_for_lost_contact_and_locate_only(built_warehouse: str) -> None:
    with psycopg.connect(built_warehouse) as conn:
        rows = conn.execute(
            "select loan_id, contact_point_id, locate_only from marts.fct_work_queue_contacts where business_date = %s",
            (D,),
        ).fetchall()
    third_parties = {(loan_id, cp, locate_only) for loan_id, cp, locate_only in rows if cp.startswith("tp_")}
    # early_lost_contact failed its last 3 calls; late_agency's last 3 of 7 unanswered calls are no_answer.
    assert third_parties == {
        ("early_lost_contact", "tp_early_lost_contact", True),
        ("late_agency", "tp_late_agency", True),
    }
    assert ("early_plain", "own_early_plain", False) in rows


def test_violations_are_exactly_the_injected_ones(built_warehouse: str) -> None:
    with psycopg.connect(built_warehouse) as conn:
        found = set(
            conn.execute(
                "select action_id, rule from marts.fct_compliance_violations where business_date = %s", (D,)
            ).fetchall()
        )
        summary = conn.execute(
            "select team_id, agency_name, rule, violations from marts.agg_compliance_violations_daily "
            "where business_date = %s and rule = 'over_daily_unanswered_attempts'",
            (D,),
        ).fetchall()
    assert found == EXPECTED_VIOLATIONS
    assert summary == [("agency:acme", "acme", "over_daily_unanswered_attempts", 1)]


def test_violations_per_1000_audited_actions_per_team_agent_and_agency(built_warehouse: str) -> None:
    """§7's rate, computed here from the delivery itself: each group's actions delivered on D (all outbound),
    its injected violations per rule, 1000 x violations / actions; a group without a violation has one row."""
    agency = {a["team_id"]: a["team_id"].split(":", 1)[1] for a in actions_of_d() if a["team_id"].startswith("agency:")}
    group_of = {a["action_id"]: (a["team_id"], a["agent_id"], agency.get(a["team_id"])) for a in actions_of_d()}
    actions = Counter(group_of.values())
    broken = Counter((group_of[action_id], rule) for action_id, rule in EXPECTED_VIOLATIONS)

    def rate(violations: int, group: tuple[str, str, str | None]) -> Decimal:
        return (Decimal(1000 * violations) / actions[group]).quantize(Decimal("0.001"), ROUND_HALF_UP)

    expected: set[tuple[object, ...]] = {
        (*group, rule, n, actions[group], rate(n, group)) for (group, rule), n in broken.items()
    }
    clean = [group for group in actions if group not in {g for g, _ in broken}]
    expected |= {(*group, None, 0, actions[group], rate(0, group)) for group in clean}
    with psycopg.connect(built_warehouse) as conn:
        rows = conn.execute(
            "select team_id, agent_id, agency_name, rule, violations, actions, violations_per_1000_actions"
            " from marts.agg_compliance_violations_daily where business_date = %s",
            (D,),
        ).fetchall()
    assert sorted(rows, key=repr) == sorted(expected, key=repr)


def test_promise_is_open_and_performance_counts_the_day(built_warehouse: str) -> None:
    with psycopg.connect(built_warehouse) as conn:
        promise = conn.execute(
            "select status, window_ends_on from marts.fct_promises_to_pay where action_id = 'promise'"
        ).fetchone()
        mid = conn.execute(
            "select attempts, rpc from marts.agg_collection_performance_daily "
            "where business_date = %s and team_id = 'mid' and agent_id = 'agent_1' and channel = 'call'",
            (D,),
        ).fetchone()
    assert promise == ("open", D + dt.timedelta(days=4))
    assert mid == (4, 4)


def test_rebuilding_a_date_later_gives_the_same_queue(built_warehouse: str) -> None:
    before = queue_of(built_warehouse, D)
    build(D)  # the restriction delivered on D+1 is in the warehouse but must stay invisible to D
    assert queue_of(built_warehouse, D) == before
    with psycopg.connect(built_warehouse) as conn:
        assert conn.execute(
            "select count(*) from marts.fct_compliance_violations where business_date = %s", (D,)
        ).fetchone() == (len(EXPECTED_VIOLATIONS),)


def test_stored_contact_points_are_the_versions_known_at_each_night(conn: psycopg.Connection) -> None:
    """stored_contact_points merges only the versions delivered since its last night, and equals the
    staging view (every delivered version, §1) on every night: a later version replaces, a stale one
    delivered later does not, a skipped night is caught up, and a rerun of an earlier night rebuilds."""

    def number(cp_id: str, updated: dt.date, kind: str = "own_mobile", valid: bool = True) -> dict[str, Any]:
        return {
            "contact_point_id": cp_id,
            "borrower_id": "B1",
            "kind": kind,
            "phone": "13800000000",
            "is_valid": valid,
            "updated_at": at(updated, "09:00:00"),
        }

    nights = [D + dt.timedelta(days=n) for n in range(4)]
    insert_raw(conn, "contact_points", nights[0], [number("CP1", nights[0]), number("CP2", nights[0])])
    stale = number("CP2", nights[0] - dt.timedelta(days=30), kind="employer")
    insert_raw(conn, "contact_points", nights[1], [number("CP1", nights[1], valid=False), stale])
    insert_raw(conn, "contact_points", nights[2], [number("CP3", nights[2], kind="emergency_contact")])
    insert_raw(conn, "contact_points", nights[3], [number("CP1", nights[3])])

    from arrears.transform import build as build_models

    columns = "contact_point_id, borrower_id, kind, is_valid, is_third_party"

    def stored() -> list[tuple[Any, ...]]:
        return conn.execute(f"select {columns} from stored.stored_contact_points order by 1").fetchall()

    def row_version(cp_id: str) -> str:
        found = conn.execute(
            "select xmin::text from stored.stored_contact_points where contact_point_id = %s", [cp_id]
        ).fetchone()
        assert found is not None
        return str(found[0])

    seen: dict[dt.date, list[tuple[Any, ...]]] = {}
    for night in (nights[0], nights[1], nights[3], nights[1]):  # nights[2] skipped, then a rerun of nights[1]
        cp2_before = row_version("CP2") if night != nights[0] else None
        build_models(night, select=["+stored_contact_points", "stg_contact_points"])
        known = conn.execute(f"select {columns} from staging.stg_contact_points order by 1").fetchall()
        assert stored() == known, f"stored contact points differ from the staging view on {night}"
        if night == nights[1] and night not in seen:
            assert row_version("CP2") == cp2_before, "the night rewrote a number nothing was delivered for"
        seen.setdefault(night, stored())

    assert seen[nights[1]] == [
        ("CP1", "B1", "own_mobile", False, False),
        ("CP2", "B1", "own_mobile", True, False),
    ]
    assert seen[nights[3]] == [
        ("CP1", "B1", "own_mobile", True, False),
        ("CP2", "B1", "own_mobile", True, False),
        ("CP3", "B1", "emergency_contact", True, True),
    ]
    assert stored() == seen[nights[1]]  # the rerun of an earlier night rebuilt it as known then


def test_stored_actions_take_each_action_once_from_its_first_delivery(conn: psycopg.Connection) -> None:
    """stored_collection_actions reads only what was first delivered since the last night stored.

    Redelivered actions must not come back as new; a night never built is caught up by the next.
    """

    def action(action_id: str, day: dt.date) -> dict[str, Any]:
        return {
            "action_id": action_id,
            "loan_id": "L1",
            "borrower_id": "B1",
            "action_at": at(day, "10:00:00"),
            "channel": "call",
            "direction": "outbound",
            "team_id": "early",
            "agent_id": "agent_1",
            "outcome": "no_answer",
        }

    nights = [D + dt.timedelta(days=n) for n in range(4)]
    insert_raw(conn, "collection_actions", nights[0], [action("first", nights[0])])
    insert_raw(conn, "collection_actions", nights[1], [action("first", nights[0]), action("second", nights[1])])
    insert_raw(conn, "collection_actions", nights[2], [action("never_built_night", nights[2])])
    insert_raw(conn, "collection_actions", nights[3], [action("second", nights[1]), action("fourth", nights[3])])

    from arrears.transform import build as build_models

    for night in (nights[0], nights[1], nights[3]):  # nights[2] is skipped
        build_models(night, select=["+stored_collection_actions"])

    stored = conn.execute(
        "select action_id, delivered_on from stored.stored_collection_actions order by delivered_on, action_id"
    ).fetchall()
    assert stored == [
        ("first", nights[0]),
        ("second", nights[1]),
        ("never_built_night", nights[2]),
        ("fourth", nights[3]),
    ]
