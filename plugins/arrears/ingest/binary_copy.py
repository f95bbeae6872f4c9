"""The fast path's sure rows in PostgreSQL's binary COPY format, built column by column.

Why: a text COPY spends most of the server's time parsing — splitting CSV fields, then reading
each timestamp, date and amount from text — on the one core the backend has. In binary each
value arrives as the server keeps it (a timestamp is microseconds since 2000-01-01 UTC), so the
server's share of a load falls by about a third, while the encoding runs vectorised in the
producer thread on the other core. See docs/decisions/011-ingest-fast-path.md.

Only rows that `prefilter.sure_mask` accepted reach this module, so every value already has its
type's strict shape; pyarrow's casts read those shapes exactly as PostgreSQL does. The one rule
pyarrow cannot apply is the source time zone of a timestamp delivered without an offset:
`ConstantOffset` is the span of days around the delivery in which PostgreSQL's own zone rules
give one UTC offset, and a local timestamp outside it is left for the SQL router (`encode`
reports such rows, which the caller sends the exact way).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arrears.contract import Column, Entity
from arrears.ingest.arrow_buffers import arrow_array, string_buffers, true_rows, valid_rows
from arrears.ingest.prefilter import TRUE_TEXTS

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags (no OIDs), no header extension
TRAILER = b"\xff\xff"
NULL_LENGTH = -1
PG_EPOCH_DAYS = 10_957  # 2000-01-01, PostgreSQL's epoch, in days since 1970-01-01
PG_EPOCH_MICROS = PG_EPOCH_DAYS * 86_400 * 1_000_000
NUMERIC_NEGATIVE = 0x4000
# numeric(p, s) payload: ndigits, weight, sign, dscale, then base-10000 digits, most significant
# first, the decimal point between digit `weight` and `weight + 1` (leading zeros are allowed:
# the server strips them). (integer digits, decimal digits) per contract type:
NUMERIC_LAYOUT = {"amount": (4, 1), "decimal": (2, 2)}  # numeric(18,2): 16 + 2; numeric(12,6): 6 + 6
NUMERIC_SCALE = {"amount": 2, "decimal": 6}

# Days of constant UTC offset around the delivery date D, as PostgreSQL's zone rules (the session's
# TimeZone: the source time zone) have them, looked for within 30 years of D: the days between the
# nearest days before and after D whose noon has another offset. The day after the one before and
# the day before the one after are left out too: an offset changes at some hour of the day whose
# noon first shows it, or late in the day before.
CONSTANT_OFFSET_SQL = """
with days as (
    select
        day::date as day,
        extract(timezone from (day::date + time '12:00')::timestamptz)::integer as utc_offset
    from generate_series(%(day)s - interval '30 years', %(day)s + interval '30 years', interval '1 day') as day
),

today as (
    select utc_offset from days where day = %(day)s
)

select
    coalesce((select max(day) from days where day < %(day)s and utc_offset != today.utc_offset) + 2, span.first + 1),
    coalesce((select min(day) from days where day > %(day)s and utc_offset != today.utc_offset) - 1, span.last),
    today.utc_offset
from today, (select min(day) as first, max(day) as last from days) as span
"""


@dataclass(frozen=True)
class ConstantOffset:
    """Local times in [first_day, end_day) are UTC + `seconds` in the source time zone."""

    first_day: dt.date
    end_day: dt.date
    seconds: int


def constant_offset(conn: psycopg.Connection, around: dt.date) -> ConstantOffset | None:
    """The session time zone's constant-offset span around `around` (about 40 ms)."""
    found = conn.execute(CONSTANT_OFFSET_SQL, {"day": around}).fetchone()
    if found is None or found[0] is None:
        return None
    return ConstantOffset(found[0], found[1], int(found[2]))


def column_order(entity: Entity) -> list[str]:
    """COPY's column list: the required fixed-width columns first (one block per row), then the rest."""
    head = [column.name for column in entity.columns if _in_head(column)]
    return [*head, "_line", *(column.name for column in entity.columns if not _in_head(column))]


def _in_head(column: Column) -> bool:
    return column.required and column.type != "text"


# --- one column's values --------------------------------------------------------------------------


def _present(values: pa.Array) -> Any:
    """numpy bool per row: a value to load (empty and missing fields load as NULL, as in the router)."""
    import numpy as np

    offsets = np.frombuffer(values.buffers()[1], np.int32, count=len(values) + 1, offset=values.offset * 4)
    return valid_rows(values) & (np.diff(offsets) > 0)


def _cast_present(values: pa.Array, present: Any, arrow_type: pa.DataType) -> pa.Array:
    """The present values cast to `arrow_type`, in row order of the present rows."""
    import numpy as np

    subset = values if present.all() else values.take(arrow_array(np.flatnonzero(present).astype(np.int64)))
    return subset.cast(arrow_type)


def _numbers(array: pa.Array, dtype: str) -> Any:
    """numpy view of a primitive pyarrow array without nulls."""
    import numpy as np

    return np.frombuffer(array.buffers()[1], dtype, count=len(array), offset=array.offset * np.dtype(dtype).itemsize)


def _spread(present: Any, values: Any) -> Any:
    """values (one per present row) at their rows; zero elsewhere."""
    import numpy as np

    if present.all():
        return values
    out = np.zeros(len(present), values.dtype)
    out[present] = values
    return out


def _timestamps(values: pa.Array, present: Any, offset: ConstantOffset | None) -> tuple[Any, Any]:
    """(microseconds since 2000-01-01 UTC, encodable) per row."""
    import numpy as np
    import pyarrow as pa

    offsets, data, _ = string_buffers(values)
    ends = offsets[1:].astype(np.int64)
    last = max(len(data) - 1, 0)

    def char_at(back: int) -> Any:
        return data[np.clip(ends - back, 0, last)] if len(data) else np.zeros(len(ends), np.uint8)

    # A sure timestamp ends in Z, +hh or +hh:mm when it has an offset; its date's dashes sit at 4 and 7.
    zoned = present & (
        (char_at(1) == ord("Z")) | np.isin(char_at(3), (ord("+"), ord("-"))) | np.isin(char_at(6), (ord("+"), ord("-")))
    )
    local = present & ~zoned
    micros = np.zeros(len(values), np.int64)
    encodable = ~local
    for rows, arrow_type in ((zoned, pa.timestamp("us", tz="UTC")), (local, pa.timestamp("us"))):
        if rows.any():
            micros[rows] = _numbers(_cast_present(values, rows, arrow_type), "int64")
    if local.any() and offset is not None:
        day_micros = 86_400 * 1_000_000
        first = (offset.first_day - dt.date(1970, 1, 1)).days * day_micros
        end = (offset.end_day - dt.date(1970, 1, 1)).days * day_micros
        inside = local & (micros >= first) & (micros < end)
        micros[inside] -= offset.seconds * 1_000_000
        encodable = encodable | inside
    return micros - PG_EPOCH_MICROS, encodable


def _numeric(column_type: str, values: pa.Array, present: Any) -> Any:
    """numeric payloads (fixed layout: NUMERIC_LAYOUT) as a numpy record per row."""
    import numpy as np
    import pyarrow as pa

    scale = NUMERIC_SCALE[column_type]
    integer_digits, decimal_digits = NUMERIC_LAYOUT[column_type]
    precision = 18 if column_type == "amount" else 12
    cast = _cast_present(values, present, pa.decimal128(precision, scale))
    # decimal128 is a little-endian 128-bit integer; every value here fits its low 64 bits.
    words = np.frombuffer(cast.buffers()[1], "<i8", count=2 * len(cast), offset=cast.offset * 16)
    units = _spread(present, words[::2].astype(np.int64))
    magnitude = np.abs(units)
    whole, fraction = np.divmod(magnitude, 10**scale)
    fraction = fraction * 10 ** (4 * decimal_digits - scale)  # to whole base-10000 digits
    count = integer_digits + decimal_digits
    words = np.empty((len(values), 4 + count), np.int16)  # ndigits, weight, sign, dscale, digits
    words[:, 0], words[:, 1], words[:, 3] = count, integer_digits - 1, scale
    words[:, 2] = np.where(units < 0, NUMERIC_NEGATIVE, 0)
    for first, number, digits in ((4, whole, integer_digits), (4 + integer_digits, fraction, decimal_digits)):
        for position in reversed(range(first, first + digits)):
            number, words[:, position] = np.divmod(number, 10_000)
    return words.astype(">i2").view(np.dtype([("numeric", ">i2", (4 + count,))])).reshape(len(values))


def _fixed(column: Column, values: pa.Array, present: Any, offset: ConstantOffset | None) -> tuple[Any, Any]:
    """(payload per row as a numpy array of the type's binary layout, encodable per row)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    everywhere = np.ones(len(values), bool)
    if column.type == "timestamp":
        micros, encodable = _timestamps(values, present, offset)
        return micros.astype(">i8"), encodable
    if column.type in NUMERIC_LAYOUT:
        return _numeric(column.type, values, present), everywhere
    if column.type == "date":
        days = _numbers(_cast_present(values, present, pa.date32()), "int32")
        return (_spread(present, days) - PG_EPOCH_DAYS).astype(">i4"), everywhere
    if column.type == "integer":
        return _spread(present, _numbers(_cast_present(values, present, pa.int32()), "int32")).astype(">i4"), everywhere
    if column.type == "boolean":
        return true_rows(pc.is_in(values, arrow_array(TRUE_TEXTS))).astype("u1"), everywhere
    raise ValueError(f"{column.name}: no binary layout for type {column.type}")


# --- rows -----------------------------------------------------------------------------------------


def _as_binary(matrix: Any) -> pa.Array:
    """A pyarrow binary array, one value per row of a 2-D uint8 numpy array (zero copy)."""
    import numpy as np
    import pyarrow as pa

    rows, width = matrix.shape
    offsets = np.arange(rows + 1, dtype=np.int32) * width
    return pa.Array.from_buffers(
        pa.binary(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix))]
    )


def _bytes_per_row(record: Any) -> Any:
    """A numpy record array's bytes, one row per record."""
    import numpy as np

    return np.ascontiguousarray(record).view(np.uint8).reshape(len(record), record.dtype.itemsize)


def _lengths(lengths: Any) -> pa.Array:
    """Each row's field length as a 4-byte big-endian binary value (-1: NULL)."""
    import numpy as np

    return _as_binary(np.ascontiguousarray(lengths.astype(">i4")).view(np.uint8).reshape(len(lengths), 4))


def _one(value: bytes) -> pa.Scalar:
    """A pyarrow binary scalar (pa.scalar() would import pandas, see arrow_buffers.arrow_array)."""
    import numpy as np

    return _as_binary(np.frombuffer(value, np.uint8).reshape(1, len(value)))[0]


def _text_pieces(values: pa.Array, present: Any) -> list[pa.Array]:
    """[length, bytes] of a text column: a missing or empty field is NULL (length -1, no bytes)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    offsets, _, valid = string_buffers(values)
    lengths = np.diff(offsets)
    if (lengths[~valid] == 0).all():  # missing values hold no bytes: drop the validity bitmap
        payload = pa.Array.from_buffers(pa.binary(), len(values), [None, *values.buffers()[1:]], offset=values.offset)
    else:
        payload = pc.if_else(arrow_array(valid), values.view(pa.binary()), _one(b""))
    return [_lengths(np.where(present, lengths, NULL_LENGTH)), payload]


def encode(entity: Entity, batch: pa.RecordBatch, lines: Any, offset: ConstantOffset | None) -> tuple[Any, Any]:
    """(binary COPY tuples of the encodable rows, in `column_order`; encodable per row).

    `batch`: sure rows, the contract columns as text; `lines`: their line numbers (numpy int).
    Rows are joined by pyarrow column by column: a fixed-size block (field count, then the
    required fixed-width columns and the line, each with its length), then length + value of
    every other column. A row not encodable (a local timestamp outside the constant-offset
    span) is left out, for the caller to send the exact way.
    """
    import numpy as np
    import pyarrow.compute as pc

    rows = batch.num_rows
    head: list[tuple[str, Any]] = [("fields", np.full(rows, len(entity.columns) + 1, ">i2"))]
    tail: list[pa.Array] = []
    encodable = np.ones(rows, bool)
    for name in column_order(entity):
        if name == "_line":
            head += [("_line_length", np.full(rows, 4, ">i4")), ("_line", lines.astype(">i4"))]
            continue
        column = entity.column(name)
        values = batch.column(name)
        present = _present(values)
        if column.type == "text":
            tail += _text_pieces(values, present)
            continue
        payload, ok = _fixed(column, values, present, offset)
        encodable &= ok
        if _in_head(column):
            head += [(f"{name}_length", np.full(rows, payload.dtype.itemsize, ">i4")), (name, payload)]
        else:
            tail.append(_lengths(np.where(present, payload.dtype.itemsize, NULL_LENGTH)))
            value = _as_binary(_bytes_per_row(payload))
            tail.append(value if present.all() else pc.if_else(arrow_array(present), value, _one(b"")))
    block = np.zeros(rows, np.dtype([(name, field.dtype) for name, field in head]))
    for name, field in head:
        block[name] = field
    pieces = [_as_binary(_bytes_per_row(block)), *tail]
    if not encodable.all():
        keep = arrow_array(encodable)
        pieces = [piece.filter(keep) for piece in pieces]
    joined = pc.binary_join_element_wise(*pieces, _one(b"")) if len(pieces) > 1 else pieces[0]
    offsets = np.frombuffer(joined.buffers()[1], np.int32, count=len(joined) + 1, offset=joined.offset * 4)
    data = joined.buffers()[2]
    return (memoryview(data)[int(offsets[0]) : int(offsets[-1])] if data is not None else b""), encodable
