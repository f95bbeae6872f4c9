"""Ingestion runs: idempotent re-ingest, the quarantine threshold, the Airflow pieces, concurrency, the CLI."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import psycopg
import pytest

from arrears.errors import QuarantineThresholdExceeded
from arrears.ingest import finalize_batch, ingest_delivery, load_entity, manifest_path, validate_delivery
from tests.support.cli import run_cli
from tests.support.ingest_files import DAY, Delivery, row


def payments(n: int, bad: int = 0) -> list[dict[str, str]]:
    """n payments rows, the last `bad` of them with a text amount."""
    rows = [row("payments", payment_id=f"P{i:04d}") for i in range(n)]
    for i in range(n - bad, n):
        rows[i]["amount"] = "abc"
    return rows


def totals(conn: psycopg.Connection) -> tuple[int, int, int]:
    """(raw.payments rows, raw.loans rows, quarantine rows) of the date."""
    found = conn.execute(
        "select (select count(*) from raw.payments where _business_date = %(d)s),"
        " (select count(*) from raw.loans where _business_date = %(d)s),"
        " (select count(*) from audit.quarantine where business_date = %(d)s)",
        {"d": DAY},
    ).fetchone()
    assert found is not None
    return int(found[0]), int(found[1]), int(found[2])


def test_reingest_replaces_the_date(warehouse_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    Delivery(landing).add("payments", payments(200, bad=1)).add("loans", [row("loans")]).write_manifest()
    ingest_delivery(DAY, landing)
    ingest_delivery(DAY, landing)
    assert totals(conn) == (199, 1, 1)

    # A corrected re-delivery without loans: the loans row of the date goes, the payments are replaced.
    for path in (landing / DAY.isoformat()).iterdir():
        path.unlink()
    Delivery(landing).add("payments", payments(150)).write_manifest()
    result = ingest_delivery(DAY, landing)

    assert (result.loaded, result.quarantined) == (150, 0)
    assert totals(conn) == (150, 0, 0)
    assert conn.execute("select count(*) from audit.batches").fetchone() == (1,)


def test_threshold_fails_the_run_but_keeps_the_rows(
    warehouse_url: str, conn: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"
    Delivery(landing).add("payments", payments(100, bad=2)).write_manifest()

    expected = r"2 of 100 rows quarantined \(2\.00%\) passes the limit of 1\.00%"
    with pytest.raises(QuarantineThresholdExceeded, match=expected):
        ingest_delivery(DAY, landing)
    assert totals(conn) == (98, 0, 2)
    assert conn.execute("select status from audit.batches").fetchone() == ("quarantine_limit_exceeded",)

    monkeypatch.setenv("ARREARS_QUARANTINE_LIMIT", "0.05")
    result = ingest_delivery(DAY, landing)
    assert "2 quarantined (2.00% of 100; limit 5.00%)" in result.summary()
    assert conn.execute("select status from audit.batches").fetchone() == ("loaded",)


def test_one_bad_row_in_a_hundred_and_one_is_below_the_default_limit(
    warehouse_url: str, conn: psycopg.Connection, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    Delivery(landing).add("payments", payments(101, bad=1)).write_manifest()
    assert ingest_delivery(DAY, landing).quarantined == 1  # 0.99% does not pass 1%


def test_airflow_pieces_match_the_one_transaction_run(
    warehouse_url: str, conn: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_QUARANTINE_LIMIT", "1")
    landing = tmp_path / "landing"
    Delivery(landing).add("payments", payments(20, bad=3)).add("loans", [row("loans")]).write_manifest()
    assert manifest_path(DAY, landing) == landing / "2026-11-21" / "_manifest.json"

    manifest = validate_delivery(DAY, landing)
    assert manifest.entities == ["loans", "payments"]
    assert totals(conn) == (0, 0, 0)  # validation loads nothing
    for entity in manifest.entities:
        load_entity(DAY, entity, landing)
    load_entity(DAY, "payments", landing)  # a retried mapped task replaces, never adds
    pieces = finalize_batch(DAY, landing)
    assert totals(conn) == (17, 1, 3)

    whole = ingest_delivery(DAY, landing)
    assert [(c.entity, c.loaded, c.quarantined) for c in pieces.entities] == [
        (c.entity, c.loaded, c.quarantined) for c in whole.entities
    ]
    assert totals(conn) == (17, 1, 3)


def test_concurrent_ingests_of_one_date_serialise(warehouse_url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    Delivery(landing).add("payments", payments(500)).write_manifest()
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            ingest_delivery(DAY, landing)
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=ingest) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert totals(conn) == (500, 0, 0)


def test_cli_ingest_and_quarantine(warehouse_url: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    rows = payments(3)
    rows[1]["amount"] = "1,000.00"
    Delivery(landing).add("payments", rows).write_manifest()
    env = {"ARREARS_QUARANTINE_LIMIT": "0.5"}

    ingested = run_cli("ingest", "--date", "2026-11-21", "--landing", str(landing), env=env, check=True)
    assert "2 rows loaded, 1 quarantined" in ingested.stdout
    assert "payments" in ingested.stdout and "payments.csv" in ingested.stdout

    listed = run_cli("quarantine", "--date", "2026-11-21", env=env, check=True)
    assert "payments  payments.csv:3  bad_type  amount = '1,000.00'" in listed.stdout
    assert "P0001,L1" in listed.stdout  # the raw row


def test_cli_rejection_is_one_line(warehouse_url: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    delivery = Delivery(landing).add("payments", payments(3))
    delivery.entries[0]["rows"] = 4
    delivery.write_manifest()

    rejected = run_cli("ingest", "--date", "2026-11-21", "--landing", str(landing))
    assert rejected.returncode == 3
    assert rejected.stderr.strip() == ("arrears: error: payments.csv: row count mismatch: manifest says 4, file has 3")
    missing = run_cli("ingest", "--date", "2026-11-22", "--landing", str(landing))
    assert missing.returncode == 3 and "no manifest" in missing.stderr and "Traceback" not in missing.stderr


def test_cli_threshold_exit_code(warehouse_url: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    Delivery(landing).add("payments", payments(10, bad=5)).write_manifest()
    failed = run_cli("ingest", "--date", str(dt.date(2026, 11, 21)), "--landing", str(landing))
    assert failed.returncode == 4
    assert "5 of 10 rows quarantined (50.00%) passes the limit of 1.00%" in failed.stderr
    listed = run_cli("quarantine", "--date", "2026-11-21", "--limit", "2", check=True)
    assert "first 2 of 5 quarantined rows" in listed.stdout


def test_quarantine_matches_the_simulators_ground_truth(
    warehouse_url: str, conn: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cross-check with the other side of the contract: every fault the simulator injects (faults.csv)
    is quarantined at its line with its reason, and nothing else is."""
    import csv

    generate = pytest.importorskip("arrears.generate")
    monkeypatch.setenv("ARREARS_QUARANTINE_LIMIT", "1")
    landing = tmp_path / "landing"
    generate.generate(loans=150, start=dt.date(2026, 11, 1), days=2, seed=3, out=landing, inject_faults=0.03)
    with (Path(str(landing) + "_truth") / "faults.csv").open(encoding="utf-8") as handle:
        expected = {
            (row["business_date"], row["entity"], row["file"], int(row["line_no"]), row["reason"])
            for row in csv.DictReader(handle)
        }
    assert expected, "the simulator injected no faults: raise inject_faults"

    for day in (dt.date(2026, 11, 1), dt.date(2026, 11, 2)):
        ingest_delivery(day, landing)

    quarantined = {
        (str(day), entity, file, int(line), reason)
        for day, entity, file, line, reason in conn.execute(
            "select business_date, entity, file, line_no, reason from audit.quarantine"
        ).fetchall()
    }
    assert quarantined == expected
