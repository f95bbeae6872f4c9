"""Collections marts on a simulated portfolio: generate -> ingest -> dbt build, checked against the truth.

The simulator writes the compliance violations it injected beside the landing folder; the
violations mart must find exactly those, rule by rule, no more and no fewer, for every night it
judged. The per-number bars it filed are never offered as numbers, and the complaints it filed are
attributed to exactly the teams and agents it had contact the borrower in the 7 days up to them.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

START = dt.date(2026, 3, 1)
DAYS = 12
# Nights judged (each dbt build takes a while): between them, every rule is injected at least once.
NIGHTS = [dt.date(2026, 3, 8), dt.date(2026, 3, 10), dt.date(2026, 3, 12)]


@pytest.fixture(scope="module")
def simulated_warehouse(tmp_path_factory: pytest.TempPathFactory, server_url: str) -> Iterator[tuple[str, Path]]:
    """A database holding 12 ingested days of a 300-loan simulated portfolio, built for NIGHTS."""
    import os

    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.transform import build
    from arrears.warehouse.schema import init_schema

    landing = tmp_path_factory.mktemp("collections_sim") / "landing"
    generate(loans=300, start=START, days=DAYS, seed=7, out=landing)
    name = f"test_collections_sim_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    patch = pytest.MonkeyPatch()
    patch.setenv("ARREARS_WAREHOUSE_URL", url)
    patch.setenv("ARREARS_HOME", str(tmp_path_factory.mktemp("collections_sim_home")))
    with psycopg.connect(url, autocommit=True) as conn:
        init_schema(conn)
    for offset in range(DAYS):
        ingest_delivery(START + dt.timedelta(days=offset), landing)
    for night in NIGHTS:
        build(night)
    yield url, Path(str(landing) + "_truth")
    patch.undo()
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


def test_violations_mart_finds_exactly_the_injected_violations(simulated_warehouse: tuple[str, Path]) -> None:
    url, truth = simulated_warehouse
    with (truth / "violations.csv").open(encoding="utf-8") as handle:
        injected = {(row["action_id"], row["rule"], row["business_date"]) for row in csv.DictReader(handle)}
    # outside_placement is left to test_agencies_simulated: the simulated agencies do not see their
    # files, so besides the injected ones they also stray outside their placements (not ground truth).
    expected = {row for row in injected if row[2] in {night.isoformat() for night in NIGHTS}}
    expected = {row for row in expected if row[1] != "outside_placement"}
    with psycopg.connect(url) as conn:
        found = {
            (action_id, rule, business_date.isoformat())
            for action_id, rule, business_date in conn.execute(
                "select action_id, rule, business_date from marts.fct_compliance_violations"
                " where rule <> 'outside_placement'"
            )
        }
    assert expected, "the simulator injected no violation on the nights judged"
    rules = sorted({rule for _, rule, _ in expected | found})
    assert set(rules) >= {
        "outside_contact_window", "over_daily_connected_calls", "over_daily_unanswered_attempts",
        "third_party_without_lost_contact", "contact_during_restriction", "contact_to_barred_number",
        "visit_under_two_collectors",
    }  # fmt: skip
    for rule in rules:  # rule by rule, for a readable failure
        assert {v for v in found if v[1] == rule} == {v for v in expected if v[1] == rule}, rule


def _truth(truth: Path, name: str) -> list[dict[str, str]]:
    with (truth / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_barred_number_is_never_offered_and_bars_nothing_else(simulated_warehouse: tuple[str, Path]) -> None:
    url, truth = simulated_warehouse
    bars = _truth(truth, "number_bars.csv")
    assert bars, "the simulator filed no per-number bar"
    with psycopg.connect(url) as conn:
        for night in NIGHTS:
            day = night.isoformat()
            barred = {
                b["contact_point_id"]
                for b in bars
                if b["effective_from"] <= day and (not b["effective_to"] or b["effective_to"] >= day)
            }
            offered = {
                number
                for (number,) in conn.execute(
                    "select contact_point_id from marts.fct_work_queue_contacts where business_date = %s", (night,)
                )
            }
            assert offered, night
            assert not offered & barred, night
        # A borrower whose only restriction is a per-number bar is never held for it.
        held = conn.execute(
            "select count(*) from marts.fct_work_queue as queue where hold_reason = 'do_not_contact' and exists ("
            " select from staging.stg_restrictions as r where r.borrower_id = queue.borrower_id"
            " and r.contact_point_id is not null) and not exists ("
            " select from staging.stg_restrictions as r where r.borrower_id = queue.borrower_id"
            " and r.contact_point_id is null)"
        ).fetchone()
    assert held == (0,)


def test_complaints_are_attributed_to_exactly_the_teams_that_contacted(
    simulated_warehouse: tuple[str, Path],
) -> None:
    url, truth = simulated_warehouse
    last = NIGHTS[-1].isoformat()
    expected = {
        (r["complaint_id"], r["complaint_date"], r["team_id"], r["agent_id"] or None)
        for r in _truth(truth, "complaints.csv")
        if r["complaint_date"] <= last
    }
    with psycopg.connect(url) as conn:
        found = {
            (complaint_id, complaint_date.isoformat(), team_id, agent_id)
            for complaint_id, complaint_date, team_id, agent_id in conn.execute(
                "select complaint_id, complaint_date, team_id, agent_id from marts.fct_complaint_attributions"
            )
        }
        per_day = conn.execute("select sum(complaints) from marts.agg_complaints_daily").fetchone()
    assert expected, "the simulator filed no complaint after a contact"
    assert found == expected
    assert per_day is not None and per_day[0] == len({(c, t) for c, _, t, _ in expected})


def test_every_pre_due_or_delinquent_loan_has_exactly_one_queue_row(simulated_warehouse: tuple[str, Path]) -> None:
    url, _ = simulated_warehouse
    with psycopg.connect(url) as conn:
        for night in NIGHTS:
            in_scope = {
                loan_id
                for (loan_id,) in conn.execute(
                    "select loan_id from marts.fct_loan_delinquency_daily where business_date = %s "
                    "and stage in ('pre_due', 'early', 'mid', 'late', 'written_off')",
                    (night,),
                )
            }
            queued = conn.execute(
                "select loan_id, count(*) from marts.fct_work_queue where business_date = %s group by loan_id", (night,)
            ).fetchall()
            assert in_scope
            assert dict(queued) == dict.fromkeys(in_scope, 1)


def test_no_call_for_an_open_promise_and_no_team_on_a_held_row(simulated_warehouse: tuple[str, Path]) -> None:
    url, _ = simulated_warehouse
    with psycopg.connect(url) as conn:
        open_promise_calls = conn.execute(
            "select count(*) from marts.fct_work_queue as queue "
            "join marts.fct_promises_to_pay as promise on promise.loan_id = queue.loan_id and promise.status = 'open' "
            "where queue.business_date = %s and 'call' = any(queue.allowed_channels)",
            (NIGHTS[-1],),
        ).fetchone()
        held_with_team = conn.execute(
            "select count(*) from marts.fct_work_queue where hold_reason is not null and team_id is not null"
        ).fetchone()
        held = conn.execute("select count(*) from marts.fct_work_queue where team_id is null").fetchone()
    assert open_promise_calls == (0,)
    assert held_with_team == (0,)
    assert held is not None and held[0] > 0, "the simulated portfolio should hold some loans (disputes, cease)"


def test_promises_carried_forward_night_by_night_equal_promises_recomputed(
    simulated_warehouse: tuple[str, Path],
) -> None:
    """int_promises_to_pay recomputes only the loans whose promises can change (decision 012); after
    consecutive nights its statuses must equal a rebuild of every promise as of the last night."""
    from arrears.transform import build

    url, _ = simulated_warehouse
    columns = (
        "action_id, loan_id, promised_on, promised_date, promised_amount, window_ends_on, status, kept_on, broken_on"
    )
    last = NIGHTS[-1]
    # The table is as of the last night already (every promise computed then); the first of these nights
    # recomputes as of it every promise computed on a night from it on (decision 016), the later ones
    # carry forward.
    for night in [last - dt.timedelta(days=days) for days in (3, 2, 1, 0)]:
        build(night, select=["int_promises_to_pay", "fct_promises_to_pay"])
    with psycopg.connect(url) as conn:
        carried = conn.execute(f"select {columns} from marts.fct_promises_to_pay order by action_id").fetchall()
        as_of = dict(
            conn.execute(
                "select as_of_date = %s, count(*) from marts.fct_promises_to_pay group by 1", (last,)
            ).fetchall()
        )
    # A first build: every promise computed as of the night (the view goes with its state table).
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop table intermediate.int_promises_to_pay cascade")
    build(last, select=["int_promises_to_pay", "fct_promises_to_pay"])
    with psycopg.connect(url) as conn:
        recomputed = conn.execute(f"select {columns} from marts.fct_promises_to_pay order by action_id").fetchall()
        rebuilt_as_of = conn.execute("select distinct as_of_date from marts.fct_promises_to_pay").fetchall()
    assert rebuilt_as_of == [(last,)]
    # Both paths ran: some promises were carried from an earlier night, some recomputed on the last.
    assert as_of.get(False, 0) > 0 and as_of.get(True, 0) > 0, as_of
    assert {row[6] for row in recomputed} >= {"open", "kept", "broken"}
    assert carried == recomputed


def test_recent_calls_carried_forward_night_by_night_equal_recent_calls_recomputed(
    simulated_warehouse: tuple[str, Path],
) -> None:
    """int_contact_point_recent_calls carries last night's calls forward (decision 012); after consecutive
    nights, the calls it keeps and the lost-contact flags built on them must equal a rebuild as of the last night."""
    from arrears.transform import build

    url, _ = simulated_warehouse
    models = ["int_contact_point_recent_calls", "int_borrower_contactability"]
    calls = "select contact_point_id, action_id, recency from intermediate.int_contact_point_recent_calls"
    flags = (
        "select borrower_id, own_numbers, own_numbers_reachable, is_lost_contact"
        " from intermediate.int_borrower_contactability"
    )
    last = NIGHTS[-1]
    # The first of these nights ranks again every number ranked on a night from it on (the table is as of
    # the last night, decision 016); the later ones carry forward.
    for night in [last - dt.timedelta(days=days) for days in (3, 2, 1, 0)]:
        build(night, select=models)
    with psycopg.connect(url) as conn:
        carried_calls = conn.execute(f"{calls} order by 1, 3").fetchall()
        carried_flags = conn.execute(f"{flags} order by 1").fetchall()
        as_of = dict(
            conn.execute(
                "select as_of_date = %s, count(*) from intermediate.int_contact_point_recent_calls group by 1", (last,)
            ).fetchall()
        )
    with psycopg.connect(url, autocommit=True) as conn:  # a first build: every call of the window ranked
        conn.execute("drop table intermediate.int_contact_point_recent_calls")
    build(last, select=models)
    with psycopg.connect(url) as conn:
        recomputed_calls = conn.execute(f"{calls} order by 1, 3").fetchall()
        recomputed_flags = conn.execute(f"{flags} order by 1").fetchall()
    # Both paths ran: some numbers were carried from an earlier night, some ranked again on the last.
    assert as_of.get(False, 0) > 0 and as_of.get(True, 0) > 0, as_of
    assert len({row[0] for row in recomputed_calls}) > 20, "the simulated portfolio should call numbers"
    assert any(row[3] for row in recomputed_flags), "some borrowers should have lost contact"
    assert carried_calls == recomputed_calls
    assert carried_flags == recomputed_flags
