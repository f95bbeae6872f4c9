"""One book on Spark and on PostgreSQL: the same landing, then the same published marts (decisions 029, 034).

The book: 400 simulated loans x 2 nights with the simulator's injected faults (3 % of each file: malformed
rows, bad bytes, duplicate keys, bad types, an event redelivered with other content...), plus a hand-written
day of edge values after the built nights, never built (tests/support/edge_day.py: the contract's spellings of
each type, quoting, line breaks inside fields, a gzipped and a Parquet file; every reason in EDGE_REASONS).

Each engine lands the book the way its deployment does. PostgreSQL (the reference): `arrears.ingest`, then
`arrears build` per night. Spark: night 1 through `ARREARS_ENGINE=spark arrears ingest` (the user's way, its
own Spark process), night 2 through `arrears.spark.landing` in one Spark session, the nights built there in
order with ARREARS_ENGINE=spark (dbt-spark, `method: session`, local[2]); then the edge day is landed into
both, twice on Spark (a rerun replaces the date). Compared:
- landing: each day's typed good rows, row for row (instants in UTC, decimals with their scale); the
  quarantined rows with their reason, detail and raw text; every injected fault quarantined and every edge
  reason hit (the comparison is not vacuous); a bad manifest gives the same one-line error on both engines;
- the night: every published mart (every model of models/marts) holds the same rows on both engines
  (decimals by value, timestamps as UTC instants, arrays as lists). Both engines quarantined the same rows, so
  equal marts show that each engine's night reads only what its own landing let through. The nights run in
  order so the incremental paths run on Spark as they do nightly: partition overwrite by business date, the
  snapshot carried from D-1's partition, delete+insert models rewritten, agency placements rewound to D-1.
- the exports (decision 042): every shipped recipient's files of the last night, exported from each engine, are
  the same bytes (rows files, numbers files, manifests), and the hash and mask policies hold in them.

Why one book for both comparisons: a Spark world (a JVM, a metastore, a dbt node per model) costs minutes
whatever the size, so the landing and the marts share one (decision 037). Size: 400 loans x 2 nights, not
5,000 x 15: Spark's cost is per dbt node (each model a few Spark jobs) and per landed file, not per loan. Two
nights cover the first build and a carried night; each night is dbt's whole `build` but the unit tests, and
the last night's runs every data test on Spark too.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.cli import REPO_ROOT, run_cli
from tests.support.edge_day import EDGE_REASONS, clean_payments, write_edge_day
from tests.support.ingest_files import Delivery, row

pytestmark = pytest.mark.slow

LOANS, SEED, FAULTS = 400, 29, 0.03
START = dt.date(2026, 11, 1)
NIGHTS = [START, START + dt.timedelta(days=1)]
EDGE_DAY = NIGHTS[-1] + dt.timedelta(days=1)
DAYS = [*NIGHTS, EDGE_DAY]
PUBLISHED_MARTS = sorted(path.stem for path in (REPO_ROOT / "dbt_project" / "models" / "marts").glob("*/*.sql"))
SEEDS = sorted(path.stem for path in (REPO_ROOT / "dbt_project" / "seeds").glob("*.csv"))


@pytest.fixture(scope="module")
def book(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The book landed into and built on both engines; yields the PostgreSQL URL and the Spark session."""
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.warehouse import connect
    from arrears.warehouse.schema import init_schema

    home = tmp_path_factory.mktemp("spark_book")
    landing = home / "landing"
    generate(loans=LOANS, start=START, days=len(NIGHTS), seed=SEED, out=landing, inject_faults=FAULTS)
    write_edge_day(landing, EDGE_DAY, clean_payments(landing, START))
    name = f"spark_book_{home.name}"
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    env = {
        "ARREARS_HOME": str(home),
        "ARREARS_LANDING": str(landing),
        "ARREARS_QUARANTINE_LIMIT": "1",
        "ARREARS_WAREHOUSE_URL": url,
    }
    try:
        with pytest.MonkeyPatch.context() as patch:
            for variable, value in env.items():
                patch.setenv(variable, value)
            patch.delenv("ARREARS_ENGINE", raising=False)
            with connect() as conn:
                init_schema(conn)
            for night in NIGHTS:
                ingest_delivery(night, landing)
                built = run_cli("build", "--date", night.isoformat(), env=env)
                assert built.returncode == 0, built.stderr[-2000:]
            ingest_delivery(EDGE_DAY, landing)
            # Before this process starts Spark: the CLI's own Spark process holds the home's metastore.
            cli = run_cli("ingest", "--date", START.isoformat(), env={**env, "ARREARS_ENGINE": "spark"})
            assert cli.returncode == 0, cli.stderr[-2000:]
            yield from _land_and_build_on_spark(landing, patch, {"url": url, "landing": landing, "cli": cli.stdout})
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


def _land_and_build_on_spark(
    landing: Path, patch: pytest.MonkeyPatch, landed: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    from arrears.spark.landing import land_delivery
    from arrears.spark.session import spark_session, stop_spark_session
    from arrears.transform.build import build

    spark = spark_session()
    try:
        land_delivery(NIGHTS[1], landing)
        patch.setenv("ARREARS_ENGINE", "spark")
        for night in NIGHTS:
            # The data tests on the last night only: they check each night's rows the same way, and on
            # Spark they cost a quarter of a night (a few Spark jobs each).
            build(night, data_tests=night == NIGHTS[-1])
        for _rerun in range(2):
            land_delivery(EDGE_DAY, landing)
        yield {**landed, "spark": spark}
    finally:
        stop_spark_session()


# --- landing: good rows and quarantine ----------------------------------------------------------------------


def _raw_value(value: Any) -> Any:
    """A landed value as text: decimals keep their scale (the raw tables' types must agree)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _raw_rows(rows: list[Any]) -> list[tuple[Any, ...]]:
    return sorted((tuple(_raw_value(value) for value in r) for r in rows), key=repr)


def _postgres_raw_rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return _raw_rows(conn.execute(query).fetchall())


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


@pytest.mark.parametrize("day", DAYS)
def test_good_rows_are_the_same_on_both_engines(book: dict[str, Any], day: dt.date) -> None:
    from arrears.contract import load_contract
    from arrears.spark.schema import spark_columns

    for entity in load_contract().entities.values():
        columns = [(name, kind) for name, kind in spark_columns(entity) if name != "_loaded_at"]
        where = f"where _business_date = '{day.isoformat()}'"
        postgres = _postgres_raw_rows(
            book["url"],
            f"select {', '.join(_instants_as_utc_text(columns, 'postgres'))} from {entity.raw_table} {where}",
        )
        spark_query = f"select {', '.join(_instants_as_utc_text(columns, 'spark'))} from {entity.raw_table} {where}"
        spark = _raw_rows([tuple(r) for r in book["spark"].sql(spark_query).collect()])
        assert len(spark) == len(postgres), (
            f"{day} {entity.name}: {len(spark)} rows on Spark, {len(postgres)} on PostgreSQL"
        )
        different = [(pg, sp) for pg, sp in zip(postgres, spark, strict=True) if pg != sp]
        assert not different, (
            f"{day} {entity.name}: {len(different)} rows differ, first: PG {different[0][0]} / Spark {different[0][1]}"
        )


def test_quarantined_rows_are_the_same_with_the_same_reasons(book: dict[str, Any]) -> None:
    columns = "business_date, entity, file, line_no, reason, detail, raw_row"
    postgres = _postgres_raw_rows(book["url"], f"select {columns} from audit.quarantine")
    spark = _raw_rows([tuple(r) for r in book["spark"].sql(f"select {columns} from audit.quarantine").collect()])
    missing = sorted(set(postgres) - set(spark), key=repr)
    extra = sorted(set(spark) - set(postgres), key=repr)
    assert not missing and not extra, f"only on PostgreSQL: {missing[:5]}; only on Spark: {extra[:5]}"
    assert len(spark) == len(postgres)


def test_batches_and_the_quarantine_listing_are_the_same_on_both_engines(book: dict[str, Any]) -> None:
    """audit.batches and `arrears quarantine` on Spark: each landed date's status, counts and manifest, and the
    listing a source team reads, as PostgreSQL's loader records and lists them."""
    import json

    from arrears.ingest.quarantine import quarantined_rows
    from arrears.spark.landing import quarantined_rows_on_spark

    query = "select business_date, status, rows_loaded, rows_quarantined, manifest from audit.batches"
    with psycopg.connect(book["url"]) as conn:
        postgres = {row[0]: (row[1], row[2], row[3], row[4]) for row in conn.execute(query).fetchall()}
    spark = {row[0]: (row[1], row[2], row[3], json.loads(row[4])) for row in book["spark"].sql(query).collect()}
    assert sorted(spark) == DAYS  # every date landed on Spark, the edge day's rerun replacing its row
    assert spark == {day: postgres[day] for day in DAYS}
    for day in DAYS:
        assert quarantined_rows_on_spark(day, 1000) == quarantined_rows(day, 1000), day
    rows, total = quarantined_rows_on_spark(EDGE_DAY, 3)
    assert len(rows) == 3 and total > 3  # the listing's limit, and the whole count beside it


def test_the_comparison_covers_every_reason(book: dict[str, Any]) -> None:
    """Not vacuous: the simulator's faults are all quarantined, and the edge day hits every reason."""
    truth = Path(str(book["landing"]) + "_truth") / "faults.csv"
    with truth.open(encoding="utf-8") as handle:
        faults = {(f["business_date"], f["entity"], int(f["line_no"]), f["reason"]) for f in csv.DictReader(handle)}
    rows = book["spark"].sql("select business_date, entity, line_no, reason from audit.quarantine").collect()
    quarantined = {(r[0].isoformat(), r[1], r[2], r[3]) for r in rows}
    assert faults <= quarantined
    assert {reason for day, _, _, reason in quarantined if day == EDGE_DAY.isoformat()} == EDGE_REASONS
    assert f"ingested {START.isoformat()}:" in book["cli"]


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


# --- the night: every published mart ------------------------------------------------------------------------


def _mart_value(value: Any) -> Any:
    """One mart value as both engines' drivers agree on it."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value.normalize())
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, list | tuple):
        return tuple(_mart_value(item) for item in value)
    return value


def _mart_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(_mart_value(value) for value in r) for r in rows), key=repr)


def _assert_same_on_both_engines(book: dict[str, Any], relation: str) -> None:
    with psycopg.connect(book["url"]) as conn:
        cursor = conn.execute(f"select * from {relation}")
        columns = [description.name for description in cursor.description or []]
        postgres_rows = _mart_rows(cursor.fetchall())
    spark_frame = book["spark"].table(relation)
    assert sorted(spark_frame.columns) == sorted(columns), f"{relation}: columns differ"
    spark_rows = _mart_rows([tuple(r) for r in spark_frame.select(*columns).collect()])
    assert len(spark_rows) == len(postgres_rows), (
        f"{relation}: {len(spark_rows)} rows on Spark, {len(postgres_rows)} on PG"
    )
    different = [(pg, sp) for pg, sp in zip(postgres_rows, spark_rows, strict=True) if pg != sp]
    assert not different, (
        f"{relation}: {len(different)} rows differ, first: PG {different[0][0]} / Spark {different[0][1]}"
    )


@pytest.mark.parametrize("mart", PUBLISHED_MARTS)
def test_every_published_mart_is_the_same_on_spark(book: dict[str, Any], mart: str) -> None:
    _assert_same_on_both_engines(book, f"marts.{mart}")


@pytest.mark.parametrize("seed", SEEDS)
def test_every_seed_is_loaded_the_same_on_spark(book: dict[str, Any], seed: str) -> None:
    """The configuration the models read: an empty cell is NULL on both engines (dbt-spark's loader bound it as
    the text 'None': macros/spark/seeds_on_spark.sql), so a hold rule's missing team stays missing."""
    _assert_same_on_both_engines(book, f"seeds.{seed}")


def test_the_marts_hold_rows_of_every_night(book: dict[str, Any]) -> None:
    """The comparison is not vacuous: the snapshot has every night, carried nights included."""
    dates = {
        r[0] for r in book["spark"].sql("select distinct business_date from marts.fct_loan_delinquency_daily").collect()
    }
    assert dates == set(NIGHTS)
    episodes = book["spark"].sql("select count(*) from marts.fct_delinquency_episodes").collect()[0][0]
    assert episodes > 0


# --- the exports: every shipped recipient, the same bytes from either warehouse (decision 042) ------------------


def _export_every_recipient(day: dt.date, engine: str, patch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Every shipped recipient's folder of `day` exported from `engine`: file path (under exports/) -> bytes."""
    from arrears.export import ExportWritten, export_each
    from arrears.settings import paths

    patch.setenv("ARREARS_ENGINE", engine)
    results = export_each(day)
    failed = [result.summary() for result in results if not isinstance(result, ExportWritten)]
    assert not failed, f"{engine}: {failed}"
    root = paths().exports
    files = {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}
    for path in root.iterdir():  # the next engine writes the same names
        shutil.rmtree(path)
    return files


def test_every_export_is_byte_identical_on_both_engines(book: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """`arrears export` of the last built night, from PostgreSQL and from Spark: every recipient's rows file (CSV or
    xlsx), numbers file and manifest hold the same bytes. Nothing is left out of the comparison: the manifest
    carries no clock time (its files' SHA-256, control totals and the gate's run id are the same on both), and
    an xlsx's document date is the business date."""
    from arrears.export.config import load_recipients
    from arrears.export.manifest import MANIFEST_NAME
    from tests.support.exports import clear_gate

    day = NIGHTS[-1]
    monkeypatch.setenv("ARREARS_HASH_KEY", "spark-export-test-key")
    with psycopg.connect(book["url"]) as conn:
        clear_gate(conn, day)  # the gate's verdicts (audit.dq_results, PostgreSQL on both engines)
    postgres = _export_every_recipient(day, "postgres", monkeypatch)
    spark = _export_every_recipient(day, "spark", monkeypatch)

    assert sorted(spark) == sorted(postgres)
    different = [name for name in postgres if spark[name] != postgres[name]]
    assert not different, (
        f"differ: {different}; first: PG {postgres[different[0]][:600]!r} / Spark {spark[different[0]][:600]!r}"
    )

    # Not vacuous: every shipped recipient has its folder, and the files that carry the policies have rows.
    recipients = load_recipients()
    manifests = {
        name.split("/")[0]: json.loads(content) for name, content in postgres.items() if name.endswith(MANIFEST_NAME)
    }
    assert set(manifests) == set(recipients)
    rows = {name: sum(item["rows"] for item in manifest["files"][:1]) for name, manifest in manifests.items()}
    policies = {name: {column["policy"] for column in manifest["columns"]} for name, manifest in manifests.items()}
    assert any(rows[name] and "hashed" in policies[name] for name in manifests), rows
    assert any(rows[name] and "masked" in policies[name] for name in manifests), rows
    assert any(len(manifest["files"]) == 2 and manifest["files"][1]["rows"] for manifest in manifests.values())
    assert any(name.endswith(".xlsx") for name in postgres) and rows["legal"], rows
    hashed, masked = _policies_applied(book["url"], day, manifests, postgres)
    assert hashed and masked, (hashed, masked)


# What a hashed column hashes (columns.yml): the queue row's loan or borrower.
_HASHED_FROM = {"reference": "loan_id", "borrower_key": "borrower_id"}


def _policies_applied(url: str, day: dt.date, manifests: dict[str, Any], files: dict[str, bytes]) -> tuple[int, int]:
    """The policies hold in the files, so the engines agree on applying them: a hashed cell is HMAC-SHA256
    (RFC 2104, Python's hmac) of a queue row's id under the key, a masked cell hides characters. Returns how many
    hashed and masked cells were checked."""
    import hashlib
    import hmac
    import io

    with psycopg.connect(url) as conn:
        queue = conn.execute(
            "select loan_id, borrower_id from marts.fct_work_queue where business_date = %s", (day,)
        ).fetchall()
    key = b"spark-export-test-key"
    digests = {
        column: {hmac.new(key, row[position].encode(), hashlib.sha256).hexdigest() for row in queue}
        for position, column in enumerate(("loan_id", "borrower_id"))
    }
    hashed = masked = 0
    for name, content in files.items():
        if not name.endswith(".csv") or name.endswith("_numbers.csv"):
            continue
        body = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1:]
        for position, column in enumerate(manifests[name.split("/")[0]]["columns"]):
            cells = [row[position] for row in body if row[position]]
            if column["policy"] == "hashed":
                assert set(cells) <= digests[_HASHED_FROM[column["name"]]], (name, column["name"], cells[:3])
                hashed += len(cells)
            elif column["policy"] == "masked":
                assert all("*" in cell for cell in cells), (name, column["name"], cells[:3])
                masked += len(cells)
    return hashed, masked
