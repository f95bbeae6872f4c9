"""Loading one entity's file inside an open transaction: COPY, then one validating statement.

Fast path: the file's bytes go straight into `COPY ... (FORMAT csv)`. When COPY rejects the file
as structurally broken (wrong field count, bad quoting, bytes that are not UTF-8), a savepoint
undoes it and the Python fallback parses THAT file record by record, marks the broken records and
COPYs everything again; the same SQL then validates and routes. See
docs/decisions/002-ingest-copy-then-validate-in-sql.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arrears.contract import Entity, load_contract
from arrears.errors import DeliveryRejected
from arrears.ingest import sql
from arrears.ingest.files import DeliveredFile, QuoteScanner, file_sha256, parquet_csv_chunks
from arrears.ingest.manifest import Manifest, ManifestFile, check_rows, check_sha256, file_header

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EntityResult:
    """What loading one entity's file did."""

    entity: str
    file: str | None
    loaded: int
    quarantined: int
    fallback: bool = False

    @property
    def rows(self) -> int:
        return self.loaded + self.quarantined

    def summary(self) -> str:
        """One line: the entity, its file and the row counts."""
        if self.file is None:
            return f"{self.entity}: not delivered (no changes)"
        path = " (Python fallback: structurally broken records)" if self.fallback else ""
        return f"{self.entity}: {self.loaded} loaded, {self.quarantined} quarantined from {self.file}{path}"


def clear_entity(conn: psycopg.Connection, entity: Entity, business_date: dt.date) -> None:
    """Remove an entity's rows and quarantine of a date: a reload replaces, never adds."""
    conn.execute(f"delete from {entity.raw_table} where _business_date = %s", (business_date,))
    conn.execute("delete from audit.quarantine where business_date = %s and entity = %s", (business_date, entity.name))


class _IterStream(io.RawIOBase):
    """A readable binary stream over an iterator of byte chunks (for the csv module)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _Source:
    """A listed file as CSV bytes (header first), verified against the manifest once fully read."""

    def __init__(self, listed: ManifestFile) -> None:
        self.listed = listed
        self._delivered: DeliveredFile | None = None
        self.stray_quote = False

    def chunks(self) -> Iterator[bytes]:
        if self.listed.format == ".parquet":
            yield from parquet_csv_chunks(self.listed.path)
            return
        self._delivered = DeliveredFile(self.listed.path)
        quotes = QuoteScanner()
        for chunk in self._delivered.chunks():
            quotes.feed(chunk)
            self.stray_quote = quotes.stray_quote
            yield chunk

    def verify(self, rows: int) -> None:
        """The bytes just loaded are the ones the manifest describes (the file may have changed since validation)."""
        if self._delivered is not None:
            sha256 = self._delivered.sha256()
            self._delivered.close()
        else:
            sha256 = file_sha256(self.listed.path)
        check_sha256(self.listed, sha256)
        check_rows(self.listed, rows)


def _copy_fast(conn: psycopg.Connection, entity: Entity, listed: ManifestFile, header: list[str]) -> None:
    source = _Source(listed)
    with conn.cursor() as cursor:
        with cursor.copy(sql.copy_csv(entity, header)) as copy:
            for chunk in source.chunks():
                copy.write(chunk)
        rows = cursor.rowcount
    if source.stray_quote:
        # COPY opened or closed a quoted section at the stray quote: its rows cannot be trusted.
        raise _NeedsFallback(f"{listed.file}: a quote that neither opens nor closes a quoted field")
    source.verify(rows)


class _NeedsFallback(Exception):
    """The fast path's result is unusable for this file; parse it record by record instead."""


def _broken_record(fields: list[str], header: list[str]) -> tuple[str, str] | None:
    """(reason, detail) for a record COPY cannot take, or None when it is structurally sound."""
    for name, field in zip(header, fields, strict=False):
        # surrogateescape turned undecodable bytes into lone surrogates; PostgreSQL also refuses NUL.
        if "\x00" in field or any("\udc80" <= char <= "\udcff" for char in field):
            return "invalid_encoding", f"{name}: bytes that are not UTF-8 (or NUL)"
    if len(fields) != len(header):
        return "malformed_row", f"{len(fields)} fields, the header has {len(header)}"
    return None


def _as_text(record: list[str]) -> str:
    """The record as CSV text, with undecodable bytes shown as U+FFFD."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(record)
    return buffer.getvalue().encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\x00", "\ufffd")


def _copy_fallback(conn: psycopg.Connection, entity: Entity, listed: ManifestFile, header: list[str]) -> None:
    """Parse record by record; broken records land with their reason and raw text, the rest as fields."""
    source = _Source(listed)
    order = [header.index(name) for name in entity.column_names]
    empty = [None] * len(entity.column_names)
    text = io.TextIOWrapper(
        io.BufferedReader(_IterStream(source.chunks())), encoding="utf-8-sig", errors="surrogateescape", newline=""
    )
    records = csv.reader(text, strict=False)
    next(records, None)  # the header, checked during validation
    rows = 0
    with conn.cursor() as cursor, cursor.copy(sql.copy_rows(entity)) as copy:
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except csv.Error as err:  # e.g. a quoted field running to the end of the file
                rows += 1
                copy.write_row([*empty, rows + 1, "malformed_row", f"unparsable record: {err}", ""])
                break
            rows += 1
            broken = _broken_record(record, header)
            if broken is None:
                copy.write_row([*(record[index] for index in order), rows + 1, None, None, None])
            else:
                copy.write_row([*empty, rows + 1, broken[0], broken[1], _as_text(record)])
    source.verify(rows)


def _land(conn: psycopg.Connection, entity: Entity, listed: ManifestFile, header: list[str]) -> bool:
    """COPY the file into the landing table; True when the Python fallback had to be used."""
    import psycopg

    try:
        with conn.transaction():  # a savepoint: a failed COPY leaves the landing table empty
            _copy_fast(conn, entity, listed, header)
        return False
    except (psycopg.errors.DataError, _NeedsFallback):  # BadCopyFileFormat, invalid byte sequence, ...
        _copy_fallback(conn, entity, listed, header)
        return True


def _has_earlier_rows(conn: psycopg.Connection, entity: Entity, business_date: dt.date) -> bool:
    """Whether any earlier delivery of the entity is loaded (no history: no event can conflict)."""
    found = conn.execute(
        f"select exists (select from {entity.raw_table} where _business_date < %s)", (business_date,)
    ).fetchone()
    return bool(found and found[0])


def load_entity_in(conn: psycopg.Connection, manifest: Manifest, entity_name: str) -> EntityResult:
    """Replace one entity's rows of the manifest's date with its delivered file, in the caller's transaction.

    The caller holds the date's advisory lock and the transaction; an absent entity just clears.
    """
    contract = load_contract()
    if entity_name not in contract.entities:
        raise DeliveryRejected(f"{entity_name}: not an entity of the landing contract")
    entity = contract.entity(entity_name)
    business_date = manifest.business_date
    clear_entity(conn, entity, business_date)
    listed = manifest.files.get(entity_name)
    if listed is None:
        return EntityResult(entity_name, None, 0, 0)
    header = file_header(listed)
    conn.execute(sql.create_land_table(entity))
    started = time.perf_counter()
    fallback = _land(conn, entity, listed, header)
    landed = time.perf_counter()
    # Real statistics let the planner hash the duplicate-key aggregate instead of sorting the file.
    conn.execute(f"analyze {sql.land_table(entity)}")
    with conn.cursor() as cursor:
        cursor.execute(sql.route_statement(entity, header, business_date, listed.file))
        loaded = cursor.rowcount
        if entity.is_event and _has_earlier_rows(conn, entity, business_date):
            # Statistics first: without them the planner expects one row of D and nests a scan of
            # the earlier rows around the date index — quadratic (at 1M loans a 120k-action day
            # ran for minutes instead of about a second).
            cursor.execute(f"analyze {entity.raw_table}")
            cursor.execute(sql.conflict_statement(entity, header, business_date, listed.file))
            loaded -= cursor.rowcount
    conn.execute(f"drop table {sql.land_table(entity)}")
    # Phase timings for the benchmark and for operators reading the task log.
    log.info(
        "%s: COPY to landing %.2f s%s, validate and route %.2f s",
        entity.name,
        landed - started,
        " (Python fallback)" if fallback else "",
        time.perf_counter() - landed,
    )
    quarantined = conn.execute(
        "select count(*) from audit.quarantine where business_date = %s and entity = %s",
        (business_date, entity.name),
    ).fetchone()
    return EntityResult(entity_name, listed.file, loaded, int(quarantined[0]) if quarantined else 0, fallback)
