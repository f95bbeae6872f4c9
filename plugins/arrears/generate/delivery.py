"""Writing one delivery: CSV files streamed in slices, malformed rows injected on request, the manifest last."""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from arrears.contract import Entity
from arrears.generate.pools import csv_field
from arrears.generate.rows import Rows

T = TypeVar("T")
CHUNK = 100_000
NUMERIC_TYPES = {"date", "timestamp", "amount", "integer", "decimal", "boolean"}
BAD_VALUES = {
    "date": ["2026-02-30", "30/01/2026"],
    "timestamp": ["2026-13-01T10:00:00+08:00", "yesterday"],
    "amount": ["1,000.00", "12.345", "abc"],
    "integer": ["abc", "1.5"],
    "decimal": ["abc"],
    "boolean": ["maybe"],
}
ENCODING_MARK = "\x00"  # replaced by an invalid UTF-8 byte after encoding


@dataclass(frozen=True)
class Fault:
    """One malformed line of a delivered file (ground truth for the loader's quarantine)."""

    entity: str
    file: str
    line_no: int
    reason: str


@dataclass
class FaultInjector:
    """Decides which malformed rows go into each file (rate = share of each file's good rows)."""

    rate: float
    rng: np.random.Generator
    earlier_events: dict[str, deque[list[str]]] = field(default_factory=dict)
    offset: int = 0  # kinds are taken in turn from a random start, so every kind shows up even in small files

    def kinds(self, entity: Entity) -> list[str]:
        """The quarantine reasons a row of this entity can be made to carry."""
        free = [c for c in entity.columns if c.name not in entity.key]
        kinds = ["malformed_row", "invalid_encoding", "duplicate_key_in_file"]
        if any(c.required for c in free):
            kinds.append("missing_required")
        if any(c.type in NUMERIC_TYPES for c in free):
            kinds.append("bad_type")
        if any(c.allowed for c in free):
            kinds.append("not_allowed")
        if any(c.check in ("positive", "non_negative") for c in free):
            kinds.append("out_of_range")
        if any(c.check == "national_id" for c in free):
            kinds.append("invalid_national_id")
        if any(c.check == "mobile_phone" for c in free):
            kinds.append("invalid_phone")
        if entity.is_event and self.earlier_events.get(entity.name):
            kinds.append("event_conflict")
        return kinds

    def plan(self, count: int) -> np.ndarray:
        """Sorted good-row indices after which a malformed row is written."""
        if count == 0 or self.rate <= 0:
            return np.zeros(0, np.int64)
        faults = int(self.rate * count + self.rng.random())
        self.offset = int(self.rng.integers(0, 100))
        return np.sort(self.rng.integers(0, count, faults))

    def malformed(self, entity: Entity, template: list[str], serial: int, used: set[str]) -> list[tuple[str, str]]:
        """Lines (without terminator) and reasons made from a good row; the key is made fresh so the good row
        itself is never dragged into quarantine."""
        names = entity.column_names
        kinds = self.kinds(entity)
        kind = kinds[(serial + self.offset) % len(kinds)]
        row = list(template)
        if kind == "event_conflict":
            candidates = [r for r in self.earlier_events[entity.name] if r[0] not in used]
            if candidates:
                row = list(candidates[int(self.rng.integers(0, len(candidates)))])
                used.add(row[0])
                target = "amount" if "amount" in names else "agent_id"
                index = names.index(target)
                row[index] = _changed(row[index], target)
                return [(",".join(row), kind)]
            kind = "malformed_row"
        _fresh_key(entity, row, serial)
        free = [c for c in entity.columns if c.name not in entity.key]
        pick = self.rng.integers
        if kind == "malformed_row":
            line = ",".join(row[:-1]) if pick(0, 2) else ",".join([*row, "extra"])
            return [(line, kind)]
        if kind == "duplicate_key_in_file":
            return [(",".join(row), kind), (",".join(row), kind)]
        if kind == "invalid_encoding":
            texts = [c for c in free if c.type == "text" and not c.allowed and not c.check] or [
                c for c in entity.columns if c.type == "text"
            ]
            column = texts[int(pick(0, len(texts)))]
            row[names.index(column.name)] = ENCODING_MARK + row[names.index(column.name)]
        elif kind == "missing_required":
            column = _one(self.rng, [c for c in free if c.required])
            row[names.index(column.name)] = ""
        elif kind == "bad_type":
            column = _one(self.rng, [c for c in free if c.type in NUMERIC_TYPES])
            row[names.index(column.name)] = csv_field(_one(self.rng, BAD_VALUES[column.type]))
        elif kind == "not_allowed":
            column = _one(self.rng, [c for c in free if c.allowed])
            row[names.index(column.name)] = "not_a_known_value"
        elif kind == "out_of_range":
            column = _one(self.rng, [c for c in free if c.check in ("positive", "non_negative")])
            negative = "-5.00" if column.type == "amount" else "-1"
            zero = "0.00" if column.type == "amount" else "0"
            row[names.index(column.name)] = zero if column.check == "positive" and pick(0, 2) else negative
        elif kind == "invalid_national_id":
            index = names.index(next(c.name for c in free if c.check == "national_id"))
            value = row[index]
            row[index] = value[:17] + ("0" if value[17] != "0" else "1")
        elif kind == "invalid_phone":
            index = names.index(next(c.name for c in free if c.check == "mobile_phone"))
            row[index] = _one(self.rng, ["12345678901", "1381234567", "021-66668888"])
        return [(",".join(row), kind)]


def _one(rng: np.random.Generator, items: list[T]) -> T:
    return items[int(rng.integers(0, len(items)))]


def _changed(value: str, column: str) -> str:
    if column == "amount":
        whole, cents = value.split(".")
        return f"{int(whole) + 1}.{cents}"
    return (value or "agent") + "-x"


def _fresh_key(entity: Entity, row: list[str], serial: int) -> None:
    names = entity.column_names
    if entity.name == "installments":
        row[names.index("installment_no")] = str(900 + serial)
    else:
        index = names.index(entity.key[0])
        row[index] = f"{row[index]}-F{serial}"


def write_csv(
    path: Path, entity: Entity, rows: Rows, faults: FaultInjector | None, business_date: str
) -> tuple[int, str, list[Fault]]:
    """Stream `rows` to `path` (header first, columns in contract order); returns (data rows, sha256, faults)."""
    names = entity.column_names
    count, make = rows
    plan = faults.plan(count) if faults else np.zeros(0, np.int64)
    digest = hashlib.sha256()
    written = 0
    injected: list[Fault] = []
    used: set[str] = set()
    cursor = 0
    with path.open("wb") as out:
        header = (",".join(names) + "\r\n").encode()
        digest.update(header)
        out.write(header)
        for start in range(0, count, CHUNK):
            end = min(start + CHUNK, count)
            columns = make(start, end)
            lines = [",".join(values) for values in zip(*(columns[name] for name in names), strict=True)]
            pieces: list[bytes] = []
            previous = 0
            while cursor < len(plan) and plan[cursor] < end and faults is not None:
                position = int(plan[cursor]) - start + 1
                pieces.append(_encode(lines[previous:position]))
                written += position - previous
                previous = position
                template = [columns[name][position - 1] for name in names]
                for line, reason in faults.malformed(entity, template, cursor, used):
                    written += 1
                    injected.append(Fault(entity.name, path.name, written + 1, reason))
                    data = (line + "\r\n").encode("utf-8")
                    pieces.append(data.replace(ENCODING_MARK.encode(), b"\xff\xfe"))
                cursor += 1
            pieces.append(_encode(lines[previous:]))
            written += len(lines) - previous
            for piece in pieces:
                digest.update(piece)
                out.write(piece)
    return written, digest.hexdigest(), injected


def _encode(lines: list[str]) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode("utf-8")


def write_manifest(
    folder: Path, business_date: str, source_system: str, extracted_at: str, files: list[dict[str, Any]]
) -> None:
    """`_manifest.json`, written last through a temporary name so its presence means the delivery is complete."""
    manifest = {
        "business_date": business_date,
        "source_system": source_system,
        "extracted_at": extracted_at,
        "files": files,
    }
    temporary = folder / "_manifest.json.tmp"
    temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    temporary.replace(folder / "_manifest.json")
