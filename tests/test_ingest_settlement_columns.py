"""Columns the contract added later (arrangements.settlement_amount / settle_by) may be absent from a header:
a source that predates them keeps delivering valid files, whose rows load with NULL there. A required column
may never be absent."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from arrears.errors import DeliveryRejected
from arrears.ingest import ingest_delivery
from tests.support.ingest_files import DAY, GOOD_ROWS, Delivery, row

SETTLEMENT = {"settlement_amount": "5000.00", "settle_by": "2026-12-05"}


@pytest.fixture()
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_header_without_the_settlement_columns_loads_them_as_null(
    warehouse_url: str, conn: psycopg.Connection, landing: Path, fmt: str
) -> None:
    old_header = [name for name in GOOD_ROWS["arrangements"] if name not in SETTLEMENT]
    Delivery(landing).add("arrangements", [row("arrangements")], fmt=fmt, header=old_header).write_manifest()

    result = ingest_delivery(DAY, landing)

    assert (result.loaded, result.quarantined) == (1, 0)
    loaded = conn.execute("select arrangement_id, settlement_amount, settle_by from raw.arrangements").fetchall()
    assert loaded == [("R1", None, None)]


def test_a_settlement_with_its_amount_and_date_loads_typed(
    warehouse_url: str, conn: psycopg.Connection, landing: Path
) -> None:
    settlement = row("arrangements", kind="settlement", **SETTLEMENT)
    header = [*GOOD_ROWS["arrangements"], *SETTLEMENT]
    Delivery(landing).add("arrangements", [settlement], header=header).write_manifest()

    ingest_delivery(DAY, landing)

    amount, settle_by = conn.execute("select settlement_amount, settle_by from raw.arrangements").fetchone() or ()
    assert (str(amount), settle_by.isoformat()) == ("5000.00", "2026-12-05")


def test_a_required_column_may_not_be_absent(warehouse_url: str, conn: psycopg.Connection, landing: Path) -> None:
    header = [name for name in GOOD_ROWS["arrangements"] if name != "agreed_on"]
    Delivery(landing).add("arrangements", [row("arrangements")], header=header).write_manifest()

    with pytest.raises(DeliveryRejected, match=r"arrangements.csv: missing column\(s\) agreed_on"):
        ingest_delivery(DAY, landing)
