"""The loader's fast path: a vectorised, conservative pre-filter, then a direct typed COPY.

The file is read with pyarrow in record batches, every column as text. `sure_mask` marks the rows
that surely pass every rule of the validating statement (`arrears.ingest.sql.route_statement`);
those are COPYed straight into the date's partition of the typed table, with their line numbers,
in PostgreSQL's binary format (`arrears.ingest.binary`: the server parses nothing).
Every other row ("unsure": it may be fine, the filter just cannot prove it) is spooled to a
temporary file and goes through the landing table and the exact SQL router, which gives each bad
row its reason. A false "unsure" only costs speed; a false "sure" would be a bug, which
tests/test_ingest_fastpath.py checks row by row against the SQL router.

Whenever the fast path meets anything it was not built for — a structural CSV problem, a stray
quote, a bare carriage return, a row count or checksum that disagrees, a duplicate key or an
event conflict involving a row it loaded directly — it raises `NeedsLegacy`; the caller rolls the
savepoint back and loads the file the exact (slower) way, which also produces the exact error.

The parsing, the filter and the binary encoding of each batch run in a producer thread (pyarrow
releases the GIL) while the main thread streams the previous batch into COPY: on two cores the
server's COPY and the Python side overlap.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import queue
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arrears.contract import Column, Entity, load_contract
from arrears.ingest import binary
from arrears.ingest.files import PARQUET_BATCH_ROWS, QUOTE, DeliveredFile, QuoteScanner, file_sha256
from arrears.ingest.manifest import ManifestFile

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

CSV_BLOCK_BYTES = 1 << 20  # pyarrow's parse unit (~12k payments rows); its read-ahead grows with it
SPOOL_BYTES = 64 << 20  # unsure rows stay in memory up to this, then spill to a temporary file
QUEUE_DEPTH = 16  # encoded batches (~1 MB each) waiting for COPY: smooths the pipeline, bounds memory

# Values the filter accepts per type: a subset of what the SQL router accepts (sql.TYPE_SHAPES
# plus pg_input_is_valid), in RE2 syntax. Dates and the date part of timestamps are also checked
# against the calendar (year >= 1, month 1-12, day within the month).
DATE = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
SURE_PATTERNS = {
    "date": rf"^{DATE}$",
    # hh:mm[:ss[.ffffff]] then no offset (the source time zone), Z, +hh or +hh:mm.
    "timestamp": (
        rf"^{DATE}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{{1,6}})?)?"
        r"(Z|[+-](0[0-9]|1[0-4])(:[0-5][0-9])?)?$"
    ),
    # numeric(18,2): at most 16 integer digits, at most 2 decimals, no sign (every amount check
    # is positive or non-negative; a negative amount is left to SQL).
    "amount": r"^[0-9]{1,16}(\.[0-9]{1,2})?$",
    # numeric(12,6): at most 6 integer digits and 6 decimals, so nothing rounds or overflows.
    "decimal": r"^-?[0-9]{1,6}(\.[0-9]{1,6})?$",
    # integer: canonical (no sign, no leading zero) and < 10^9, so its text is its value's text
    # (keys are compared as text for duplicates) and it fits int4.
    "integer": r"^(0|[1-9][0-9]{0,8})$",
}
SURE_BOOLEANS = ("true", "false", "t", "f", "yes", "no", "1", "0", "TRUE", "FALSE")
POSITIVE_INTEGER = r"^[1-9][0-9]{0,8}$"
NATIONAL_ID = r"^[0-9]{17}[0-9X]$"
NATIONAL_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
NATIONAL_ID_CHECK = "10X98765432"
MOBILE = r"^1[3-9][0-9]{9}$"
AGENCY = r"^agency:.+$"
MAX_KEY_LENGTH = 200  # sql.MAX_KEY_LENGTH
MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class NeedsLegacy(Exception):
    """The fast path cannot load this file exactly: load it the exact way instead."""


def _arrow(values: Any) -> pa.Array:
    """A pyarrow array from a numpy array (bool, int32, int64) or a sequence of str, built from its
    buffers: the first call of pa.array() (and of pa.scalar(), to_numpy() on booleans, fill_null)
    imports pandas, ~0.4 s before the first batch reaches COPY."""
    import numpy as np
    import pyarrow as pa

    if not isinstance(values, np.ndarray):
        encoded = [str(value).encode() for value in values]
        offsets = np.zeros(len(encoded) + 1, np.int32)
        np.cumsum([len(value) for value in encoded], out=offsets[1:])
        data = pa.py_buffer(b"".join(encoded))
        return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), data])
    if values.dtype == bool:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    arrow_type = {np.dtype(np.int32): pa.int32(), np.dtype(np.int64): pa.int64()}[values.dtype]
    return pa.Array.from_buffers(arrow_type, len(values), [None, pa.py_buffer(np.ascontiguousarray(values))])


def _bits(buffer: Any, offset: int, length: int) -> Any:
    """numpy bool per bit of an Arrow bitmap (values or validity)."""
    import numpy as np

    bits = np.unpackbits(np.frombuffer(buffer, np.uint8), bitorder="little")
    return bits[offset : offset + length].astype(bool)


def _valid(values: pa.Array) -> Any:
    """numpy bool per row: not null (to_numpy() would import pandas, see _arrow)."""
    import numpy as np

    if values.null_count == 0:
        return np.ones(len(values), bool)
    if values.null_count == len(values):
        return np.zeros(len(values), bool)
    return _bits(values.buffers()[0], values.offset, len(values))


def _true(condition: pa.Array) -> Any:
    """numpy bool per row: the boolean array is true (null counts as false)."""
    return _bits(condition.buffers()[1], condition.offset, len(condition)) & _valid(condition)


def _calendar_ok(values: pa.Array, shaped: pa.Array) -> pa.Array:
    """True where the `YYYY-MM-DD` prefix is a real date (year >= 1); only meaningful where `shaped`."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    safe = pc.if_else(shaped, values, _arrow(["2000-01-01"])[0])
    year = pc.cast(pc.utf8_slice_codeunits(safe, 0, 4), pa.int32())
    month = pc.cast(pc.utf8_slice_codeunits(safe, 5, 7), pa.int32())
    day = pc.cast(pc.utf8_slice_codeunits(safe, 8, 10), pa.int32())
    leap = pc.and_(
        pc.equal(pc.bit_wise_and(year, 3), 0),
        pc.or_(pc.not_equal(pc.remainder(year, 100), 0), pc.equal(pc.remainder(year, 400), 0)),
    )
    month_days = pc.take(_arrow(np.asarray(MONTH_DAYS, np.int32)), month)
    february_29 = pc.and_(pc.equal(month, 2), leap)
    last_day = pc.add(month_days, pc.cast(february_29, pa.int32()))
    return pc.and_(pc.greater_equal(year, 1), pc.less_equal(day, last_day))


# Fixed-width layouts checked byte by byte with numpy (no regex): `9` a digit, `?` `T` or a space,
# anything else itself. Each is a subset of the type's SURE_PATTERNS; a value of another width
# (fractions of a second, say) is judged by the regular expression instead.
LAYOUTS = {
    "date": ("9999-99-99",),
    "timestamp": (
        "9999-99-99?99:99",
        "9999-99-99?99:99:99",
        "9999-99-99?99:99:99Z",
        "9999-99-99?99:99:99+99",
        "9999-99-99?99:99:99+99:99",
    ),
}


def _string_buffers(values: pa.Array) -> tuple[Any, Any, Any]:
    """(offsets, data bytes, validity) of a string array as numpy arrays (zero copy)."""
    import numpy as np
    import pyarrow as pa

    if values.type != pa.string():
        raise NeedsLegacy(f"unexpected column type {values.type}")

    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int32, count=len(values) + 1, offset=values.offset * 4)
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    return offsets, data, _valid(values)


def _layout_ok(values: pa.Array, column_type: str, buffers: tuple[Any, Any, Any] | None = None) -> Any:
    """numpy bool per row: the value has one of the type's fixed layouts, with a real calendar date,
    hour 0-23, minutes and seconds 0-59 and an offset of at most 14 hours. `buffers`: the values'
    _string_buffers, when already at hand."""
    import numpy as np

    offsets, data, valid = buffers or _string_buffers(values)
    lengths = np.diff(offsets)
    ok = np.zeros(len(values), bool)
    for layout in LAYOUTS[column_type]:
        width = len(layout)
        rows = np.flatnonzero((lengths == width) & valid)
        if rows.size == 0:
            continue
        if rows.size == len(values) and offsets[-1] - offsets[0] == width * rows.size:
            matrix = data[int(offsets[0]) : int(offsets[-1])].reshape(rows.size, width)  # no copy
        else:
            matrix = data[offsets[rows][:, None] + np.arange(width)]
        digits = matrix - np.uint8(ord("0"))  # wraps: a non-digit becomes > 9
        numbers = [position for position, char in enumerate(layout) if char == "9"]
        good = (digits[:, numbers] <= 9).all(axis=1)
        literals = [position for position, char in enumerate(layout) if char not in "9?+"]
        if literals:
            good &= (matrix[:, literals] == np.frombuffer("".join(layout[p] for p in literals).encode(), np.uint8)).all(
                axis=1
            )
        for position, char in enumerate(layout):
            if char == "?":
                good &= (matrix[:, position] == ord("T")) | (matrix[:, position] == ord(" "))
            elif char == "+":
                good &= (matrix[:, position] == ord("+")) | (matrix[:, position] == ord("-"))

        def number(start: int, end: int, digits: Any = digits) -> Any:
            value = digits[:, start].astype(np.int32)
            for position in range(start + 1, end):
                value = value * 10 + digits[:, position]
            return value

        year, month, day = number(0, 4), number(5, 7), number(8, 10)
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        last_day = np.asarray(MONTH_DAYS, np.int32)[np.clip(month, 0, 12)] + ((month == 2) & leap)
        good &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= last_day)
        if width >= 16:
            good &= (number(11, 13) <= 23) & (number(14, 16) <= 59)
        if width >= 19:
            good &= number(17, 19) <= 59
        if width >= 22:
            good &= number(20, 22) <= 14
        if width >= 25:
            good &= number(23, 25) <= 59
        ok[rows[good]] = True
    return ok


def _amount_ok(values: pa.Array, positive: bool, buffers: tuple[Any, Any, Any] | None = None) -> Any:
    """numpy bool per row: SURE_PATTERNS["amount"] (1-16 digits, then optionally `.` and 1-2 digits),
    and a non-zero digit when `positive`; byte arithmetic instead of a regular expression."""
    import numpy as np

    offsets, data, valid = buffers or _string_buffers(values)
    base, stop = int(offsets[0]), int(offsets[-1])
    if stop == base:
        return np.zeros(len(values), bool)
    body = data[base:stop]
    starts, ends = offsets[:-1] - base, offsets[1:] - base
    length = ends - starts

    def per_value(flags: Any) -> Any:  # how many flagged bytes each value holds
        running = np.zeros(body.size + 1, np.int32)
        np.cumsum(flags, out=running[1:])
        return running[ends] - running[starts]

    non_digits = per_value((body - np.uint8(ord("0"))) > 9)  # wraps: below "0" is > 9 too
    last = body.size - 1
    dot_2 = body[np.clip(ends - 2, 0, last)] == ord(".")  # x.y
    dot_3 = body[np.clip(ends - 3, 0, last)] == ord(".")  # x.yy
    ok = valid & (
        ((non_digits == 0) & (length >= 1) & (length <= 16))
        | ((non_digits == 1) & ((dot_2 & (length >= 3) & (length <= 18)) | (dot_3 & (length >= 4) & (length <= 19))))
    )
    if positive:
        ok &= per_value((body - np.uint8(ord("1"))) <= 8) > 0
    return ok


def _national_id_ok(values: pa.Array) -> pa.Array:
    """GB 11643 checksum, vectorised (audit.is_valid_national_id)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    shaped = _arrow(_true(pc.match_substring_regex(values, NATIONAL_ID)))
    safe = pc.if_else(shaped, values, _arrow(["11010519491231002X"])[0])
    total = None
    for position, weight in enumerate(NATIONAL_ID_WEIGHTS):
        digit = pc.cast(pc.utf8_slice_codeunits(safe, position, position + 1), pa.int32())
        term = pc.multiply(digit, weight)
        total = term if total is None else pc.add(total, term)
    expected = pc.take(_arrow(list(NATIONAL_ID_CHECK)), pc.remainder(total, 11))
    return pc.and_(shaped, pc.equal(expected, pc.utf8_slice_codeunits(safe, 17, 18)))


def _value_ok(
    column: Column, values: pa.Array, team_ids: tuple[str, ...], buffers: tuple[Any, Any, Any] | None = None
) -> Any:
    """numpy bool per row, True where a NON-EMPTY value surely passes the column's type, allowed
    values and check (None: every value does). `buffers`: the values' _string_buffers."""
    import numpy as np
    import pyarrow.compute as pc

    buffers = buffers or _string_buffers(values)
    numeric: list[Any] = []  # numpy conditions
    conditions: list[pa.Array] = []  # pyarrow conditions (null where the value is null)
    if column.type in LAYOUTS:
        fixed = _layout_ok(values, column.type, buffers)
        unsure = np.flatnonzero(~fixed & buffers[2])
        if unsure.size:  # other widths: the regular expression and the calendar, on those rows only
            others = values.take(_arrow(unsure.astype(np.int64)))
            shaped = _arrow(_true(pc.match_substring_regex(others, SURE_PATTERNS[column.type])))
            fixed[unsure] = _true(pc.and_(shaped, _calendar_ok(others, shaped)))
        numeric.append(fixed)
    elif column.type == "amount":
        numeric.append(_amount_ok(values, column.check == "positive", buffers))
    elif column.type in SURE_PATTERNS:
        pattern = SURE_PATTERNS[column.type]
        if column.type == "integer" and column.check == "positive":
            pattern = POSITIVE_INTEGER
        conditions.append(pc.match_substring_regex(values, pattern))
    elif column.type == "boolean":
        conditions.append(pc.is_in(values, _arrow(SURE_BOOLEANS)))
    if column.allowed:
        conditions.append(pc.is_in(values, _arrow(column.allowed)))
    if column.check == "national_id":
        conditions.append(_national_id_ok(values))
    elif column.check == "mobile_phone":
        conditions.append(pc.match_substring_regex(values, MOBILE))
    elif column.check == "team_id":
        conditions.append(pc.or_(pc.is_in(values, _arrow(team_ids)), pc.match_substring_regex(values, AGENCY)))
    numeric += [_true(condition) for condition in conditions]
    if not numeric:
        return None
    result = numeric[0]
    for condition in numeric[1:]:
        result = result & condition
    return result


def sure_mask(entity: Entity, batch: pa.RecordBatch) -> pa.Array:
    """True for each row that surely passes every rule of the SQL router except duplicate keys
    and event conflicts (checked after loading). `batch` holds every contract column as text,
    nulls for empty fields."""
    import numpy as np

    team_ids = load_contract().team_ids
    mask = np.ones(batch.num_rows, bool)
    for column in entity.columns:
        values = batch.column(column.name)
        buffers = _string_buffers(values)
        offsets, _, valid = buffers
        length = np.diff(offsets)  # bytes: at least the characters
        empty = ~valid | (length == 0)
        if column.required:
            mask &= ~empty
        if column.name in entity.key and column.type == "text":
            mask &= length <= MAX_KEY_LENGTH
        ok = _value_ok(column, values, team_ids, buffers)
        if ok is not None:
            mask &= empty | ok
    return _arrow(mask)


# --- reading a delivered file as text record batches ------------------------------------------------


class _Tap(io.RawIOBase):
    """The decompressed bytes of a delivered CSV file for pyarrow, watched on the way for carriage
    returns that do not end a line."""

    def __init__(self, delivered: DeliveredFile) -> None:
        self._chunks = delivered.chunks()
        self._pending = b""
        self.bare_cr = False
        self._ends_cr = False

    def readable(self) -> bool:
        return True

    def _watch(self, chunk: bytes) -> None:
        if b"\r" in chunk or self._ends_cr:
            pairs = chunk.count(b"\r\n") + (1 if self._ends_cr and chunk.startswith(b"\n") else 0)
            carriage = chunk.count(b"\r") + (1 if self._ends_cr else 0) - (1 if chunk.endswith(b"\r") else 0)
            if carriage != pairs:
                self.bare_cr = True
            self._ends_cr = chunk.endswith(b"\r")

    def read(self, size: int = -1) -> bytes:
        out = []
        wanted = size if size >= 0 else 1 << 62
        while wanted > 0:
            if not self._pending:
                try:
                    self._pending = next(self._chunks)
                except StopIteration:
                    break
                self._watch(self._pending)
            part = self._pending[:wanted]
            self._pending = self._pending[len(part) :]
            wanted -= len(part)
            out.append(part)
        return b"".join(out)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def finish(self) -> None:
        """A carriage return ending the file is bare too."""
        if self._ends_cr:
            self.bare_cr = True


@dataclass
class _Reading:
    """What streaming the file found, checked once it is fully read."""

    rows: int = 0
    structural: str | None = None  # why the file needs the exact path, if it does
    sha256: str | None = None


def _holds_quote(batch: pa.RecordBatch) -> bool:
    """Whether any value of the batch contains a double quote (conservative: looks at the columns'
    whole data buffers)."""
    import numpy as np

    for values in batch.columns:
        buffers = values.buffers()
        if len(buffers) != 3:  # not a string column: cannot tell
            return True
        data = buffers[2]
        if data is not None and data.size and bool((np.frombuffer(data, np.uint8) == QUOTE).any()):
            return True
    return False


def _stray_quote(listed: ManifestFile) -> tuple[bool, str]:
    """(a stray quote, the SHA-256) from a second read of the file: QuoteScanner over every byte."""
    quotes = QuoteScanner()
    with DeliveredFile(listed.path) as delivered:
        for chunk in delivered.chunks():
            quotes.feed(chunk, count=False)
        return quotes.stray_quote, delivered.sha256()


def _text_batches(listed: ManifestFile, header: list[str], reading: _Reading) -> Iterator[pa.RecordBatch]:
    """The file's records as record batches of text columns (null = empty unquoted field).

    Stray quotes (see QuoteScanner) are looked for only when pyarrow's values hold a quote. pyarrow
    opens a quoted section only at the start of a field, reads `""` inside one as a quote and every
    other quote as a character (so does the csv module of the exact path's fallback); when no value
    holds one, every quote in the file opened or closed a quoted field exactly where COPY's parser
    (which also opens one mid-field) opens and closes it, so both read the same records and values.
    The only stray quote left is text after a closing quote (`"agent"x`), which all three readers
    append to the field (`agentx`). Otherwise the whole file is scanned again, as before.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if listed.format == ".parquet":
        parquet = pq.ParquetFile(listed.path)
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            yield pa.RecordBatch.from_arrays(
                [pc.cast(column, pa.string()) for column in batch.columns], names=batch.schema.names
            )
        reading.sha256 = file_sha256(listed.path)
        return
    if listed.stray_quote:  # found by validation: COPY and pyarrow would misread the record
        raise NeedsLegacy("a quote that neither opens nor closes a quoted field")
    quoted_values = any('"' in name for name in header)
    with DeliveredFile(listed.path) as delivered:
        tap = _Tap(delivered)
        reader = pacsv.open_csv(
            tap,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        if reader.schema.names != header:
            raise NeedsLegacy(f"pyarrow read the header as {reader.schema.names}")
        for batch in reader:
            # Validation scanned these very bytes (the SHA-256 is checked) when it says so.
            if not quoted_values and listed.stray_quote is None:
                quoted_values = _holds_quote(batch)
            yield batch
        while tap.read(CSV_BLOCK_BYTES):  # anything pyarrow left unread counts for the checks and the checksum
            pass
        tap.finish()
        reading.sha256 = delivered.sha256()
    if tap.bare_cr:
        reading.structural = "a carriage return that does not end a line"
    elif quoted_values and listed.stray_quote is None:
        stray, sha256 = _stray_quote(listed)
        if stray:
            reading.structural = "a quote that neither opens nor closes a quoted field"
        elif sha256 != reading.sha256:
            reading.structural = "the file changed while it was read"


# --- the load --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FastLoad:
    """What the fast path loaded directly and what it left for the SQL router."""

    sure: int
    unsure: int
    starved: float = 0.0


_DONE = object()


def _encode_batches(
    entity: Entity,
    listed: ManifestFile,
    header: list[str],
    offset: binary.ConstantOffset | None,
    reading: _Reading,
    spool: Any,
    out: queue.Queue[Any],
    stop: threading.Event,
) -> None:
    """Producer: parse, filter, encode sure rows for a binary COPY, spool the others as CSV for
    the landing table; any failure is handed to the consumer."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    try:
        line = 2  # the header is line 1
        for batch in _text_batches(listed, header, reading):
            if stop.is_set():
                return
            rows = batch.num_rows
            lines = np.arange(line, line + rows, dtype=np.int64)
            line += rows
            reading.rows += rows
            table = pa.RecordBatch.from_arrays(
                [*(batch.column(name) for name in entity.column_names), _arrow(lines)],
                names=[*entity.column_names, "_line"],
            )
            mask = _true(sure_mask(entity, batch))
            sure = table if mask.all() else table.filter(_arrow(mask))
            encoded, encodable = binary.encode(entity, sure, lines[mask], offset)
            direct = mask.copy()
            direct[mask] = encodable  # sure and encodable: loaded directly; the rest the exact way
            if not direct.all():
                pacsv.write_csv(table.filter(_arrow(~direct)), spool, options)
            loaded = int(direct.sum())
            out.put((loaded, rows - loaded, encoded))
        out.put(_DONE)
    except BaseException as err:  # noqa: BLE001 - handed to the consumer, which decides
        out.put(err)


def copy_sure_rows(
    conn: Any,
    entity: Entity,
    listed: ManifestFile,
    header: list[str],
    business_date: dt.date,
    target: str,
    land_table: str,
) -> FastLoad:
    """Stream the file: sure rows COPYed into `target`, unsure ones into the landing table.

    Raises NeedsLegacy when the file must be loaded the exact way; the caller's savepoint undoes
    whatever was written.
    """
    reading = _Reading()
    offset = binary.constant_offset(conn, business_date) if any(c.type == "timestamp" for c in entity.columns) else None
    stop = threading.Event()
    encoded: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_DEPTH)
    sure = unsure = 0
    starved = 0.0  # time COPY waited for the reader: the Python side was the bottleneck
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        producer = threading.Thread(
            target=_encode_batches,
            args=(entity, listed, header, offset, reading, spool, encoded, stop),
            name=f"ingest-{entity.name}",
            daemon=True,
        )
        producer.start()
        try:
            statement = f"copy {target} ({', '.join(binary.column_order(entity))}) from stdin (format binary)"
            with conn.cursor() as cursor:
                with cursor.copy(statement) as copy:
                    copy.write(binary.SIGNATURE)
                    while True:
                        waited = time.perf_counter()
                        item = encoded.get()
                        starved += time.perf_counter() - waited
                        if item is _DONE:
                            break
                        if isinstance(item, BaseException):
                            raise NeedsLegacy(f"pyarrow: {item}") from item
                        sure += item[0]
                        unsure += item[1]
                        copy.write(item[2])
                    copy.write(binary.TRAILER)
                copied = cursor.rowcount
        finally:
            stop.set()
            while producer.is_alive():  # unblock a producer waiting on a full queue
                try:
                    encoded.get(timeout=0.05)
                except queue.Empty:
                    pass
            producer.join()
        if reading.structural:
            raise NeedsLegacy(reading.structural)
        if copied != sure:  # the encoding is meant to give COPY exactly the sure rows: never trust a miscount
            raise NeedsLegacy(f"COPY loaded {copied} rows, {sure} were sent")
        if reading.rows != listed.rows:
            raise NeedsLegacy(f"read {reading.rows} rows, the manifest says {listed.rows}")
        if reading.sha256 != listed.sha256:
            raise NeedsLegacy("the file's SHA-256 is not the manifest's")
        if unsure:
            spool.seek(0)
            columns = ", ".join([*entity.column_names, "_line"])
            with conn.cursor() as cursor, cursor.copy(f"copy {land_table} ({columns}) from stdin (format csv)") as copy:
                while chunk := spool.read(1 << 20):
                    copy.write(chunk)
    return FastLoad(sure, unsure, starved)
