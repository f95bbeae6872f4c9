"""The loader's fast path (pyarrow pre-filter + direct typed COPY) against the exact SQL router.

A false "unsure" only costs speed; a false "sure" would load a row the router quarantines. The
differential test delivers rows full of borderline values and requires the fast path's result —
typed rows and quarantine, line by line — to be exactly the exact path's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import random
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from arrears.contract import Entity, load_contract
from arrears.contract.ddl import partition_table
from arrears.ingest import binary_copy, ingest_delivery, loader, prefilter
from arrears.ingest.fallbacks import NeedsExactPath
from arrears.warehouse.schema import init_schema
from tests.support.ingest_files import DAY, GOOD_ROWS, Delivery, csv_bytes, row

# Borderline values per contract type: some the router accepts, many it quarantines.
POOLS: dict[str, list[str]] = {
    "date": [
        "2026-11-21",
        "2024-02-29",
        "2026-02-29",
        "2026-02-30",
        "2026-04-31",
        "2026-13-01",
        "0000-01-01",
        "0001-01-01",
        "2026-1-01",
        "2026/11/21",
        "20261121",
        " 2026-11-21",
        "2026-11-21 ",
        "9999-12-31",
        "２０２６-11-21",
        "2026-11-21T00:00",
        "1900-02-29",
        "2000-02-29",
        "",
    ],  # fmt: skip
    "timestamp": [
        "2026-11-21 09:30:00",
        "2026-11-21T09:30:00+08:00",
        "2026-11-21T09:30+08:00",
        "2026-11-21 09:30",
        "2026-11-21 24:00:00",
        "2026-11-21 23:59:60",
        "2026-11-21 09:30:00.123456",
        "2026-11-21 09:30:00.1234567",
        "2026-11-21 09:30:00Z",
        "2026-11-21 09:30:00+15:00",
        "2026-11-21 09:30:00+14:59",
        "2026-11-21 09:30:00-05",
        "2026-02-30 10:00:00",
        "2026-11-21 9:30:00",
        "2026-11-21 09:30:00 Asia/Shanghai",
        "2026-11-21 09:30:00+0800",
        "2026-11-21x09:30:00",
        "2024-02-29T23:59:59Z",
        "2026-11-21 09:60:00",
        "2026-11-21 09:30:00+08:60",
        "2026-11-21",
        "0000-01-01 00:00:00",
        "2026-11-21T09:30:00.5-05:30",
        # Local times the source time zone (Asia/Shanghai) gave another offset than today's: daylight
        # saving 1986-1991, local mean time before 1901; the binary COPY leaves them to the router.
        "1988-06-01 12:00:00",
        "1991-09-15 01:30:00",
        "1900-06-01 08:00:00",
        "1901-01-01 00:00:00",
        "",
    ],  # fmt: skip
    "amount": [
        "1180.5",
        "0",
        "0.00",
        "0.01",
        "-1.00",
        "1,000.00",
        "12.345",
        "12.",
        ".5",
        "007.50",
        "9999999999999999.99",
        "10000000000000000",
        "1e5",
        " 12",
        "12 ",
        "abc",
        "+5",
        "-0",
        "00000000000000001",
        "12.00",
        "",
    ],  # fmt: skip
    "decimal": ["0.1800", "-0.5", "1234567", "123456.1234567", "12.", ".5", "1e-3", "999999.999999", "-", ""],
    "integer": ["12", "0", "-1", "01", "+3", "2147483647", "2147483648", "999999999", "1000000000", "1.0", " 1", ""],
    "boolean": ["true", "false", "t", "f", "yes", "no", "1", "0", "TRUE", "maybe", "True", " true", "on", ""],
}
CHECKED: dict[str, list[str]] = {
    "national_id": [
        "11010519491231002X",
        "110105194912310021",
        "11010519491231002x",
        "1101051949123100",
        "11010519491231002X ",
        "440524188001010014",
        "440524188001010015",
        "",
    ],  # fmt: skip
    "mobile_phone": ["13912345678", "12912345678", "1391234567", "139123456789", "+8613912345678", ""],
    "team_id": ["early", "agency:acme", "agency:", "agency", "Early", "field", "agency:a\nb", "predue ", ""],
}


def _value(column_name: str, entity: Entity, rng: random.Random) -> str:
    column = entity.column(column_name)
    good = GOOD_ROWS[entity.name][column_name]
    if rng.random() < 0.75:  # mostly good values: many rows are surely valid
        return good
    if column.check in CHECKED:
        return rng.choice(CHECKED[column.check])
    if column.allowed:
        return rng.choice([*column.allowed, column.allowed[0].upper(), column.allowed[0] + " ", "unknown", ""])
    if column.type in POOLS:
        return rng.choice(POOLS[column.type])
    return rng.choice([good, "", " ", "x,y", 'quote "q"', "多字节", "line\nbreak"])


def _rows(entity: Entity, count: int, rng: random.Random) -> list[dict[str, str]]:
    rows = []
    for number in range(count):
        record = {name: _value(name, entity, rng) for name in entity.column_names}
        for key in entity.key:  # distinct keys: duplicates are another test's subject
            if entity.column(key).type == "text":
                record[key] = f"K{number}" + ("x" * 200 if rng.random() < 0.01 else "")
        rows.append(record)
    return rows


def _snapshot(conn: psycopg.Connection, entity: Entity) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    columns = ", ".join([*entity.column_names, "_business_date", "_file", "_line"])
    loaded = conn.execute(f"select {columns} from {entity.raw_table} where _business_date = %s order by _line", (DAY,))
    quarantined = conn.execute(
        "select line_no, reason, detail, raw_row from audit.quarantine where business_date = %s and entity = %s "
        "order by line_no",
        (DAY, entity.name),
    )
    return loaded.fetchall(), quarantined.fetchall()


def _force_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> int:
        raise NeedsExactPath("forced by the test")

    monkeypatch.setattr(loader, "_load_fast", refuse)


@pytest.fixture()
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A landing root; the quarantine limit is lifted (these files are mostly bad on purpose)."""
    monkeypatch.setenv("ARREARS_QUARANTINE_LIMIT", "1")
    return tmp_path / "landing"


ENTITIES = ["payments", "loans", "installments", "collection_actions", "borrowers", "contact_points", "legal_cases"]


@pytest.mark.parametrize("fmt", ["csv", "quoted-csv", "parquet"])
@pytest.mark.parametrize("entity_name", ENTITIES)
def test_fast_path_loads_and_quarantines_exactly_like_the_sql_router(
    warehouse_url: str,
    conn: psycopg.Connection,
    landing: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    entity_name: str,
    fmt: str,
) -> None:
    entity = load_contract().entity(entity_name)
    rows = _rows(entity, 600, random.Random(f"{entity_name}-{fmt}"))
    if fmt == "quoted-csv":  # every field quoted: an empty one is "", an empty string, not NULL
        text = io.StringIO()
        writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(entity.column_names)
        writer.writerows([[record[name] for name in entity.column_names] for record in rows])
        content = text.getvalue().encode()
        assert b'""' in content
        Delivery(landing).add_bytes(entity_name, f"{entity_name}.csv", content, len(rows)).write_manifest()
    else:
        Delivery(landing).add(entity_name, rows, fmt=fmt).write_manifest()

    with caplog.at_level(logging.INFO, logger="arrears.ingest.loader"):
        fast = ingest_delivery(DAY, landing)
    assert "by the fast path" in caplog.text
    fast_state = _snapshot(conn, entity)
    _force_exact(monkeypatch)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="arrears.ingest.loader"):
        exact = ingest_delivery(DAY, landing)
    assert "forced by the test" in caplog.text

    exact_state = _snapshot(conn, entity)
    assert fast_state[1] == exact_state[1]  # the same lines quarantined, same reasons, details, raw rows
    assert fast_state[0] == exact_state[0]  # the same typed rows
    assert (fast.loaded, fast.quarantined) == (exact.loaded, exact.quarantined)
    assert fast.loaded > 30 and fast.quarantined > 30  # neither side is trivially empty


def test_sure_mask_accepts_only_what_the_router_surely_accepts() -> None:
    payments = load_contract().entity("payments")
    values = {
        "received_at": [
            "2026-11-21 09:30:00",
            "2026-11-21 24:00:00",
            "2026-02-29 10:00:00",
            "2026-11-21T09:30:00+08:00",
        ],
        "value_date": ["2026-11-21", "2024-02-29", "2026-02-29", "2026-11-21"],
        "amount": ["0.01", "12.5", "0.00", "1,000.00"],
    }
    batch = pa.RecordBatch.from_pydict(
        {
            name: pa.array(values.get(name, [GOOD_ROWS["payments"][name] or None] * 4), pa.string())
            for name in payments.column_names
        }
    )

    assert prefilter.sure_mask(payments, batch).to_pylist() == [True, False, False, False]


def test_duplicate_keys_across_sure_and_unsure_rows_are_all_quarantined(
    warehouse_url: str, conn: psycopg.Connection, landing: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [
        row("payments", payment_id="P1"),
        row("payments", payment_id="P2"),
        row("payments", payment_id="P1", amount="12.345"),  # bad type: its twin is the duplicate
        row("payments", payment_id="P3", amount="1,000"),
        row("payments", payment_id="P3", amount="1,001"),
    ]
    Delivery(landing).add("payments", rows).write_manifest()

    with caplog.at_level(logging.INFO, logger="arrears.ingest.loader"):
        result = ingest_delivery(DAY, landing)

    reasons = conn.execute("select line_no, reason from audit.quarantine order by line_no").fetchall()
    assert reasons == [(2, "duplicate_key_in_file"), (4, "bad_type"), (5, "bad_type"), (6, "bad_type")]
    assert (result.loaded, result.quarantined) == (1, 4)
    assert "exact path (a landed row repeats the key" in caplog.text


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        (b"P2,L1,", b'P2,"L1"x,', "fast path"),  # text after a closing quote: every reader appends it
        (b"P2,L1,", b'P2,"L""1",', "fast path"),  # an escaped quote: the file is scanned again, no stray quote
        (b"P2,L1,", b'P2,L"1,', "exact path"),  # a quote inside an unquoted field: COPY would open a section
    ],
    ids=["after-a-closing-quote", "escaped-quote", "inside-a-field"],
)
def test_quotes_load_like_the_exact_path(
    warehouse_url: str,
    conn: psycopg.Connection,
    landing: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    old: bytes,
    new: bytes,
    path: str,
) -> None:
    payments = load_contract().entity("payments")
    header = list(GOOD_ROWS["payments"])
    content = csv_bytes([row("payments", payment_id=f"P{n}") for n in range(1, 5)], header).replace(old, new)
    assert new in content
    Delivery(landing).add_bytes("payments", "payments.csv", content, 4).write_manifest()

    with caplog.at_level(logging.INFO, logger="arrears.ingest.loader"):
        fast = ingest_delivery(DAY, landing)
    assert f"by the {path}" in caplog.text
    fast_state = _snapshot(conn, payments)
    _force_exact(monkeypatch)
    exact = ingest_delivery(DAY, landing)

    assert _snapshot(conn, payments) == fast_state
    assert (fast.loaded, fast.quarantined) == (exact.loaded, exact.quarantined) == (4, 0)


def test_reload_truncates_the_partition_and_rebuilds_its_key_index(
    warehouse_url: str, conn: psycopg.Connection, landing: Path
) -> None:
    delivery = Delivery(landing).add("payments", [row("payments", payment_id=f"P{n}") for n in range(3)])
    delivery.write_manifest()
    ingest_delivery(DAY, landing)
    Delivery(landing).add("payments", [row("payments", payment_id="P9")]).write_manifest()

    ingest_delivery(DAY, landing)

    assert conn.execute("select payment_id from raw.payments").fetchall() == [("P9",)]
    table = partition_table(load_contract().entity("payments"), DAY)
    indexes = conn.execute("select indexdef from pg_indexes where tablename = %s", (table.split(".")[1],)).fetchall()
    assert len(indexes) == 1 and "(payment_id)" in indexes[0][0]


def test_db_init_partitions_a_typed_table_from_before_partitioning(conn: psycopg.Connection) -> None:
    conn.execute("drop table raw.payments")
    conn.execute(
        """create table raw.payments (payment_id text, loan_id text, received_at timestamptz, value_date date,
           amount numeric(18,2), channel text, reversal_of text, _business_date date not null, _file text not null,
           _line integer not null, _loaded_at timestamptz not null, _content_hash text not null)"""
    )
    conn.execute("create index payments_key_idx on raw.payments (payment_id)")
    # A warehouse that has been built has dbt views reading the table (and views reading those).
    conn.execute("create schema if not exists staging")
    conn.execute("create view staging.old_payments as select payment_id from raw.payments")
    conn.execute("create view staging.old_payments_count as select count(*) as n from staging.old_payments")
    conn.execute(
        """insert into raw.payments (payment_id, amount, _business_date, _file, _line, _loaded_at, _content_hash)
           values ('P1', 1, '2026-11-20', 'payments.csv', 2, now(), 'h'),
                  ('P2', 2, '2026-11-21', 'payments.csv', 2, now(), 'h')"""
    )
    conn.commit()

    init_schema(conn)
    init_schema(conn)  # idempotent

    kind = conn.execute("select relkind from pg_class where oid = 'raw.payments'::regclass").fetchone()
    assert kind == ("p",)
    assert conn.execute("select payment_id, _business_date from raw.payments order by 1").fetchall() == [
        ("P1", dt.date(2026, 11, 20)),
        ("P2", dt.date(2026, 11, 21)),
    ]
    partitions = conn.execute("select count(*) from pg_inherits where inhparent = 'raw.payments'::regclass")
    assert partitions.fetchone() == (2,)
    # The views on the old table went with it (the next `arrears build` recreates dbt's views).
    assert conn.execute(
        "select to_regclass('staging.old_payments'), to_regclass('staging.old_payments_count')"
    ).fetchone() == (
        None,
        None,
    )


@pytest.mark.parametrize(
    ("zone", "around", "expected"),
    [
        # New York: standard time from Sunday 2026-11-01 02:00 to Sunday 2027-03-14 02:00 (UTC-5). The
        # days whose noon is the first or last to show the offset are left out, and the day before the
        # next change (a change may come late in a day).
        (
            "America/New_York",
            dt.date(2026, 11, 21),
            binary_copy.ConstantOffset(dt.date(2026, 11, 2), dt.date(2027, 3, 13), -5 * 3600),
        ),
        # Shanghai's daylight saving of 1988: Sunday 1988-04-17 02:00 to Sunday 1988-09-11 02:00 (UTC+9).
        (
            "Asia/Shanghai",
            dt.date(1988, 7, 1),
            binary_copy.ConstantOffset(dt.date(1988, 4, 18), dt.date(1988, 9, 10), 9 * 3600),
        ),
    ],
)
def test_binary_copy_encodes_local_times_only_where_the_zone_keeps_one_offset(
    server_url: str, zone: str, around: dt.date, expected: binary_copy.ConstantOffset
) -> None:
    with psycopg.connect(server_url) as session:
        session.execute("select set_config('TimeZone', %s, false)", (zone,))
        assert binary_copy.constant_offset(session, around) == expected
