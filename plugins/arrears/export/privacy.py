"""The per-column privacy policies and formula neutralisation, as SQL so 1M rows never pass through Python.

Every policy is an SQL expression wrapped around the column's own expression. The keyed hash is
HMAC-SHA256 (RFC 2104) built from PostgreSQL's built-in sha256() (on Spark from sha2: export/spark_sql.py),
so no extension is needed; the key comes from $ARREARS_HASH_KEY or $ARREARS_HOME/hash-key, never from the
repository.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from arrears.errors import ArrearsError
from arrears.export.config import ExportColumn, Recipient
from arrears.export.spark_sql import keyed_hash_on_spark
from arrears.settings import paths

HASH_KEY_ENV = "ARREARS_HASH_KEY"
_HMAC_BLOCK = 64  # SHA-256 block size in bytes

# OWASP CSV injection: a cell starting with one of these is read as a formula by spreadsheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_MASKS = {
    # 310101199001011234 -> 310101********1234 (region code and last four kept, birth date hidden)
    "national_id": "case when length({x}) > 10 then left({x}, 6) || repeat('*', length({x}) - 10) || right({x}, 4)"
    " else repeat('*', length({x})) end",
    # 13912341234 -> 139****1234
    "phone": "case when length({x}) > 7 then left({x}, 3) || repeat('*', length({x}) - 7) || right({x}, 4)"
    " else repeat('*', length({x})) end",
    # 张三丰 -> 张**
    "name": "left({x}, 1) || repeat('*', greatest(length({x}) - 1, 1))",
    # zhang.san@example.com -> z***@example.com
    "email": "case when position('@' in {x}) > 1 then left({x}, 1) || '***' || substr({x}, position('@' in {x}))"
    " else '***' end",
    # keep the first six characters (province and city), hide the street
    "address": "left({x}, 6) || '****'",
}


class HashKeyMissing(ArrearsError):
    """A recipient receives hashed columns but no hashing key is configured."""


@dataclass(frozen=True)
class HmacPads:
    """The inner and outer padded keys of HMAC-SHA256, passed to SQL as bytea parameters."""

    inner: bytes
    outer: bytes


def hmac_pads(key: bytes) -> HmacPads:
    """RFC 2104 key preparation: hash long keys, zero-pad to the block, xor with 0x36 / 0x5c."""
    if len(key) > _HMAC_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_HMAC_BLOCK, b"\0")
    return HmacPads(inner=bytes(b ^ 0x36 for b in key), outer=bytes(b ^ 0x5C for b in key))


def hash_pads_for(recipient: Recipient) -> HmacPads | None:
    """The HMAC pads when the recipient has hashed columns; one clear error when the key is missing."""
    if not recipient.hashed_columns:
        return None
    key_file = paths().hash_key_file
    key = os.environ.get(HASH_KEY_ENV, "")
    if not key and key_file.exists():
        key = key_file.read_text(encoding="utf-8").strip()
    if not key:
        raise HashKeyMissing(
            f"recipient {recipient.name} receives hashed columns ({', '.join(recipient.hashed_columns)}) "
            f"but {HASH_KEY_ENV} is not set and {key_file} does not exist; set the variable (never in the "
            "repository) or put the key in that file"
        )
    return hmac_pads(key.encode("utf-8"))


def neutralise_sql(expression: str) -> str:
    """Prefix a text cell that starts with a formula trigger with a quote, so spreadsheets show it as text.

    The test is on the code point of the first character (`ascii()`: 0 for an empty string, null for
    null), one integer list per cell instead of a substring and six text comparisons.
    """
    triggers = ", ".join(str(ord(char)) for char in FORMULA_TRIGGERS)
    return f"case when ascii({expression}) in ({triggers}) then '''' || {expression} else {expression} end"


def is_text(column: ExportColumn) -> bool:
    """Whether the exported cell is text (and so must be neutralised against formula injection)."""
    return column.spec.type == "text" or column.policy in ("masked", "hashed")


def needs_neutralising(column: ExportColumn) -> bool:
    """Text cells, except keyed hashes: lowercase hex digits never start with a formula trigger."""
    return is_text(column) and column.policy != "hashed"


def policy_sql(column: ExportColumn, engine: str = "postgres") -> str:
    """The column's SQL with its privacy policy applied (neutralisation is applied on top, once).

    The masks are SQL both engines run; the keyed hash is spelled for each (Spark has no bytea)."""
    expression = f"({column.spec.sql})"
    if column.policy == "masked" and column.spec.mask is not None:
        expression = "(" + _MASKS[column.spec.mask].format(x=expression) + ")"
    elif column.policy == "hashed" and engine != "postgres":
        expression = keyed_hash_on_spark(expression)
    elif column.policy == "hashed":
        # %(hmac_inner)s / %(hmac_outer)s are bound by the exporter; ::text first so numbers hash too.
        expression = (
            "encode(sha256(%(hmac_outer)s::bytea || "
            f"sha256(%(hmac_inner)s::bytea || convert_to({expression}::text, 'UTF8'))), 'hex')"
        )
    return expression
