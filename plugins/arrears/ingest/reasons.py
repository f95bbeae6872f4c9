"""The reason codes of `audit.quarantine.reason`: why a delivered row was not loaded.

The simulator's ground-truth `faults.csv` uses the same codes, so tests can compare counts.
A row gets the reason of the FIRST rule it fails, in this order: structure (malformed_row,
invalid_encoding), then each column in contract order (missing_required, key_too_long, bad_type, not_allowed,
out_of_range, invalid_national_id, invalid_phone), then the key rules (duplicate_key_in_file,
event_conflict).
"""

from __future__ import annotations

REASONS: dict[str, str] = {
    "malformed_row": "wrong number of fields, or a record the CSV parser cannot read",
    "invalid_encoding": "bytes that are not UTF-8 (or a NUL byte)",
    "missing_required": "a required column is empty",
    "key_too_long": "a key value longer than 200 characters (keys are indexed; no source key is that long)",
    "bad_type": "not a valid date, timestamp, amount, decimal, integer or boolean",
    "not_allowed": "a value outside the column's allowed values",
    "out_of_range": "a number failing its check: positive (> 0) or non_negative (>= 0)",
    "invalid_national_id": "not an 18-character PRC resident ID with a valid GB 11643 checksum",
    "invalid_phone": "not an 11-digit mainland mobile number (1[3-9]xxxxxxxxx)",
    "duplicate_key_in_file": "the row's key appears more than once in the same file (every such row is quarantined)",
    "event_conflict": "an event whose key was delivered on an earlier business date with different content",
}
