"""Agency placements on a simulated portfolio (business rules §9): generate -> ingest -> dbt build for
three nights, then a rebuild of the middle night, checked against the rules and the raw deliveries.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.support.exports import clear_gate, read_csv

START = dt.date(2026, 3, 1)
NIGHTS = [START + dt.timedelta(days=offset) for offset in range(3)]
LOANS = 3000
PLACEMENTS = "select * from marts.fct_agency_placements order by placement_id"
OUTSIDE = "select action_id, business_date from marts.fct_compliance_violations where rule = 'outside_placement'"
LIQUIDATION = (
    "select agency_id, month_start, liquidation_rate from marts.agg_agency_scorecard_monthly where accounts_placed > 0"
)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# Four dbt builds (three nights and a rerun): about 100 s on a quiet machine.
pytestmark = pytest.mark.slow


@dataclass
class Book:
    """What the module's one simulated warehouse showed, captured before the rebuild changed it."""

    url: str
    landing: Path
    truth: Path
    placements: list[tuple[object, ...]]  # as of the last night
    columns: list[str]
    placements_after_second_night: list[tuple[object, ...]]
    placements_after_rebuilding_it: list[tuple[object, ...]]
    queue_of_second_night: list[tuple[object, ...]]
    queue_after_rebuilding_it: list[tuple[object, ...]]
    files: dict[str, set[str]]  # recipient -> the loan ids of its file for the last night
    liquidation: dict[tuple[object, object], object]  # (agency, month) -> the scorecard's liquidation rate
    outside_placement: set[tuple[object, object]]  # (action_id, business_date) found by the audit
    outside_placement_after_rebuild: set[tuple[object, object]]  # the rebuilt night's
    report: Path  # the run report of the last night (index.html beside report.json)


def _rows(conn: psycopg.Connection, query: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in conn.execute(query).fetchall()]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory, server_url: str) -> Iterator[Book]:
    from arrears.export import export_recipient
    from arrears.export.config import column_catalogue, load_recipients
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.report import write_report
    from arrears.transform import build
    from arrears.warehouse.schema import init_schema

    landing = tmp_path_factory.mktemp("agencies_sim") / "landing"
    generate(loans=LOANS, start=START, days=len(NIGHTS), seed=11, out=landing)
    name = f"test_agencies_sim_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    patch = pytest.MonkeyPatch()
    patch.setenv("ARREARS_WAREHOUSE_URL", url)
    patch.setenv("ARREARS_HOME", str(tmp_path_factory.mktemp("agencies_sim_home")))
    patch.setenv("ARREARS_HASH_KEY", "k")
    queue = "select business_date, loan_id, team_id, priority_rank from marts.fct_work_queue"
    second = f"{queue} where business_date = '{NIGHTS[1]}' order by loan_id"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            init_schema(conn)
            for night in NIGHTS:
                ingest_delivery(night, landing)
            build(NIGHTS[0])
            build(NIGHTS[1])
            after_second, queue_second = _rows(conn, PLACEMENTS), _rows(conn, second)
            build(NIGHTS[2])
            cursor = conn.execute(PLACEMENTS)
            columns = [column.name for column in cursor.description or []]
            placements = [tuple(row) for row in cursor.fetchall()]
            liquidation = {(row[0], row[1]): row[2] for row in _rows(conn, LIQUIDATION)}
            outside = set(_rows(conn, OUTSIDE))
            clear_gate(conn, NIGHTS[2])
            label = column_catalogue()["loan_id"].labels
            files = {}
            for recipient in (r for r in load_recipients().values() if r.name.startswith("agency_")):
                written = export_recipient(NIGHTS[2], recipient.name)
                header, *lines = read_csv(written.files[0].path)
                column = header.index(label[recipient.header_language])
                files[recipient.name] = {line[column] for line in lines}
            report = write_report(NIGHTS[2])
            build(NIGHTS[1])  # a rerun of a past night
            rebuilt, queue_rebuilt = _rows(conn, PLACEMENTS), _rows(conn, second)
            outside_rebuilt = set(_rows(conn, f"{OUTSIDE} and business_date = '{NIGHTS[1]}'"))
        yield Book(
            url=url,
            landing=landing,
            truth=Path(str(landing) + "_truth"),
            placements=placements,
            columns=columns,
            placements_after_second_night=after_second,
            placements_after_rebuilding_it=rebuilt,
            queue_of_second_night=queue_second,
            queue_after_rebuilding_it=queue_rebuilt,
            files=files,
            liquidation=liquidation,
            outside_placement=outside,
            outside_placement_after_rebuild=outside_rebuilt,
            report=report,
        )
    finally:
        patch.undo()
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


def _placements(book: Book) -> list[dict[str, object]]:
    return [dict(zip(book.columns, row, strict=True)) for row in book.placements]


def test_each_agency_file_holds_exactly_its_placements(book: Book) -> None:
    from arrears.agencies import load_agencies

    open_now = defaultdict(set)
    for placement in _placements(book):
        if placement["recalled_on"] is None:
            open_now[f"agency_{placement['agency_id']}"].add(placement["loan_id"])
    assert set(book.files) == {f"agency_{a.agency_id}" for a in load_agencies() if a.active}
    assert sum(len(loans) for loans in open_now.values()) >= 30, "too few placements to show anything"
    for recipient, loans in book.files.items():
        assert loans == open_now[recipient], recipient


def test_each_agencys_share_of_new_placements_is_within_binomial_tolerance(book: Book) -> None:
    from arrears.agencies import load_agencies

    agencies = [a for a in load_agencies() if a.active and a.share > 0]
    total = sum(a.share for a in agencies)
    # First placements: every active agency was eligible (no previous agency; capacity not reached).
    first = Counter(p["agency_id"] for p in _placements(book) if p["placement_number"] == 1)
    placed = sum(first.values())
    for agency in agencies:
        expected = agency.share / total
        tolerance = 3 * math.sqrt(expected * (1 - expected) / placed)  # three binomial standard deviations
        assert abs(first[agency.agency_id] / placed - expected) <= tolerance, (agency.agency_id, first, placed)
    assert set(first) <= {a.agency_id for a in agencies}


def test_no_loan_is_placed_twice_in_a_row_with_the_same_agency_nor_twice_at_once(book: Book) -> None:
    by_loan: dict[object, list[dict[str, object]]] = defaultdict(list)
    for placement in _placements(book):
        by_loan[placement["loan_id"]].append(placement)
    for loan, placements in by_loan.items():
        placements.sort(key=lambda p: p["placement_number"])  # type: ignore[arg-type, return-value]
        assert [p["placement_number"] for p in placements] == list(range(1, len(placements) + 1)), loan
        for earlier, later in zip(placements, placements[1:], strict=False):
            assert earlier["agency_id"] != later["agency_id"], loan
            assert earlier["recalled_on"] is not None and earlier["recalled_on"] <= later["placed_on"], loan
        assert sum(p["recalled_on"] is None for p in placements) <= 1, loan


def test_rebuilding_a_past_night_reproduces_its_placements_and_queue(book: Book) -> None:
    assert book.placements_after_second_night, "nothing placed by the second night"
    assert book.placements_after_rebuilding_it == book.placements_after_second_night
    assert book.queue_after_rebuilding_it == book.queue_of_second_night
    assert any(str(row[2]).startswith("agency:") for row in book.queue_of_second_night)


def _landing_rows(book: Book, entity: str) -> Iterator[tuple[dt.date, dict[str, str]]]:
    for night in NIGHTS:
        with (book.landing / night.isoformat() / f"{entity}.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                yield night, row


def test_scorecard_liquidation_rate_equals_an_independent_computation_from_raw_payments(book: Book) -> None:
    payments = defaultdict(list)  # loan -> (value date, signed amount), from the delivered files
    for _, row in _landing_rows(book, "payments"):
        amount = Decimal(row["amount"])
        signed = -amount if row["reversal_of"] else amount
        payments[row["loan_id"]].append((dt.date.fromisoformat(row["value_date"]), signed))
    placed: dict[tuple[object, object], Decimal] = defaultdict(Decimal)
    collected: dict[tuple[object, object], Decimal] = defaultdict(Decimal)
    for p in _placements(book):
        placed_on, recalled_on = p["placed_on"], p["recalled_on"]
        assert isinstance(placed_on, dt.date) and isinstance(p["balance_placed"], Decimal)
        key = (p["agency_id"], placed_on.replace(day=1))
        placed[key] += p["balance_placed"]
        for value_date, amount in payments[str(p["loan_id"])]:
            if placed_on < value_date and (not isinstance(recalled_on, dt.date) or value_date <= recalled_on):
                collected[key] += amount
    assert any(collected.values()), "no money collected during placement: the comparison shows nothing"
    expected = {key: (collected[key] / placed[key]).quantize(Decimal("0.000001")) for key in placed}
    assert book.liquidation == expected


def test_outside_placement_violations_are_the_injected_ones_and_the_agencies_strays(book: Book) -> None:
    placements = defaultdict(list)
    for p in _placements(book):
        placements[(p["loan_id"], p["agency_id"])].append((p["placed_on"], p["recalled_on"]))
    # Independently of dbt: an agency's outbound action is outside placement unless a placement of that
    # loan with that agency made before the action's local day was not recalled before that day.
    strays = set()
    for night, row in _landing_rows(book, "collection_actions"):
        if not row["team_id"].startswith("agency:") or row["direction"] == "inbound":
            continue
        local_day = dt.datetime.fromisoformat(row["action_at"]).astimezone(SHANGHAI).date()
        covered = any(
            placed_on < local_day and (recalled_on is None or local_day <= recalled_on)
            for placed_on, recalled_on in placements[(row["loan_id"], row["team_id"].split(":", 1)[1])]
        )
        if not covered:
            strays.add((row["action_id"], night))
    with (book.truth / "violations.csv").open(encoding="utf-8") as handle:
        injected = {
            (row["action_id"], dt.date.fromisoformat(row["business_date"]))
            for row in csv.DictReader(handle)
            if row["rule"] == "outside_placement" and dt.date.fromisoformat(row["business_date"]) in NIGHTS
        }
    assert injected, "the simulator injected no outside_placement violation"
    assert injected <= strays
    assert book.outside_placement == strays
    # Most agency work is on the agency's own placements (the simulator's agencies draw like the warehouse),
    # once there are placements: on the book's first night nothing has been placed before the action's day.
    agency_actions = sum(
        1
        for night, row in _landing_rows(book, "collection_actions")
        if row["team_id"].startswith("agency:") and night > NIGHTS[0]
    )
    assert agency_actions > 0
    assert len({v for v in strays - injected if v[1] > NIGHTS[0]}) < agency_actions / 2
    assert book.outside_placement_after_rebuild == {v for v in strays if v[1] == NIGHTS[1]}


def test_the_run_report_shows_the_scorecard_with_its_chart(book: Book) -> None:
    import json

    folder = book.report if book.report.is_dir() else book.report.parent
    section = json.loads((folder / "report.json").read_text(encoding="utf-8"))["sections"]["agencies"]
    assert section["available"], section["note"]
    shown = {
        (entry["agency_id"], entry["month_start"]): entry["liquidation_rate"]
        for entry in section["agencies"]
        if entry["accounts_placed"]
    }
    assert shown == {(agency, month.isoformat()): float(rate) for (agency, month), rate in book.liquidation.items()}
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert 'data-chart="agency-liquidation"' in page


def test_complaints_judged_from_the_days_delta_recall_as_judging_every_complaint(book: Book) -> None:
    """Last in the module (it builds the last night again): once night D-1 was built, misconduct by complaint is
    judged only for what became known on D (decision 041); judging every complaint known, as the model does
    without a record of the night before, recalls the same placements."""
    from arrears.transform import build

    with psycopg.connect(book.url, autocommit=True) as conn:
        build(NIGHTS[2])  # after the fixture's rerun of the second night: the last night again, from the delta
        from_the_delta = _rows(conn, PLACEMENTS)
        conn.execute("delete from audit.carried_forward_nights where model = 'marts.fct_agency_placements'")
        build(NIGHTS[2], select=["fct_agency_placements"])  # rewound to D-1, every complaint known judged
        from_every_complaint = _rows(conn, PLACEMENTS)
        complaints = conn.execute(
            "select count(*) from staging.stg_restrictions where kind = 'complaint' and delivered_on <= %s",
            (NIGHTS[2],),
        ).fetchone()
    assert complaints is not None and complaints[0] > 0, "the book has no complaint to judge"
    assert from_the_delta == book.placements
    assert from_every_complaint == from_the_delta
