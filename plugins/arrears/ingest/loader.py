"""Loading one entity's file inside an open transaction, by the fastest path that is exact for it.

The fast path (`direct_copy`) COPYs pre-filtered rows in binary straight into the typed table. When
it cannot be exact for a file it raises `NeedsExactPath`, and the exact path runs instead: the file's
bytes go into `COPY ... (FORMAT csv)` of a landing table, then one validating statement routes every
row. When COPY rejects the file as structurally broken (wrong field count, bad quoting, bytes that
are not UTF-8), a savepoint undoes it and the Python fallback parses THAT file record by record,
marks the broken records and COPYs everything again; the same SQL then validates and routes.
The paths are listed in `fallbacks`; see docs/decisions/002 and 011.
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

from arrears.contract import Entity, ddl, load_contract
from arrears.errors import DeliveryRejected
from arrears.ingest import direct_copy, sql
from arrears.ingest.fallbacks import NeedsExactPath, NeedsPythonParse
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


def _partition_exists(conn: psycopg.Connection, entity: Entity, business_date: dt.date) -> bool:
    found = conn.execute("select to_regclass(%s)", (ddl.partition_table(entity, business_date),)).fetchone()
    return bool(found and found[0])


def clear_entity(conn: psycopg.Connection, entity: Entity, business_date: dt.date) -> bool:
    """Remove an entity's rows and quarantine of a date: a reload replaces, never adds.

    The date's partition is truncated (a new, empty file: what is loaded into it next skips the
    WAL) and loses its key index, rebuilt after the load. Returns whether the partition exists.
    """
    conn.execute("delete from audit.quarantine where business_date = %s and entity = %s", (business_date, entity.name))
    if not _partition_exists(conn, entity, business_date):
        return False
    conn.execute(f"truncate {ddl.partition_table(entity, business_date)}")
    conn.execute(f"drop index if exists {entity.raw_schema}.{ddl.key_index_name(entity, business_date)}")
    return True


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


def _copy_csv(conn: psycopg.Connection, entity: Entity, listed: ManifestFile, header: list[str]) -> None:
    source = _Source(listed)
    with conn.cursor() as cursor:
        with cursor.copy(sql.copy_csv(entity, header)) as copy:
            for chunk in source.chunks():
                copy.write(chunk)
        rows = cursor.rowcount
    if source.stray_quote:
        # COPY opened or closed a quoted section at the stray quote: its rows cannot be trusted.
        raise NeedsPythonParse(f"{listed.file}: a quote that neither opens nor closes a quoted field")
    source.verify(rows)


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
    # A column absent from the header (not required, the source predates it) loads as NULL.
    order = [header.index(name) if name in header else None for name in entity.column_names]
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
                fields = (None if index is None else record[index] for index in order)
                copy.write_row([*fields, rows + 1, None, None, None])
            else:
                copy.write_row([*empty, rows + 1, broken[0], broken[1], _as_text(record)])
    source.verify(rows)


def _land(conn: psycopg.Connection, entity: Entity, listed: ManifestFile, header: list[str]) -> bool:
    """COPY the file into the landing table; True when the Python fallback had to be used."""
    import psycopg

    try:
        with conn.transaction():  # a savepoint: a failed COPY leaves the landing table empty
            _copy_csv(conn, entity, listed, header)
        return False
    except (psycopg.errors.DataError, NeedsPythonParse):  # BadCopyFileFormat, invalid byte sequence, ...
        _copy_fallback(conn, entity, listed, header)
        return True


def _has_earlier_rows(conn: psycopg.Connection, entity: Entity, business_date: dt.date) -> bool:
    """Whether any earlier delivery of the entity is loaded (no history: no event can conflict)."""
    found = conn.execute(
        f"select exists (select from {entity.raw_table} where _business_date < %s)", (business_date,)
    ).fetchone()
    return bool(found and found[0])


def _conflicts(conn: psycopg.Connection, entity: Entity, business_date: dt.date, target: str) -> set[int]:
    """Lines of today's rows conflicting with an earlier delivery (events with earlier rows only)."""
    if not (entity.is_event and _has_earlier_rows(conn, entity, business_date)):
        return set()
    # Statistics of D's rows first: without them the planner expects one row and nests a scan of the
    # earlier rows around it — quadratic (at 1M loans a 120k-action day ran for minutes, not ~1 s).
    # Only the new partition: earlier ones got theirs on their own day or from autovacuum.
    conn.execute(f"analyze {target}")
    rows = conn.execute(sql.conflict_lines_statement(entity, business_date, target)).fetchall()
    return {int(row[0]) for row in rows}


def _move_conflicts(
    conn: psycopg.Connection, entity: Entity, header: list[str], manifest: Manifest, file: str, target: str
) -> int:
    """Quarantine today's conflicting events; returns how many rows left the typed table."""
    with conn.cursor() as cursor:
        cursor.execute(sql.conflict_statement(entity, header, manifest.business_date, file, target))
        return cursor.rowcount


def _load_exact(
    conn: psycopg.Connection, entity: Entity, listed: ManifestFile, header: list[str], manifest: Manifest, target: str
) -> tuple[int, bool]:
    """Every row through the landing table and the validating statement; (rows loaded, fallback used)."""
    conn.execute(sql.create_land_table(entity))
    fallback = _land(conn, entity, listed, header)
    # Real statistics let the planner hash the duplicate-key aggregate instead of sorting the file.
    conn.execute(f"analyze {sql.land_table(entity)}")
    with conn.cursor() as cursor:
        cursor.execute(sql.route_statement(entity, header, manifest.business_date, listed.file, target))
        loaded = cursor.rowcount
    if _conflicts(conn, entity, manifest.business_date, target):
        loaded -= _move_conflicts(conn, entity, header, manifest, listed.file, target)
    # Non-unique: keys are distinct as delivered text, but `01` and `1` are one integer.
    conn.execute(ddl.key_index_ddl(entity, manifest.business_date, unique=False))
    conn.execute(f"drop table {sql.land_table(entity)}")
    return loaded, fallback


def _cross_duplicates(entity: Entity, target: str) -> str:
    """Whether a landed (unsure) row's key, as delivered text, is also a key loaded directly."""
    present = " and ".join(f"nullif(l.{key}, '') is not null" for key in entity.key)
    match = " and ".join(
        f"t.{key} = l.{key}" if entity.column(key).type == "text" else f"t.{key}::text = l.{key}" for key in entity.key
    )
    return (
        f"select exists (select from {sql.land_table(entity)} as l where {present} "
        f"and exists (select from {target} as t where {match}))"
    )


def _load_fast(
    conn: psycopg.Connection, entity: Entity, listed: ManifestFile, header: list[str], manifest: Manifest, target: str
) -> int:
    """The fast path (arrears.ingest.direct_copy); raises NeedsExactPath when it cannot be exact."""
    import psycopg

    conn.execute(sql.create_land_table(entity))
    started = time.perf_counter()
    try:
        loaded = direct_copy.copy_sure_rows(
            conn, entity, listed, header, manifest.business_date, target, sql.land_table(entity)
        )
    except psycopg.errors.DataError as err:  # e.g. a NUL byte pyarrow accepted and COPY refuses
        raise NeedsExactPath(f"COPY refused a row: {err}") from err
    copied = time.perf_counter()
    try:
        with conn.transaction():
            # Duplicate keys among the rows loaded directly: the unique index fails to build.
            conn.execute(ddl.key_index_ddl(entity, manifest.business_date, unique=True))
    except psycopg.errors.UniqueViolation as err:
        raise NeedsExactPath("duplicate key among the rows loaded directly") from err
    indexed = time.perf_counter()
    rows = loaded.sure
    if loaded.unsure:
        conn.execute(f"analyze {sql.land_table(entity)}")
        found = conn.execute(_cross_duplicates(entity, target)).fetchone()
        if found and found[0]:
            raise NeedsExactPath("a landed row repeats the key of a row loaded directly")
        try:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.execute(sql.route_statement(entity, header, manifest.business_date, listed.file, target))
                rows += cursor.rowcount
        except psycopg.errors.UniqueViolation as err:  # `01` landed, `1` loaded directly
            raise NeedsExactPath("a landed row's key equals a direct row's key as a value") from err
    conflicts = _conflicts(conn, entity, manifest.business_date, target)
    if conflicts:
        landed = {int(row[0]) for row in conn.execute(f"select _line from {sql.land_table(entity)}").fetchall()}
        if not conflicts <= landed:
            raise NeedsExactPath("an event loaded directly conflicts with an earlier delivery")
        rows -= _move_conflicts(conn, entity, header, manifest, listed.file, target)
    conn.execute(f"drop table {sql.land_table(entity)}")
    log.info(
        "%s: fast path: %d rows COPYed directly, %d through the SQL router; read + filter + COPY %.2f s "
        "(COPY waited %.2f s for the reader), key index %.2f s, router and checks %.2f s",
        entity.name,
        loaded.sure,
        loaded.unsure,
        copied - started,
        loaded.starved,
        indexed - copied,
        time.perf_counter() - indexed,
    )
    return rows


def load_entity_in(conn: psycopg.Connection, manifest: Manifest, entity_name: str) -> EntityResult:
    """Replace one entity's rows of the manifest's date with its delivered file, in the caller's transaction.

    The caller holds the date's advisory lock and the transaction; an absent entity just clears.
    """
    import psycopg

    contract = load_contract()
    if entity_name not in contract.entities:
        raise DeliveryRejected(f"{entity_name}: not an entity of the landing contract")
    entity = contract.entity(entity_name)
    business_date = manifest.business_date
    attached = clear_entity(conn, entity, business_date)
    listed = manifest.files.get(entity_name)
    if listed is None:
        return EntityResult(entity_name, None, 0, 0)
    header = file_header(listed)
    target = ddl.partition_table(entity, business_date)
    loaded_at = conn.execute("select now()::text").fetchone()[0]  # type: ignore[index]
    if not attached:
        conn.execute(ddl.create_partition_ddl(entity, business_date))
    conn.execute(
        f"alter table {target} alter column _business_date set default {sql.literal(business_date.isoformat())}, "
        f"alter column _file set default {sql.literal(listed.file)}, "
        # the transaction's start as a constant: nothing to evaluate per row
        f"alter column _loaded_at set default {sql.literal(str(loaded_at))}::timestamptz"
    )
    started = time.perf_counter()
    fallback = False
    try:
        with conn.transaction():  # a savepoint: whatever the fast path wrote goes if it gives up
            loaded = _load_fast(conn, entity, listed, header, manifest, target)
        path = "fast path"
    except (NeedsExactPath, psycopg.errors.DataError) as err:
        log.info("%s: exact path (%s)", entity.name, err)
        conn.execute(f"truncate {target}")  # the rolled-back rows would stay as dead tuples
        loaded, fallback = _load_exact(conn, entity, listed, header, manifest, target)
        path = "exact path" + (" (Python fallback)" if fallback else "")
    conn.execute(
        f"alter table {target} alter column _business_date drop default, alter column _file drop default, "
        "alter column _loaded_at drop default"
    )
    if not attached:
        conn.execute(ddl.attach_partition_ddl(entity, business_date))
    # Phase timing for the benchmark and for operators reading the task log.
    log.info("%s: loaded in %.2f s by the %s", entity.name, time.perf_counter() - started, path)
    quarantined = conn.execute(
        "select count(*) from audit.quarantine where business_date = %s and entity = %s",
        (business_date, entity.name),
    ).fetchone()
    return EntityResult(entity_name, listed.file, loaded, int(quarantined[0]) if quarantined else 0, fallback)
