"""Optional contract columns (landing contract: `restrictions.contact_point_id`): a delivery whose header
lacks one still loads, as NULL, on every loading path; one that carries it loads its values; an older
warehouse gains the column when its schema is initialised again."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
import pytest

from arrears.ingest import ingest_delivery, loader
from arrears.ingest.fallbacks import NeedsExactPath
from tests.support.ingest_files import DAY, GOOD_ROWS, Delivery, csv_bytes, row

WITHOUT_NUMBER = list(GOOD_ROWS["restrictions"])  # the good row predates contact_point_id
WITH_NUMBER = [*WITHOUT_NUMBER, "contact_point_id"]


@pytest.fixture()
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARREARS_QUARANTINE_LIMIT", "1")
    return tmp_path / "landing"


@pytest.fixture(params=["fast", "exact"])
def loading_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both loading paths: the pyarrow fast path, and the SQL router it falls back to."""
    if request.param == "exact":

        def refuse(*args: object) -> int:
            raise NeedsExactPath("forced by the test")

        monkeypatch.setattr(loader, "_load_fast", refuse)
    return str(request.param)


def _restrictions(conn: psycopg.Connection) -> list[tuple[str, str | None]]:
    rows = conn.execute("select restriction_id, contact_point_id from raw.restrictions order by 1").fetchall()
    return [(str(rid), number) for rid, number in rows]


def test_the_contract_lists_the_column_as_optional() -> None:
    from arrears.contract import load_contract

    column = load_contract().entity("restrictions").column("contact_point_id")
    assert column.optional and not column.required
    assert "contact_point_id" not in GOOD_ROWS["restrictions"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_delivery_without_the_column_loads_it_as_null(
    warehouse_url: str,
    conn: psycopg.Connection,
    landing: Path,
    loading_path: str,
    fmt: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = [row("restrictions"), row("restrictions", restriction_id="X2", kind="dispute", channel="")]
    Delivery(landing).add("restrictions", rows, fmt=fmt, header=WITHOUT_NUMBER).write_manifest()

    with caplog.at_level(logging.INFO, logger="arrears.ingest"):
        result = ingest_delivery(DAY, landing)

    assert ("by the fast path" in caplog.text) == (loading_path == "fast")

    assert (result.loaded, result.quarantined) == (2, 0)
    assert _restrictions(conn) == [("X1", None), ("X2", None)]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_delivery_with_the_column_loads_its_numbers(
    warehouse_url: str, conn: psycopg.Connection, landing: Path, loading_path: str, fmt: str
) -> None:
    rows = [
        row("restrictions", contact_point_id="CP9", channel=""),
        row("restrictions", restriction_id="X2", contact_point_id=""),
    ]
    Delivery(landing).add("restrictions", rows, fmt=fmt, header=WITH_NUMBER).write_manifest()

    assert ingest_delivery(DAY, landing).loaded == 2
    assert _restrictions(conn) == [("X1", "CP9"), ("X2", None)]


def test_a_broken_record_in_a_file_without_the_column_is_quarantined_the_rest_loads(
    warehouse_url: str, conn: psycopg.Connection, landing: Path
) -> None:
    """A record with a field too many sends the file through the record-by-record parser."""
    content = csv_bytes([row("restrictions")], WITHOUT_NUMBER) + b"X3,B1,dispute,,2026-11-01,,2026-11-21,extra\r\n"
    Delivery(landing).add_bytes("restrictions", "restrictions.csv", content, 2).write_manifest()

    result = ingest_delivery(DAY, landing)

    assert (result.loaded, result.quarantined) == (1, 1)
    assert _restrictions(conn) == [("X1", None)]
    reason = conn.execute("select reason from audit.quarantine where entity = 'restrictions'").fetchone()
    assert reason == ("malformed_row",)


def test_an_older_warehouse_gains_the_column(warehouse_url: str, conn: psycopg.Connection, landing: Path) -> None:
    from arrears.warehouse.schema import init_schema

    conn.execute("alter table raw.restrictions drop column contact_point_id")  # as created before the column
    init_schema(conn)
    rows = [row("restrictions", contact_point_id="CP1")]
    Delivery(landing).add("restrictions", rows, header=WITH_NUMBER).write_manifest()

    assert ingest_delivery(DAY, landing).loaded == 1
    assert _restrictions(conn) == [("X1", "CP1")]
