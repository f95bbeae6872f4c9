"""Landing into Spark gives what PostgreSQL's loader gives (docs/decisions/034-landing-into-spark.md).

Three deliveries are landed into both engines: two simulated days with injected faults (the quarantine
reasons the simulator makes), and a hand-written day of edge values
(the contract's spellings of each type, quoting, line breaks inside fields, a gzipped and a Parquet file,
an event redelivered with other content). PostgreSQL's loader (`arrears.ingest`) is the reference; on
Spark, day 1 goes through `ARREARS_ENGINE=spark arrears ingest` (the user's way, its own Spark process)
and the other days, then the edge day again (a rerun replaces the date), through `arrears.spark.landing` in
one Spark session. The typed good rows must be equal row for row (instants compared in UTC, decimals by
value), and the quarantined rows equal with their reason and detail.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.cli import run_cli
from tests.support.ingest_files import Delivery, row

pytestmark = pytest.mark.slow

LOANS, SEED, FAULTS = 120, 3, 0.03
START = dt.date(2026, 11, 1)
SIMULATED = [START, START + dt.timedelta(days=1)]
EDGE_DAY = START + dt.timedelta(days=2)
DATES = [*SIMULATED, EDGE_DAY]
EDGE_REASONS = {
    "bad_type",
    "duplicate_key_in_file",
    "event_conflict",
    "invalid_encoding",
    "invalid_national_id",
    "invalid_phone",
    "key_too_long",
    "malformed_row",
    "missing_required",
    "not_allowed",
    "out_of_range",
}


def _edge_delivery(landing: Path, earlier_payments: list[dict[str, str]]) -> None:
    """A day of values at the edges of the contract's rules, one entity file each."""
    delivery = Delivery(landing, EDGE_DAY)
    updated = "2026-11-03T10:00:00+08:00"
    delivery.add(
        "borrowers",
        [
            row("borrowers", updated_at=updated),
            row("borrowers", borrower_id="B2", national_id="110105194912310021"),
            row("borrowers", borrower_id="B3", mobile_phone="13912345678\n"),
            row("borrowers", borrower_id="B4", birth_date="2026-02-29"),
            row("borrowers", borrower_id="B5", birth_date="0000-01-01"),
            row("borrowers", borrower_id="B6", full_name='Li, "Lee"', updated_at="2026\\11"),
            row("borrowers", borrower_id="B" * 201),
            row("borrowers", borrower_id="B8", full_name=""),
            row("borrowers", borrower_id="B8"),
            row("borrowers", borrower_id="B9", address="line one\r\nline two", updated_at="2026-11-03 10:00"),
            row("borrowers", borrower_id="B10", updated_at="2026-11-03T10:00:00.123456Z"),
            row("borrowers", borrower_id="B11", updated_at="2026-11-03T10:00:00+0530"),
            row("borrowers", borrower_id="B12", updated_at="2026-11-03T10:00-08"),
            row("borrowers", borrower_id="B13", updated_at="2026-11-03T25:00:00"),
            row("borrowers", borrower_id="B14", national_id=""),
        ],
    )
    is_valid = [" TRUE ", "on", "of", "o", "yes", "0", "maybe", "T", "n"]
    contact_points = [row("contact_points", contact_point_id=f"C{n}", is_valid=v) for n, v in enumerate(is_valid)]
    contact_points.append(row("contact_points", contact_point_id="C99", kind="Own_mobile"))
    delivery.add("contact_points", contact_points)
    principals = ["0", "-5.00", "1,000.00", "12.345", "00012.5", "99999999999999999", "9999999999999999.99"]
    rates = ["-.5", ".5", "0.1234567", "1e3", "5-", "999999.9999995"]
    terms = ["1.5", "007", "2147483648", "-0", "+3"]
    loans = [row("loans", loan_id=f"L{n}", principal=v) for n, v in enumerate(principals)]
    loans += [row("loans", loan_id=f"R{n}", annual_rate=v) for n, v in enumerate(rates)]
    loans += [row("loans", loan_id=f"T{n}", term_months=v) for n, v in enumerate(terms)]
    loans.append(row("loans", loan_id="S1", status="ACTIVE"))
    delivery.add("loans", loans, fmt="csv.gz")
    same, changed = earlier_payments
    redelivered = {**changed, "amount": str(Decimal(changed["amount"]) + 1)}
    delivery.add(
        "payments",
        [
            same,  # the same event again: a harmless duplicate, loaded
            redelivered,
            row("payments", payment_id="P2", received_at="2026-11-03T09:30:00+08", amount="0.01"),
            row("payments", payment_id="P3", amount="0.00"),
        ],
        header=list(same),
    )
    teams = ["agency:north", "agency:", "agency:a\nb", "late", "legal"]
    actions = [row("collection_actions", action_id=f"A{n}", team_id=v) for n, v in enumerate(teams)]
    actions.append(row("collection_actions", action_id="A9", collectors_present="-1"))
    delivery.add("collection_actions", actions)
    delivery.add(
        "legal_cases", [row("legal_cases"), row("legal_cases", case_id="K2", claim_amount="-1")], fmt="parquet"
    )
    header = b"restriction_id,borrower_id,kind,channel,effective_from,effective_to,updated_at"
    stamp = updated.encode()
    lines = [
        b"X1,B1,do_not_contact,sms,2026-11-01,," + stamp,
        b'X2,B1,do_not_contact,"sms,call",2026-11-01,,' + stamp + b",extra",
        b"X3,B1,do_not_contact,sms,2026-11-01",
        b"X4,B\xff\xfe1,dispute,,2026-11-01,," + stamp,
        b"X5,B1,dispute,,2026-11-01,," + stamp,
    ]
    content = b"".join(line + b"\r\n" for line in [header, *lines])
    delivery.add_bytes("restrictions", "restrictions.csv", content, len(lines))
    delivery.write_manifest()


def _clean_payments(landing: Path) -> list[dict[str, str]]:
    """Two payments delivered on day 1 that the simulator did not make faulty."""
    truth = Path(str(landing) + "_truth") / "faults.csv"
    with truth.open(encoding="utf-8") as handle:
        faulty = {int(f["line_no"]) for f in csv.DictReader(handle) if f["entity"] == "payments"}
    with (landing / START.isoformat() / "payments.csv").open(encoding="utf-8", errors="replace", newline="") as handle:
        clean = [payment for line, payment in enumerate(csv.DictReader(handle), start=2) if line not in faulty]
    assert len(clean) >= 2, "too few clean payments on day 1"
    return clean[:2]


@pytest.fixture(scope="module")
def landed(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The three deliveries landed into PostgreSQL and into Spark; yields the PostgreSQL URL and the session."""
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.spark.landing import land_delivery
    from arrears.spark.session import spark_session, stop_spark_session
    from arrears.warehouse import connect
    from arrears.warehouse.schema import init_schema

    home = tmp_path_factory.mktemp("spark_landing")
    landing = home / "landing"
    generate(loans=LOANS, start=START, days=len(SIMULATED), seed=SEED, out=landing, inject_faults=FAULTS)
    _edge_delivery(landing, _clean_payments(landing))
    name = f"spark_landing_{home.name}"
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    env = {"ARREARS_HOME": str(home), "ARREARS_QUARANTINE_LIMIT": "1", "ARREARS_WAREHOUSE_URL": url}
    try:
        with pytest.MonkeyPatch.context() as patch:
            for variable, value in env.items():
                patch.setenv(variable, value)
            patch.delenv("ARREARS_ENGINE", raising=False)
            with connect() as conn:
                init_schema(conn)
            for day in DATES:
                ingest_delivery(day, landing)
            cli = run_cli(
                "ingest", "--date", START.isoformat(), "--landing", str(landing), env={**env, "ARREARS_ENGINE": "spark"}
            )
            assert cli.returncode == 0, cli.stderr[-2000:]
            spark = spark_session()
            try:
                for day in [*DATES[1:], EDGE_DAY]:
                    land_delivery(day, landing)
                yield {"url": url, "spark": spark, "landing": landing, "cli": cli.stdout}
            finally:
                stop_spark_session()
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


def _normalised(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sorted_rows(rows: list[Any]) -> list[tuple[Any, ...]]:
    return sorted((tuple(_normalised(value) for value in r) for r in rows), key=repr)


def _postgres_rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return _sorted_rows(conn.execute(query).fetchall())


def _instants_as_utc_text(entity_columns: list[tuple[str, str]], engine: str) -> list[str]:
    """Select expressions giving timestamps as UTC text, so the drivers' time zones play no part."""
    expressions = []
    for name, kind in entity_columns:
        if kind != "timestamp":
            expressions.append(name)
        elif engine == "postgres":
            expressions.append(f"""to_char({name} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as {name}""")
        else:
            expressions.append(f"date_format({name}, \"yyyy-MM-dd'T'HH:mm:ss.SSSSSS\") as {name}")
    return expressions


@pytest.mark.parametrize("day", DATES)
def test_good_rows_are_the_same_on_both_engines(landed: dict[str, Any], day: dt.date) -> None:
    from arrears.contract import load_contract
    from arrears.spark.schema import spark_columns

    for entity in load_contract().entities.values():
        columns = [(name, kind) for name, kind in spark_columns(entity) if name != "_loaded_at"]
        where = f"where _business_date = '{day.isoformat()}'"
        postgres = _postgres_rows(
            landed["url"],
            f"select {', '.join(_instants_as_utc_text(columns, 'postgres'))} from {entity.raw_table} {where}",
        )
        spark_query = f"select {', '.join(_instants_as_utc_text(columns, 'spark'))} from {entity.raw_table} {where}"
        spark = _sorted_rows([tuple(r) for r in landed["spark"].sql(spark_query).collect()])
        assert len(spark) == len(postgres), (
            f"{day} {entity.name}: {len(spark)} rows on Spark, {len(postgres)} on PostgreSQL"
        )
        different = [(pg, sp) for pg, sp in zip(postgres, spark, strict=True) if pg != sp]
        assert not different, (
            f"{day} {entity.name}: {len(different)} rows differ, first: PG {different[0][0]} / Spark {different[0][1]}"
        )


def test_quarantined_rows_are_the_same_with_the_same_reasons(landed: dict[str, Any]) -> None:
    columns = "business_date, entity, file, line_no, reason, detail, raw_row"
    postgres = _postgres_rows(landed["url"], f"select {columns} from audit.quarantine")
    spark = _sorted_rows([tuple(r) for r in landed["spark"].sql(f"select {columns} from audit.quarantine").collect()])
    missing = sorted(set(postgres) - set(spark), key=repr)
    extra = sorted(set(spark) - set(postgres), key=repr)
    assert not missing and not extra, f"only on PostgreSQL: {missing[:5]}; only on Spark: {extra[:5]}"
    assert len(spark) == len(postgres)


def test_the_comparison_covers_every_reason(landed: dict[str, Any]) -> None:
    """Not vacuous: the simulator's faults are all quarantined, and the edge day hits every reason."""
    truth = Path(str(landed["landing"]) + "_truth") / "faults.csv"
    with truth.open(encoding="utf-8") as handle:
        faults = {(f["business_date"], f["entity"], int(f["line_no"]), f["reason"]) for f in csv.DictReader(handle)}
    rows = landed["spark"].sql("select business_date, entity, line_no, reason from audit.quarantine").collect()
    quarantined = {(r[0].isoformat(), r[1], r[2], r[3]) for r in rows}
    assert faults <= quarantined
    assert {reason for day, _, _, reason in quarantined if day == EDGE_DAY.isoformat()} == EDGE_REASONS
    assert "ingested 2026-11-01:" in landed["cli"]


def test_a_bad_manifest_gives_the_same_one_line_error(tmp_path: Path) -> None:
    """Checked before Spark starts, by the same manifest module: same message, same exit code."""
    landing = tmp_path / "landing"
    good = row("payments")
    delivery = Delivery(landing, START).add("payments", [good, {**good, "payment_id": "P2"}])
    delivery.entries[0]["rows"] = 3
    delivery.write_manifest()
    results = {
        engine: run_cli(
            "ingest", "--date", START.isoformat(), "--landing", str(landing), env={"ARREARS_ENGINE": engine}
        )
        for engine in ("postgres", "spark")
    }
    assert {result.returncode for result in results.values()} == {3}
    assert results["spark"].stderr == results["postgres"].stderr
    assert (
        results["spark"].stderr.strip()
        == "arrears: error: payments.csv: row count mismatch: manifest says 3, file has 2"
    )
