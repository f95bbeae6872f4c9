"""The PostgreSQL loader's row rules (arrears.ingest.sql) as Spark Column expressions, in the same order.

A row gets the reason of the FIRST rule it fails (arrears.ingest.reasons): structure (invalid_encoding,
then malformed_row, as the loader's Python fallback judges them), then each column in contract order
(missing_required, key_too_long, bad_type, not_allowed, out_of_range, invalid_national_id,
invalid_phone), then duplicate_key_in_file; event_conflict is judged after the typed rows exist
(arrears.spark.landing). The details are PostgreSQL's `format('col = %L', left(value, 80))`.

A value is of its type when PostgreSQL's loader would take it (its shape check and
`pg_input_is_valid`), for the spellings the landing contract allows: dates `YYYY-MM-DD`; ISO 8601
timestamps with `T` or a space, seconds and up to 6 fraction digits optional, then no offset (the
source time zone), `Z` or `+hh[[:]mm]`; plain decimals. Spellings PostgreSQL's input functions also
take but the contract does not describe (`24:00`, leap seconds, a 7th fraction digit, zone names,
trailing spaces in a date) are bad_type here: docs/spark.md lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arrears.contract import Column, Entity, load_contract
from arrears.ingest.prefilter import NATIONAL_ID_CHECK, NATIONAL_ID_WEIGHTS
from arrears.ingest.sql import AGENCY_PATTERN, MAX_KEY_LENGTH, MOBILE_PATTERN

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn

# Java's `$` also matches before a final line break; PostgreSQL's does not: anchor with \z. Java's `.`
# skips line breaks, PostgreSQL's does not: (?s).
END = r"\z"
DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
# Groups: 1 the date, 2 the time, 3 the offset (empty: the source time zone).
TIMESTAMP = (
    rf"^({DATE})[T ]([0-9]{{2}}:[0-9]{{2}}(?::[0-9]{{2}}(?:\.[0-9]{{1,6}})?)?)"
    rf"(Z|[+-](?:0[0-9]|1[0-5])(?::?[0-5][0-9])?)?{END}"
)
AMOUNT = rf"^-?[0-9]+(\.[0-9]{{1,2}})?{END}"
# PostgreSQL's shape lets a decimal start with `-.` (but not `.`) and have any number of decimals.
DECIMAL = rf"^(-?[0-9]+(\.[0-9]+)?|-\.[0-9]+){END}"
INTEGER = rf"^-?[0-9]+{END}"
# PostgreSQL's boolean input: surrounding white space ignored, any case, a prefix of true/false/yes/no,
# on/of/off, 1/0.
BOOLEAN_TRUE = ("t", "tr", "tru", "true", "y", "ye", "yes", "on", "1")
BOOLEAN_FALSE = ("f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0")
C_SPACE = r"[ \t\n\x0B\f\r]"
NATIONAL_ID_SHAPE = rf"^[0-9]{{17}}[0-9X]{END}"
SPARK_TYPES = {
    "date": "date",
    "amount": "decimal(18,2)",
    "decimal": "decimal(12,6)",
    "integer": "int",
}


def _regex(pattern: str) -> str:
    """A PostgreSQL `^...$` pattern of arrears.ingest.sql, anchored the same way in Java."""
    return "(?s)" + pattern.removesuffix("$") + END


def quoted(value: SparkColumn) -> SparkColumn:
    """PostgreSQL's quote_literal (format's %L): quotes doubled; with a backslash, E'' and backslashes doubled."""
    from pyspark.sql import functions as F

    doubled = F.replace(value, F.lit("'"), F.lit("''"))
    return (
        F.when(
            F.instr(value, "\\") > 0, F.concat(F.lit("E'"), F.replace(doubled, F.lit("\\"), F.lit("\\\\")), F.lit("'"))
        )
        .when(value.isNull(), F.lit("NULL"))
        .otherwise(F.concat(F.lit("'"), doubled, F.lit("'")))
    )


def shown(name: str, value: SparkColumn) -> SparkColumn:
    """`name = 'value'`, the value cut to 80 characters, as the loader's details show it."""
    from pyspark.sql import functions as F

    return F.concat(F.lit(f"{name} = "), quoted(F.substring(value, 1, 80)))


def source_timestamp(value: SparkColumn, source_timezone: str) -> SparkColumn:
    """The instant a TIMESTAMP-shaped text names (no offset: the source time zone); null when impossible."""
    from pyspark.sql import functions as F

    local = F.concat(F.regexp_extract(value, TIMESTAMP, 1), F.lit(" "), F.regexp_extract(value, TIMESTAMP, 2))
    offset = F.regexp_extract(value, TIMESTAMP, 3)
    hours, minutes = F.substring(offset, 1, 3), F.substring(F.regexp_replace(offset, ":", ""), 4, 2)
    zone = (
        F.when(offset == "", F.lit(source_timezone))
        .when(offset == "Z", F.lit("+00:00"))
        .otherwise(F.concat(hours, F.lit(":"), F.when(minutes == "", F.lit("00")).otherwise(minutes)))
    )
    # The session time zone is UTC (arrears.spark.session): the wall clock read as UTC, then shifted.
    return F.to_utc_timestamp(local.try_cast("timestamp"), zone)


def boolean_text(value: SparkColumn) -> SparkColumn:
    from pyspark.sql import functions as F

    return F.lower(F.regexp_replace(value, rf"^{C_SPACE}+|{C_SPACE}+{END}", ""))


def typed(column: Column, value: SparkColumn, source_timezone: str) -> SparkColumn:
    """The column's value in its Spark type (as PostgreSQL's cast would give it); null when not of the type."""
    from pyspark.sql import functions as F

    if column.type == "text":
        return value
    if column.type == "timestamp":
        return F.when(value.rlike(TIMESTAMP) & ~value.startswith("0000"), source_timestamp(value, source_timezone))
    if column.type == "boolean":
        text = boolean_text(value)
        return F.when(text.isin(*BOOLEAN_TRUE), F.lit(True)).when(text.isin(*BOOLEAN_FALSE), F.lit(False))
    shape = {"date": rf"^{DATE}{END}", "amount": AMOUNT, "decimal": DECIMAL, "integer": INTEGER}[column.type]
    of_type = value.rlike(shape)
    if column.type == "date":
        of_type = of_type & ~value.startswith("0000")  # no year 0 in PostgreSQL
    return F.when(of_type, value.try_cast(SPARK_TYPES[column.type]))


def national_id_valid(value: SparkColumn) -> SparkColumn:
    """GB 11643 checksum (audit.is_valid_national_id)."""
    from pyspark.sql import functions as F

    total = sum(
        (
            F.substring(value, position + 1, 1).try_cast("int") * weight
            for position, weight in enumerate(NATIONAL_ID_WEIGHTS)
        ),
        F.lit(0),
    )
    expected = F.element_at(F.array(*(F.lit(char) for char in NATIONAL_ID_CHECK)), total % 11 + 1)
    return value.rlike(NATIONAL_ID_SHAPE) & F.coalesce(expected == F.substring(value, 18, 1), F.lit(False))


def column_failures(
    entity: Entity, values: dict[str, SparkColumn], typed_values: dict[str, SparkColumn]
) -> list[tuple[SparkColumn, str, SparkColumn]]:
    """(condition, reason, detail) per rule of the columns, in the order PostgreSQL's loader judges a row.

    `values`: each contract column's text (null when empty); `typed_values`: the same as `typed` gives it.
    """
    from pyspark.sql import functions as F

    team_ids = load_contract().team_ids
    rules: list[tuple[SparkColumn, str, SparkColumn]] = []
    for column in entity.columns:
        value, present = values[column.name], values[column.name].isNotNull()
        detail = shown(column.name, value)
        if column.required:
            rules.append((value.isNull(), "missing_required", F.lit(f"{column.name} is empty")))
        if column.name in entity.key and column.type == "text":
            too_long = f"{column.name} is longer than {MAX_KEY_LENGTH} characters"
            rules.append((F.length(value) > MAX_KEY_LENGTH, "key_too_long", F.lit(too_long)))
        number = typed_values[column.name]
        if column.type != "text":
            rules.append((present & number.isNull(), "bad_type", detail))
        if column.allowed:
            rules.append((present & ~value.isin(*column.allowed), "not_allowed", detail))
        if column.check == "positive":
            rules.append((number <= 0, "out_of_range", F.concat(detail, F.lit(" (must be > 0)"))))
        elif column.check == "non_negative":
            rules.append((number < 0, "out_of_range", F.concat(detail, F.lit(" (must be >= 0)"))))
        elif column.check == "national_id":
            rules.append((present & ~national_id_valid(value), "invalid_national_id", detail))
        elif column.check == "mobile_phone":
            rules.append((present & ~value.rlike(_regex(MOBILE_PATTERN)), "invalid_phone", detail))
        elif column.check == "team_id":
            allowed = value.isin(*team_ids) | value.rlike(_regex(AGENCY_PATTERN))
            rules.append((present & ~allowed, "not_allowed", detail))
    return rules
