"""Ingestion: every bad input of the landing contract is either a clear rejection or a quarantine with the right
reason, never a traceback or a silently dropped row (loaded + quarantined = rows in the file)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import logging
from pathlib import Path

import psycopg
import pytest

from arrears.errors import DeliveryRejected
from arrears.ingest import REASONS, ingest_delivery
from arrears.ingest.files import RecordCounter
from tests.support.ingest_files import DAY, GOOD_ROWS, Delivery, csv_bytes, row


@pytest.fixture()
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A landing root; the quarantine limit is lifted (these tiny files are mostly bad on purpose)."""
    monkeypatch.setenv("ARREARS_QUARANTINE_LIMIT", "1")
    return tmp_path / "landing"


def quarantine(conn: psycopg.Connection, entity: str | None = None) -> list[tuple[int, str, str]]:
    """(line_no, reason, detail) of the date's quarantine, in line order."""
    rows = conn.execute(
        "select line_no, reason, detail from audit.quarantine where business_date = %s"
        " and (%s::text is null or entity = %s) order by entity, line_no",
        (DAY, entity, entity),
    ).fetchall()
    return [(int(line), str(reason), str(detail)) for line, reason, detail in rows]


def count(conn: psycopg.Connection, table: str, business_date: dt.date = DAY) -> int:
    found = conn.execute(f"select count(*) from {table} where _business_date = %s", (business_date,)).fetchone()
    assert found is not None
    return int(found[0])


def nothing_loaded(conn: psycopg.Connection) -> bool:
    loaded = conn.execute(
        "select (select count(*) from raw.payments) + (select count(*) from raw.loans)"
        " + (select count(*) from audit.quarantine) + (select count(*) from audit.batches)"
    ).fetchone()
    return loaded is not None and loaded[0] == 0


# --- a good delivery, every format ---------------------------------------------------------------


def test_every_entity_loads_typed_with_lineage(warehouse_url: str, conn: psycopg.Connection, landing: Path) -> None:
    delivery = Delivery(landing)
    for entity in GOOD_ROWS:
        delivery.add(entity, [row(entity)])
    delivery.write_manifest()

    result = ingest_delivery(DAY, landing)

    assert (result.loaded, result.quarantined) == (9, 0)
    assert "payments" in result.summary() and "9 rows loaded, 0 quarantined" in result.summary()
    payment = conn.execute(
        "select received_at, amount, _business_date, _file, _line from raw.payments where payment_id = 'P1'"
    ).fetchone()
    assert payment is not None
    # No offset in the file: the source time zone (Asia/Shanghai, UTC+8) applies.
    assert payment[0] == dt.datetime(2026, 11, 21, 1, 30, tzinfo=dt.UTC)
    assert str(payment[1]) == "1180.50"
    assert payment[2:] == (DAY, "payments.csv", 2)
    assert count(conn, "pii.borrowers") == 1 and count(conn, "pii.contact_points") == 1
    batch = conn.execute("select status, rows_loaded, rows_quarantined from audit.batches").fetchall()
    assert batch == [("loaded", 9, 0)]


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet"])
def test_each_format_loads_the_same_rows(warehouse_url: str, conn: psycopg.Connection, landing: Path, fmt: str) -> None:
    rows = [row("payments"), row("payments", payment_id="P2", amount="abc"), row("payments", payment_id="P3")]
    Delivery(landing).add("payments", rows, fmt=fmt).write_manifest()

    result = ingest_delivery(DAY, landing)

    assert (result.loaded, result.quarantined) == (2, 1)
    assert quarantine(conn) == [(3, "bad_type", "amount = 'abc'")]
    files = conn.execute("select distinct _file from raw.payments").fetchall()
    assert files == [(f"payments.{fmt}",)]


def test_columns_in_any_order_and_a_bom(warehouse_url: str, conn: psycopg.Connection, landing: Path) -> None:
    header = list(reversed(GOOD_ROWS["payments"]))
    content = b"\xef\xbb\xbf" + csv_bytes([row("payments")], header)
    Delivery(landing).add_bytes("payments", "payments.csv", content, 1).write_manifest()

    assert ingest_delivery(DAY, landing).loaded == 1
    assert conn.execute("select loan_id, channel from raw.payments").fetchall() == [("L1", "alipay")]


# --- quarantine reasons ------------------------------------------------------------------------------


def test_bad_values_are_quarantined_with_the_first_failing_rule(
    warehouse_url: str, conn: psycopg.Connection, landing: Path
) -> None:
    rows = [
        row("payments", payment_id="P01"),  # line 2: good
        row("payments", payment_id="P02", value_date="2026-02-30"),  # not a real date
        row("payments", payment_id="P03", value_date="21/11/2026"),
        row("payments", payment_id="P04", received_at="yesterday"),
        row("payments", payment_id="P05", amount="1,000.00"),  # thousands separator
        row("payments", payment_id="P06", amount="12.345"),  # three decimals
        row("payments", payment_id="P07", amount="-5.00"),  # negative: positive check
        row("payments", payment_id="P08", amount="abc"),
        row("payments", payment_id="P09", loan_id=""),  # required
        row("payments", payment_id="P10", channel="cash"),  # not allowed
        row("payments", payment_id="P11", amount="0"),  # positive means > 0
        row("payments", payment_id="P12", value_date="", amount="abc"),  # first rule wins
        row("payments", payment_id="P13", received_at="2026-11-21T09:30:00Z", amount="7"),  # good
    ]
    Delivery(landing).add("payments", rows).write_manifest()

    ingest_delivery(DAY, landing)

    assert quarantine(conn) == [
        (3, "bad_type", "value_date = '2026-02-30'"),
        (4, "bad_type", "value_date = '21/11/2026'"),
        (5, "bad_type", "received_at = 'yesterday'"),
        (6, "bad_type", "amount = '1,000.00'"),
        (7, "bad_type", "amount = '12.345'"),
        (8, "out_of_range", "amount = '-5.00' (must be > 0)"),
        (9, "bad_type", "amount = 'abc'"),
        (10, "missing_required", "loan_id is empty"),
        (11, "not_allowed", "channel = 'cash'"),
        (12, "out_of_range", "amount = '0' (must be > 0)"),
        (13, "missing_required", "value_date is empty"),
    ]
    loaded = conn.execute("select payment_id from raw.payments order by 1").fetchall()
    assert loaded == [("P01",), ("P13",)]
    assert count(conn, "raw.payments") + len(quarantine(conn)) == len(rows)


def test_personal_data_checks(warehouse_url: str, conn: psycopg.Connection, landing: Path) -> None:
    rows = [
        row("borrowers", borrower_id="B1"),
        row("borrowers", borrower_id="B2", national_id="440524188001010014"),  # valid, digit check
        row("borrowers", borrower_id="B3", national_id="110105194912310021"),  # wrong check character
        row("borrowers", borrower_id="B4", national_id="11010519491231002"),  # 17 characters
        row("borrowers", borrower_id="B5", mobile_phone="12912345678"),  # 12x is not a mobile prefix
        row("borrowers", borrower_id="B6", mobile_phone="1391234567"),  # 10 digits
        row("borrowers", borrower_id="B7", national_id="", mobile_phone=""),  # optional: empty is fine
    ]
    Delivery(landing).add("borrowers", rows).write_manifest()

    ingest_delivery(DAY, landing)

    assert [(line, reason) for line, reason, _ in quarantine(conn)] == [
        (4, "invalid_national_id"),
        (5, "invalid_national_id"),
        (6, "invalid_phone"),
        (7, "invalid_phone"),
    ]
    assert count(conn, "pii.borrowers") == 3


def test_team_ids_and_booleans_and_integers(warehouse_url: str, conn: psycopg.Connection, landing: Path) -> None:
    actions = [
        row("collection_actions", action_id="A1", team_id="agency:huaxia"),
        row("collection_actions", action_id="A2", team_id="sales"),
        row("collection_actions", action_id="A3", collectors_present="2.5"),
        row("collection_actions", action_id="A4", collectors_present="-1"),
    ]
    contacts = [row("contact_points"), row("contact_points", contact_point_id="C2", is_valid="maybe")]
    Delivery(landing).add("contact_points", contacts).add("collection_actions", actions).write_manifest()

    ingest_delivery(DAY, landing)

    assert [(line, reason) for line, reason, _ in quarantine(conn, "collection_actions")] == [
        (3, "not_allowed"),
        (4, "bad_type"),
        (5, "out_of_range"),
    ]
    assert [(line, reason) for line, reason, _ in quarantine(conn, "contact_points")] == [(3, "bad_type")]


def test_every_row_of_a_duplicated_key_is_quarantined(
    warehouse_url: str, conn: psycopg.Connection, landing: Path
) -> None:
    rows = [
        row("installments"),
        row("installments", installment_no="2"),
        row("installments", installment_no="2", fee_due="5.00"),
        row("installments", schedule_version="2", installment_no="2"),  # same no., other version: fine
    ]
    Delivery(landing).add("installments", rows).write_manifest()

    ingest_delivery(DAY, landing)

    assert [(line, reason) for line, reason, _ in quarantine(conn)] == [
        (3, "duplicate_key_in_file"),
        (4, "duplicate_key_in_file"),
    ]
    assert count(conn, "raw.installments") == 2


def test_harmless_duplicate_event_loads_and_a_conflicting_one_is_quarantined(
    warehouse_url: str, conn: psycopg.Connection, landing: Path
) -> None:
    first = dt.date(2026, 11, 20)
    Delivery(landing, first).add(
        "payments", [row("payments", payment_id="P1"), row("payments", payment_id="P2")]
    ).write_manifest()
    ingest_delivery(first, landing)
    later = [
        row("payments", payment_id="P1", amount="1180.50"),  # same typed content as 1180.5
        row("payments", payment_id="P2", amount="99.00"),  # same key, other amount
        row("payments", payment_id="P3"),
    ]
    Delivery(landing, DAY).add("payments", later).write_manifest()

    ingest_delivery(DAY, landing)

    conflicts = quarantine(conn)
    assert [(line, reason) for line, reason, _ in conflicts] == [(3, "event_conflict")]
    assert "2026-11-20" in conflicts[0][2] and "P2" in conflicts[0][2]
    today = conn.execute("select payment_id from raw.payments where _business_date = %s order by 1", (DAY,))
    assert today.fetchall() == [("P1",), ("P3",)]


# --- structurally broken files: the Python fallback ------------------------------------------------


def test_non_utf8_bytes_and_wrong_field_counts(warehouse_url: str, conn: psycopg.Connection, landing: Path) -> None:
    good = csv_bytes([row("payments", payment_id=f"P{n}") for n in range(1, 4)], list(GOOD_ROWS["payments"]))
    lines = good.split(b"\r\n")
    lines[2] = lines[2].replace(b"alipay", b"ali\xff\xfepay")  # line 3: Latin-1 bytes
    lines[3] = lines[3] + b",extra"  # line 4: one field too many
    content = b"\r\n".join(lines) + b"P9,L1,2026-11-21 09:30:00\r\n"  # line 5: too few fields
    Delivery(landing).add_bytes("payments", "payments.csv", content, 4).write_manifest()

    ingest_delivery(DAY, landing)

    assert [(line, reason) for line, reason, _ in quarantine(conn)] == [
        (3, "invalid_encoding"),
        (4, "malformed_row"),
        (5, "malformed_row"),
    ]
    raw = conn.execute("select raw_row from audit.quarantine where line_no = 4").fetchone()
    assert raw is not None and raw[0].endswith(",extra")
    assert conn.execute("select payment_id, _line from raw.payments").fetchall() == [("P1", 2)]


def test_a_ten_megabyte_field_loads(warehouse_url: str, conn: psycopg.Connection, landing: Path) -> None:
    address = "路" * (10 * 1024 * 1024 // 3)  # 3 bytes each in UTF-8: 10 MB
    delivery = Delivery(landing)
    delivery.add("borrowers", [row("borrowers", address=address), row("borrowers", borrower_id="B2")])
    delivery.write_manifest()

    assert ingest_delivery(DAY, landing).loaded == 2
    stored = conn.execute("select length(address) from pii.borrowers where borrower_id = 'B1'").fetchone()
    assert stored == (len(address),)


def test_header_only_loads_nothing_and_an_absent_entity_is_no_change(
    warehouse_url: str, conn: psycopg.Connection, landing: Path
) -> None:
    Delivery(landing).add("payments", []).add("loans", [row("loans")]).write_manifest()

    result = ingest_delivery(DAY, landing)

    assert (result.loaded, result.quarantined) == (1, 0)
    assert "not delivered" in result.summary()  # the seven absent entities
    assert count(conn, "raw.payments") == 0


# --- rejections: one clear line, nothing loaded ------------------------------------------------------


def _good_delivery(landing: Path) -> Delivery:
    return Delivery(landing).add("loans", [row("loans")]).add("payments", [row("payments")])


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda d: (d.folder / "_manifest.json").unlink(), "no manifest"),
        (lambda d: (d.folder / "payments.csv").write_bytes(b"payment_id,loan_id\r\nP1,L"), "payments.csv: SHA-256"),
        (lambda d: (d.folder / "payments.csv").unlink(), "payments.csv: listed in the manifest but absent"),
        (lambda d: (d.folder / "notes.txt").write_text("hi"), "notes.txt: present in the delivery folder"),
    ],
    ids=["missing-manifest", "truncated-file", "missing-file", "unlisted-file"],
)
def test_delivery_problems_reject_everything(
    warehouse_url: str, conn: psycopg.Connection, landing: Path, spoil: object, message: str
) -> None:
    delivery = _good_delivery(landing)
    delivery.write_manifest()
    spoil(delivery)  # type: ignore[operator]

    with pytest.raises(DeliveryRejected, match=message):
        ingest_delivery(DAY, landing)
    assert nothing_loaded(conn)


def test_manifest_mismatches_reject(warehouse_url: str, conn: psycopg.Connection, landing: Path) -> None:
    delivery = _good_delivery(landing)
    delivery.entries[1]["sha256"] = "0" * 64
    delivery.write_manifest()
    with pytest.raises(DeliveryRejected, match="payments.csv: SHA-256 mismatch"):
        ingest_delivery(DAY, landing)

    delivery.entries[1]["sha256"] = _good_delivery(landing).entries[1]["sha256"]
    delivery.entries[1]["rows"] = 5
    delivery.write_manifest()
    with pytest.raises(DeliveryRejected, match="payments.csv: row count mismatch: manifest says 5, file has 1"):
        ingest_delivery(DAY, landing)

    delivery.entries[1]["rows"] = 1
    delivery.write_manifest(business_date="2026-11-20")
    with pytest.raises(DeliveryRejected, match="business_date '2026-11-20' disagrees with the folder 2026-11-21"):
        ingest_delivery(DAY, landing)
    assert nothing_loaded(conn)


def test_a_path_outside_the_delivery_is_rejected(warehouse_url: str, conn: psycopg.Connection, landing: Path) -> None:
    delivery = _good_delivery(landing)
    (landing / "x.csv").write_bytes(b"payment_id\r\n")
    delivery.entries.append({"entity": "payments", "file": "../x.csv", "rows": 0, "sha256": "0" * 64})
    delivery.write_manifest()

    with pytest.raises(DeliveryRejected, match=r"\.\./x\.csv: file path is not a plain name inside the delivery"):
        ingest_delivery(DAY, landing)
    assert nothing_loaded(conn)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ([c for c in GOOD_ROWS["payments"] if c != "value_date"], "payments.csv: missing column(s) value_date"),
        ([*GOOD_ROWS["payments"], "memo"], "payments.csv: unknown column(s) memo"),
    ],
    ids=["missing-column", "unknown-column"],
)
def test_header_problems_reject(
    warehouse_url: str, conn: psycopg.Connection, landing: Path, header: list[str], message: str
) -> None:
    Delivery(landing).add("loans", [row("loans")]).add("payments", [row("payments")], header=header).write_manifest()

    with pytest.raises(DeliveryRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        ingest_delivery(DAY, landing)
    assert nothing_loaded(conn)


def test_empty_file_and_truncated_gzip_reject(warehouse_url: str, conn: psycopg.Connection, landing: Path) -> None:
    Delivery(landing).add("loans", [row("loans")]).add_bytes("payments", "payments.csv", b"", 0).write_manifest()
    with pytest.raises(DeliveryRejected, match="payments.csv: empty file, no header row"):
        ingest_delivery(DAY, landing)

    other = landing.parent / "other"
    content = gzip.compress(csv_bytes([row("payments")], list(GOOD_ROWS["payments"])))
    Delivery(other).add_bytes("payments", "payments.csv.gz", content[:-12], 1).write_manifest()
    with pytest.raises(DeliveryRejected, match="payments.csv.gz: not a readable gzip stream"):
        ingest_delivery(DAY, other)
    assert nothing_loaded(conn)


def test_reasons_are_the_shared_codes() -> None:
    assert set(REASONS) == {
        "malformed_row",
        "invalid_encoding",
        "missing_required",
        "key_too_long",
        "bad_type",
        "not_allowed",
        "out_of_range",
        "invalid_national_id",
        "invalid_phone",
        "duplicate_key_in_file",
        "event_conflict",
    }


def test_typed_parquet_columns_go_through_the_same_rules(
    warehouse_url: str, conn: psycopg.Connection, landing: Path
) -> None:
    import decimal
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "payment_id": ["P1", "P2"],
            "loan_id": ["L1", "L1"],
            "received_at": pa.array(
                [dt.datetime(2026, 11, 21, 1, 30), dt.datetime(2026, 11, 21, 2, 0)], pa.timestamp("us", tz="UTC")
            ),
            "value_date": pa.array([dt.date(2026, 11, 21), dt.date(2026, 11, 20)], pa.date32()),
            "amount": pa.array([decimal.Decimal("1180.50"), decimal.Decimal("-3.00")], pa.decimal128(18, 2)),
            "channel": ["alipay", None],
            "reversal_of": pa.array([None, None], pa.string()),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    Delivery(landing).add_bytes("payments", "payments.parquet", sink.getvalue(), 2).write_manifest()

    result = ingest_delivery(DAY, landing)

    assert (result.loaded, result.quarantined) == (1, 1)
    assert quarantine(conn) == [(3, "out_of_range", "amount = '-3.00' (must be > 0)")]
    loaded = conn.execute("select received_at, value_date, amount::text from raw.payments").fetchone()
    assert loaded == (dt.datetime(2026, 11, 21, 1, 30, tzinfo=dt.UTC), dt.date(2026, 11, 21), "1180.50")


def test_a_stray_quote_inside_a_field_is_read_literally(
    warehouse_url: str, conn: psycopg.Connection, landing: Path
) -> None:
    header = list(GOOD_ROWS["payments"])
    content = csv_bytes([row("payments", payment_id=f"P{n}") for n in range(1, 5)], header)
    content = content.replace(b"P2,L1", b'P2,L"1').replace(b"P4,L1", b'P4,L"1')  # not RFC 4180
    Delivery(landing).add_bytes("payments", "payments.csv", content, 4).write_manifest()

    result = ingest_delivery(DAY, landing)

    assert (result.loaded, result.quarantined) == (4, 0)
    loaded = conn.execute("select payment_id, loan_id, _line from raw.payments order by _line").fetchall()
    assert loaded == [("P1", "L1", 2), ("P2", 'L"1', 3), ("P3", "L1", 4), ("P4", 'L"1', 5)]


@pytest.mark.parametrize(
    ("content", "stray"),
    [
        (b'id,agent\r\nA1,agent1\r\nA2,agent2",x\r\nA3,agent3\r\n', True),  # ends a field: looks like a closing quote
        (b'id,agent\r\nA1,agent1\r\nA2,x,agent2"\r\nA3,agent3\r\n', True),  # ends a record
        (b'id,agent\r\nA1,agent1\r\nA2,"agent2"x\r\nA3,agent3\r\n', True),  # after a closing quote
        (b'id,agent\r\nA1,agent1\r\nA2,ag"ent2\r\nA3,agent3\r\n', True),  # inside a field
        (b'id,agent\r\nA1,"x"",y"\r\nA2,"a\r\nb",""\r\n"A3","""",agent3', False),  # RFC 4180: quoted fields
        (b'\xef\xbb\xbf"id","agent"\r\nA1,"agent1"\r\nA2,agent2\r\nA3,agent3\r\n', False),  # BOM, quoted header
    ],
    ids=["ending-a-field", "ending-a-record", "after-a-closing-quote", "inside-a-field", "rfc-4180", "bom"],
)
@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 1 << 20])
def test_record_counter_tells_stray_quotes_from_quoted_fields_across_chunks(
    content: bytes, stray: bool, chunk_size: int
) -> None:
    counter = RecordCounter()
    for start in range(0, len(content), chunk_size):
        counter.feed(content[start : start + chunk_size])

    assert counter.stray_quote is stray
    if not stray:  # the fast count is the csv module's (the fallback's) count
        assert counter.records == len(list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))))


def test_a_stray_quote_ending_a_field_is_read_literally(
    warehouse_url: str, conn: psycopg.Connection, landing: Path, caplog: pytest.LogCaptureFixture
) -> None:
    header = list(GOOD_ROWS["payments"])
    content = csv_bytes([row("payments", payment_id=f"P{n}") for n in range(1, 5)], header)
    # `L1",` looks like a closing quote, but the field did not open with one (not RFC 4180).
    content = content.replace(b"P2,L1,", b'P2,L1",').replace(b"P4,L1,", b'P4,L1",')
    Delivery(landing).add_bytes("payments", "payments.csv", content, 4).write_manifest()

    with caplog.at_level(logging.INFO, logger="arrears.ingest.loader"):
        result = ingest_delivery(DAY, landing)

    assert (result.loaded, result.quarantined) == (4, 0)
    loaded = conn.execute("select payment_id, loan_id, _line from raw.payments order by _line").fetchall()
    assert loaded == [("P1", "L1", 2), ("P2", 'L1"', 3), ("P3", "L1", 4), ("P4", 'L1"', 5)]
    assert "(Python fallback)" in caplog.text


def test_a_quoted_field_holding_a_quote_and_a_comma_stays_on_the_fast_path(
    warehouse_url: str, conn: psycopg.Connection, landing: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [
        row("payments", payment_id="P1", loan_id='L1",'),  # written `"L1"","`: a quote then a delimiter inside
        row("payments", payment_id="P2", loan_id='"L2",x'),
        row("payments", payment_id="P3"),
    ]
    content = csv_bytes(rows, list(GOOD_ROWS["payments"]))
    assert b'"L1"",",' in content
    Delivery(landing).add_bytes("payments", "payments.csv", content, 3).write_manifest()

    with caplog.at_level(logging.INFO, logger="arrears.ingest.loader"):
        result = ingest_delivery(DAY, landing)

    assert (result.loaded, result.quarantined) == (3, 0)
    loaded = conn.execute("select payment_id, loan_id, _line from raw.payments order by _line").fetchall()
    assert loaded == [("P1", 'L1",', 2), ("P2", '"L2",x', 3), ("P3", "L1", 4)]
    assert "by the fast path" in caplog.text and "(Python fallback)" not in caplog.text
