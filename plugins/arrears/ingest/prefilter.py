"""The fast path's pre-filter: which rows of a batch surely pass every rule of the SQL router.

`sure_mask` is vectorised and conservative: a row it accepts surely passes the validating statement
(`arrears.ingest.sql.route_statement`) except for duplicate keys and event conflicts, which the loader
checks after loading. A false "unsure" only costs speed (the row takes the exact path); a false "sure"
would be a bug, which tests/test_ingest_fastpath.py checks row by row against the SQL router.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arrears.contract import Column, Entity, load_contract
from arrears.ingest.arrow_buffers import arrow_array, string_buffers, true_rows
from arrears.ingest.sql import MAX_KEY_LENGTH

if TYPE_CHECKING:
    import pyarrow as pa

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
# Booleans the router reads as true / false (the binary encoder writes TRUE_TEXTS as true).
TRUE_TEXTS = ("true", "t", "yes", "1", "TRUE")
SURE_BOOLEANS = (*TRUE_TEXTS, "false", "f", "no", "0", "FALSE")
POSITIVE_INTEGER = r"^[1-9][0-9]{0,8}$"
NATIONAL_ID = r"^[0-9]{17}[0-9X]$"
NATIONAL_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
NATIONAL_ID_CHECK = "10X98765432"
MOBILE = r"^1[3-9][0-9]{9}$"
AGENCY = r"^agency:.+$"
MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _calendar_ok(values: pa.Array, shaped: pa.Array) -> pa.Array:
    """True where the `YYYY-MM-DD` prefix is a real date (year >= 1); only meaningful where `shaped`."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    safe = pc.if_else(shaped, values, arrow_array(["2000-01-01"])[0])
    year = pc.cast(pc.utf8_slice_codeunits(safe, 0, 4), pa.int32())
    month = pc.cast(pc.utf8_slice_codeunits(safe, 5, 7), pa.int32())
    day = pc.cast(pc.utf8_slice_codeunits(safe, 8, 10), pa.int32())
    leap = pc.and_(
        pc.equal(pc.bit_wise_and(year, 3), 0),
        pc.or_(pc.not_equal(pc.remainder(year, 100), 0), pc.equal(pc.remainder(year, 400), 0)),
    )
    month_days = pc.take(arrow_array(np.asarray(MONTH_DAYS, np.int32)), month)
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


def _layout_ok(values: pa.Array, column_type: str, buffers: tuple[Any, Any, Any] | None = None) -> Any:
    """numpy bool per row: the value has one of the type's fixed layouts, with a real calendar date,
    hour 0-23, minutes and seconds 0-59 and an offset of at most 14 hours. `buffers`: the values'
    string_buffers, when already at hand."""
    import numpy as np

    offsets, data, valid = buffers or string_buffers(values)
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

    offsets, data, valid = buffers or string_buffers(values)
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

    shaped = arrow_array(true_rows(pc.match_substring_regex(values, NATIONAL_ID)))
    safe = pc.if_else(shaped, values, arrow_array(["11010519491231002X"])[0])
    total = None
    for position, weight in enumerate(NATIONAL_ID_WEIGHTS):
        digit = pc.cast(pc.utf8_slice_codeunits(safe, position, position + 1), pa.int32())
        term = pc.multiply(digit, weight)
        total = term if total is None else pc.add(total, term)
    expected = pc.take(arrow_array(list(NATIONAL_ID_CHECK)), pc.remainder(total, 11))
    return pc.and_(shaped, pc.equal(expected, pc.utf8_slice_codeunits(safe, 17, 18)))


def _value_ok(
    column: Column, values: pa.Array, team_ids: tuple[str, ...], buffers: tuple[Any, Any, Any] | None = None
) -> Any:
    """numpy bool per row, True where a NON-EMPTY value surely passes the column's type, allowed
    values and check (None: every value does). `buffers`: the values' string_buffers."""
    import numpy as np
    import pyarrow.compute as pc

    buffers = buffers or string_buffers(values)
    numeric: list[Any] = []  # numpy conditions
    conditions: list[pa.Array] = []  # pyarrow conditions (null where the value is null)
    if column.type in LAYOUTS:
        fixed = _layout_ok(values, column.type, buffers)
        unsure = np.flatnonzero(~fixed & buffers[2])
        if unsure.size:  # other widths: the regular expression and the calendar, on those rows only
            others = values.take(arrow_array(unsure.astype(np.int64)))
            shaped = arrow_array(true_rows(pc.match_substring_regex(others, SURE_PATTERNS[column.type])))
            fixed[unsure] = true_rows(pc.and_(shaped, _calendar_ok(others, shaped)))
        numeric.append(fixed)
    elif column.type == "amount":
        numeric.append(_amount_ok(values, column.check == "positive", buffers))
    elif column.type in SURE_PATTERNS:
        pattern = SURE_PATTERNS[column.type]
        if column.type == "integer" and column.check == "positive":
            pattern = POSITIVE_INTEGER
        conditions.append(pc.match_substring_regex(values, pattern))
    elif column.type == "boolean":
        conditions.append(pc.is_in(values, arrow_array(SURE_BOOLEANS)))
    if column.allowed:
        conditions.append(pc.is_in(values, arrow_array(column.allowed)))
    if column.check == "national_id":
        conditions.append(_national_id_ok(values))
    elif column.check == "mobile_phone":
        conditions.append(pc.match_substring_regex(values, MOBILE))
    elif column.check == "team_id":
        conditions.append(pc.or_(pc.is_in(values, arrow_array(team_ids)), pc.match_substring_regex(values, AGENCY)))
    numeric += [true_rows(condition) for condition in conditions]
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
        buffers = string_buffers(values)
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
    return arrow_array(mask)
