"""Property-based test of the loader (docs/reliability.md): hypothesis writes deliveries that mix
random valid rows with every kind of malformed value, and for every file the loader must account for
every record (loaded + quarantined = delivered, each line exactly once), load every row that is valid,
quarantine every row that is surely bad, and never reject the delivery (every generated manifest is
correct) nor raise anything else.

The counts tried are printed at the end (run with `-s`) and written down in docs/reliability.md.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.contract import Column, Entity, load_contract
from arrears.errors import DeliveryRejected
from arrears.ingest import ingest_delivery
from tests.support.ingest_files import DAY, GOOD_ROWS, Delivery, csv_bytes, row

ENTITIES = ["borrowers", "contact_points", "installments", "payments", "collection_actions"]

# Text columns with no type, allowed-value or shape rule: any UTF-8 text of any length is valid there.
FREE_TEXT = {
    "borrowers": ["full_name", "city", "address"],
    "contact_points": ["phone"],
    "installments": ["loan_id"],
    "payments": ["loan_id"],
    "collection_actions": ["agent_id"],
}

# Values each rule must refuse, whatever the column (chosen so that no reading of the contract accepts them).
BAD_VALUES = {
    "date": ["2026-02-30", "21/11/2026", "2026-13-01", "2026/11/21", "yesterday", "0000-00-00", "2026-11-2"],
    "timestamp": ["yesterday", "2026-11-21 25:00:00", "2026-02-30T10:00:00", "21/11/2026 10:00", "2026-11-21T10:61"],
    "amount": ["1,000.00", "12.345", "abc", "1e3", "¥100", "--5", "1.2.3"],
    "integer": ["2.5", "abc", "1e2", "99999999999999999999", "+-1"],
    "boolean": ["maybe", "2", "truee", "yes please"],
    "not_allowed": ["not-a-value", "cash", "ALIPAY!", "其他"],
    "national_id": ["110105194912310021", "11010519491231002", "ABCDEFGHIJKLMNOPQR", "11010519491331002X"],
    "mobile_phone": ["12912345678", "1391234567", "139123456789", "phone-number", "+8613912345678"],
}

# kind -> (column selector, whether a row of this kind must end up in quarantine)
KINDS = [
    "bad_date",
    "bad_timestamp",
    "bad_amount",
    "bad_integer",
    "bad_boolean",
    "missing_required",
    "not_allowed",
    "out_of_range",
    "bad_national_id",
    "bad_phone",
    "duplicate_key",
    "wrong_field_count",
    "non_utf8",
    "stray_quote",
    "empty_optional",
    "very_long_field",
]
# Kinds whose row is still valid: it must load (when its key is unique).
VALID_KINDS = {"valid", "empty_optional", "very_long_field"}
# A `"` inside an unquoted field breaks RFC 4180: the contract leaves open whether the record loads (read
# literally) or is quarantined, but it must be accounted for and must not reject the delivery.
OPEN_KINDS = {"stray_quote"}

free_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=24
).filter(lambda text: text.strip() == text and text != "")


@dataclass
class Record:
    """One delivered data record: its fields as bytes (already CSV-encoded) and what the row should do."""

    kind: str
    line: bytes
    key: tuple[str, ...]


@dataclass
class Stats:
    """What the property has tried so far (printed at the end of the test)."""

    examples: int = 0
    files: int = 0
    records: int = 0
    kinds: Counter[str] | None = None
    reasons: Counter[str] | None = None

    def __post_init__(self) -> None:
        self.kinds = Counter()
        self.reasons = Counter()


STATS = Stats()


def _columns(entity: Entity, predicate: Callable[[Column], bool]) -> list[str]:
    return [column.name for column in entity.columns if predicate(column)]


def _kind_columns(entity: Entity) -> dict[str, list[str]]:
    """The columns of the entity each malformed kind can be put into (empty: the kind does not apply)."""
    key = set(entity.key)
    columns = {
        "bad_date": _columns(entity, lambda c: c.type == "date"),
        "bad_timestamp": _columns(entity, lambda c: c.type == "timestamp"),
        "bad_amount": _columns(entity, lambda c: c.type == "amount"),
        "bad_integer": _columns(entity, lambda c: c.type == "integer"),
        "bad_boolean": _columns(entity, lambda c: c.type == "boolean"),
        "missing_required": _columns(entity, lambda c: c.required),
        "not_allowed": _columns(entity, lambda c: bool(c.allowed)),
        "out_of_range": _columns(entity, lambda c: c.check in ("positive", "non_negative")),
        "bad_national_id": _columns(entity, lambda c: c.check == "national_id"),
        "bad_phone": _columns(entity, lambda c: c.check == "mobile_phone"),
        "empty_optional": _columns(
            entity,
            lambda c: not c.required and c.name not in key and c.name in GOOD_ROWS[entity.name],
        ),
    }
    for kind in ["duplicate_key", "wrong_field_count", "non_utf8", "stray_quote"]:
        columns[kind] = FREE_TEXT[entity.name]
    # Long values only outside the key: a key over 200 characters is quarantined as key_too_long (own test below).
    columns["very_long_field"] = [name for name in FREE_TEXT[entity.name] if name not in key]
    return columns


def _csv_line(fields: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue().encode("utf-8")


def _plain(text: str) -> str:
    """Text that needs no CSV quoting, so a raw byte or quote can be spliced into it."""
    return "".join(char for char in text if char not in ',"\r\n') or "x"


def _key_values(entity_name: str, number: int) -> dict[str, str]:
    if entity_name == "installments":
        return {"installment_no": str(number)}
    return {load_contract().entity(entity_name).key[0]: f"K{number}"}


@st.composite
def entity_file(draw: st.DrawFn, entity_name: str) -> list[Record]:
    """The records of one entity's file: valid rows with unique keys, some turned into a malformed kind."""
    entity = load_contract().entity(entity_name)
    header = list(GOOD_ROWS[entity_name])
    applicable = {kind: cols for kind, cols in _kind_columns(entity).items() if cols}
    size = draw(st.integers(min_value=1, max_value=12))
    records: list[Record] = []
    for number in range(1, size + 1):
        values = {**GOOD_ROWS[entity_name], **_key_values(entity_name, number)}
        for column in FREE_TEXT[entity_name]:
            if column not in entity.key:
                values[column] = draw(free_text)
        kind = draw(st.sampled_from(["valid", "valid", *sorted(applicable)]))
        column = draw(st.sampled_from(applicable[kind])) if kind != "valid" else ""
        sources = [r for r in records if r.kind == "valid"]
        if kind == "duplicate_key" and not sources:
            kind = "valid"
        fields = None
        if kind in {"bad_date", "bad_timestamp", "bad_amount", "bad_integer", "bad_boolean"}:
            values[column] = draw(st.sampled_from(BAD_VALUES[kind.removeprefix("bad_")]))
        elif kind == "bad_national_id":
            values[column] = draw(st.sampled_from(BAD_VALUES["national_id"]))
        elif kind == "bad_phone":
            values[column] = draw(st.sampled_from(BAD_VALUES["mobile_phone"]))
        elif kind == "out_of_range":
            values[column] = draw(st.sampled_from(["-1", "-1000"]))  # well-typed integers and amounts, below zero
        elif kind == "not_allowed":
            values[column] = draw(st.sampled_from(BAD_VALUES["not_allowed"]))
        elif kind in {"missing_required", "empty_optional"}:
            values[column] = ""
        elif kind == "very_long_field":
            values[column] = draw(st.sampled_from(["路", "a", 'é,"'])) * draw(st.sampled_from([5_000, 70_000]))
        elif kind == "duplicate_key":
            source = draw(st.sampled_from(sources))
            values.update(dict(zip(entity.key, source.key, strict=True)))
            if column in entity.key:  # the free text is part of the key: change an amount instead
                values["fee_due"] = "5.00"
            else:
                values[column] = draw(free_text)  # same key, other content
        key = tuple(values[name] for name in entity.key)
        fields = [values[name] for name in header]
        line = _csv_line(fields)
        if kind == "wrong_field_count":
            line = line + b",extra" if draw(st.booleans()) else _csv_line(fields[:-1])
        elif kind in {"stray_quote", "non_utf8"}:
            position = header.index(column)
            plain = _plain(values[column]).ljust(2, "x")  # at least one byte before the splice: not a quoted field
            splice = b'"' if kind == "stray_quote" else draw(st.sampled_from([b"\xff\xfe", b"\xc3", b"\x80abc"]))
            # Inside the field (`ag"ent`) or ending it (`agent"`, which looks like a closing quote).
            middle = draw(st.sampled_from([len(plain) // 2, len(plain)]))
            fields[position] = "\x00"  # placeholder the csv writer leaves unquoted
            raw = plain[:middle].encode() + splice + plain[middle:].encode()
            line = _csv_line(fields).replace(b"\x00", raw)
        records.append(Record(kind, line, key))
    return records


deliveries = st.fixed_dictionaries({}, optional={name: entity_file(name) for name in ENTITIES}).filter(bool)


def _write(landing: Path, files: dict[str, list[Record]]) -> None:
    delivery = Delivery(landing)
    for entity_name, records in files.items():
        header = _csv_line(list(GOOD_ROWS[entity_name]))
        content = b"\r\n".join([header, *(record.line for record in records)]) + b"\r\n"
        delivery.add_bytes(entity_name, f"{entity_name}.csv", content, len(records))
    delivery.write_manifest()


def _clear(conn: psycopg.Connection) -> None:
    """Forget the previous example: every landing table and the audit rows of the date."""
    for entity in load_contract().entities.values():
        conn.execute(f"delete from {entity.raw_table}")
    conn.execute("delete from audit.quarantine")
    conn.execute("delete from audit.batches")


def _outcome(conn: psycopg.Connection, entity: Entity) -> tuple[list[int], dict[int, str]]:
    """(lines loaded, {line: reason} quarantined) of the entity's file."""
    loaded = [
        int(line) for (line,) in conn.execute(f"select _line from {entity.raw_table} where _business_date = %s", (DAY,))
    ]
    quarantined = conn.execute(
        "select line_no, reason from audit.quarantine where business_date = %s and entity = %s", (DAY, entity.name)
    ).fetchall()
    lines = [int(line) for line, _ in quarantined]
    assert len(lines) == len(set(lines)), f"{entity.name}: a line quarantined twice"
    return loaded, {int(line): str(reason) for line, reason in quarantined}


def _check_file(conn: psycopg.Connection, entity_name: str, records: list[Record]) -> None:
    entity = load_contract().entity(entity_name)
    loaded, quarantined = _outcome(conn, entity)
    delivered = len(records)
    assert len(loaded) + len(quarantined) == delivered, (entity_name, loaded, quarantined)
    # Every record accounted for exactly once, under its own line number (header = line 1).
    assert sorted([*loaded, *quarantined]) == list(range(2, delivered + 2)), (entity_name, loaded, quarantined)
    keys = Counter(record.key for record in records)
    for line, record in enumerate(records, start=2):
        if record.kind in VALID_KINDS:
            if keys[record.key] == 1:
                assert line in loaded, f"{entity_name} line {line} ({record.kind}) is valid but was not loaded"
        elif record.kind not in OPEN_KINDS:
            assert line in quarantined, f"{entity_name} line {line} ({record.kind}) is bad but was loaded"
    assert STATS.reasons is not None
    STATS.reasons.update(quarantined.values())


@pytest.fixture()
def clean_landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A landing root; the quarantine limit is lifted so the threshold never stops the property."""
    monkeypatch.setenv("ARREARS_QUARANTINE_LIMIT", "1")
    yield tmp_path / "landing"
    print(
        f"\nloader property: {STATS.examples} deliveries, {STATS.files} files, {STATS.records} records; "
        f"kinds {dict(sorted((STATS.kinds or {}).items()))}; "
        f"quarantine reasons {dict(sorted((STATS.reasons or {}).items()))}"
    )


@settings(
    max_examples=60,
    deadline=None,
    database=None,  # no example cache written into the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files=deliveries)
def test_every_delivered_record_is_loaded_or_quarantined(
    warehouse_url: str, conn: psycopg.Connection, clean_landing: Path, files: dict[str, list[Record]]
) -> None:
    _clear(conn)
    shutil.rmtree(clean_landing, ignore_errors=True)
    _write(clean_landing, files)
    STATS.examples += 1
    STATS.files += len(files)
    STATS.records += sum(len(records) for records in files.values())
    assert STATS.kinds is not None
    STATS.kinds.update(record.kind for records in files.values() for record in records)

    try:
        result = ingest_delivery(DAY, clean_landing)
    except DeliveryRejected as err:
        # A documented error, but never the right answer here: every generated manifest is correct, so a
        # rejection means the loader misread a file (as it did with stray quotes), and a whole night is lost.
        pytest.fail(f"a delivery with a correct manifest was rejected: {err}")

    assert result.loaded + result.quarantined == sum(len(records) for records in files.values())
    for entity_name, records in files.items():
        _check_file(conn, entity_name, records)


@pytest.mark.parametrize("stray_quotes", [1, 2])
def test_a_stray_quote_quarantines_or_loads_its_record_but_never_rejects_the_delivery(
    warehouse_url: str, conn: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stray_quotes: int
) -> None:
    monkeypatch.setenv("ARREARS_QUARANTINE_LIMIT", "1")
    header = list(GOOD_ROWS["collection_actions"])
    records = [
        _csv_line(
            [
                {**GOOD_ROWS["collection_actions"], "action_id": f"A{n}", "agent_id": f"agent{n}"}[name]
                for name in header
            ]
        )
        for n in range(1, 5)
    ]
    records[1] = records[1].replace(b"agent2", b'ag"ent2')
    if stray_quotes == 2:
        records[3] = records[3].replace(b"agent4", b'ag"ent4')
    content = b"\r\n".join([_csv_line(header), *records]) + b"\r\n"
    Delivery(tmp_path).add_bytes("collection_actions", "collection_actions.csv", content, 4).write_manifest()

    ingest_delivery(DAY, tmp_path)

    loaded, quarantined = _outcome(conn, load_contract().entity("collection_actions"))
    assert sorted([*loaded, *quarantined]) == [2, 3, 4, 5]
    assert 2 in loaded and 4 in loaded  # the records without a stray quote


def test_a_very_long_key_is_quarantined_or_loaded_not_a_failed_delivery(
    warehouse_url: str, conn: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_QUARANTINE_LIMIT", "1")
    long_id = "".join(chr(0x4E00 + (n * 7919) % 20000) for n in range(3000))  # 9 kB that do not compress
    rows = [row("payments", payment_id="P1"), row("payments", payment_id=long_id), row("payments", payment_id="P3")]
    Delivery(tmp_path).add("payments", rows).write_manifest()

    ingest_delivery(DAY, tmp_path)

    loaded, quarantined = _outcome(conn, load_contract().entity("payments"))
    assert sorted([*loaded, *quarantined]) == [2, 3, 4] and {2, 4} <= set(loaded)
    reason = conn.execute("select reason from audit.quarantine where line_no = 3").fetchone()
    assert reason == ("key_too_long",)


def test_a_stray_quote_ending_a_field_never_rejects_the_delivery(
    warehouse_url: str, conn: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_QUARANTINE_LIMIT", "1")
    rows = [row("collection_actions", action_id=f"A{n}", agent_id=f"agent{n}") for n in range(1, 5)]
    content = csv_bytes(rows, list(GOOD_ROWS["collection_actions"]))
    content = content.replace(b"agent2,", b'agent2",').replace(b"agent4,", b'agent4",')
    Delivery(tmp_path).add_bytes("collection_actions", "collection_actions.csv", content, 4).write_manifest()

    ingest_delivery(DAY, tmp_path)

    loaded, quarantined = _outcome(conn, load_contract().entity("collection_actions"))
    assert sorted([*loaded, *quarantined]) == [2, 3, 4, 5] and {3, 5} <= set(loaded)
