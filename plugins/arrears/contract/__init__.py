"""The landing contract, loaded from `landing.yml`: the one definition of what sources deliver."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

CONTRACT_FILE = Path(__file__).with_name("landing.yml")

# Contract type -> PostgreSQL type of the typed column in raw.<entity>.
SQL_TYPES = {
    "text": "text",
    "date": "date",
    "timestamp": "timestamptz",
    "amount": "numeric(18,2)",
    "decimal": "numeric(12,6)",
    "integer": "integer",
    "boolean": "boolean",
}

# The named checks a column may carry (`check:` in landing.yml); the loader turns each into SQL.
CHECKS = {
    "positive": "the number is > 0",
    "non_negative": "the number is >= 0",
    "national_id": "18-character PRC resident ID, last may be X, GB 11643 checksum",
    "mobile_phone": "11-digit mainland mobile: 1[3-9] then 9 digits",
    "team_id": "one of the contract's team_ids, or agency:<name>",
}

# Lineage columns every raw row carries (landing contract -> raw.<entity>).
LINEAGE_COLUMNS = {
    "_business_date": "date not null",
    "_file": "text not null",
    "_line": "integer not null",
    "_loaded_at": "timestamptz not null",
}


@dataclass(frozen=True)
class Column:
    """One column of an entity, as the contract defines it."""

    name: str
    type: str
    required: bool = False
    pii: bool = False
    allowed: tuple[str, ...] = ()
    check: str | None = None
    default: str | None = None
    doc: str = ""
    # Added after sources started delivering (documented as such). Any column that is not required may be
    # absent from a file's header and loads as NULL (ingest/manifest.py); these are the ones expected absent.
    optional: bool = False

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class Entity:
    """One delivered entity: its columns, its key, and whether it is an upsert or an event."""

    name: str
    kind: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def is_event(self) -> bool:
        return self.kind == "event"

    @property
    def has_pii(self) -> bool:
        return any(column.pii for column in self.columns)

    @property
    def raw_schema(self) -> str:
        """`pii` for entities carrying personal data (least privilege: see docs/decisions), else `raw`."""
        return "pii" if self.has_pii else "raw"

    @property
    def raw_table(self) -> str:
        return f"{self.raw_schema}.{self.name}"

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name}")


@dataclass(frozen=True)
class Contract:
    """The whole landing contract."""

    version: int
    source_timezone: str
    default_currency: str
    entities: dict[str, Entity]
    team_ids: tuple[str, ...] = ()

    def entity(self, name: str) -> Entity:
        return self.entities[name]


def _column(spec: dict) -> Column:
    if spec["type"] not in SQL_TYPES:
        raise ValueError(f"contract: unknown type {spec['type']!r} for column {spec['name']}")
    return Column(
        name=spec["name"],
        type=spec["type"],
        required=bool(spec.get("required", False)),
        pii=bool(spec.get("pii", False)),
        allowed=tuple(spec.get("allowed", ())),
        check=spec.get("check"),
        default=spec.get("default"),
        doc=str(spec.get("doc", "")),
        optional=bool(spec.get("optional", False)),
    )


@cache
def load_contract(path: Path = CONTRACT_FILE) -> Contract:
    """Parse `landing.yml` (cached: the contract does not change while a process runs)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entities = {
        name: Entity(
            name=name,
            kind=spec["kind"],
            key=tuple(spec["key"]),
            columns=tuple(_column(column) for column in spec["columns"]),
            description=str(spec.get("description", "")),
        )
        for name, spec in data["entities"].items()
    }
    return Contract(
        version=int(data["version"]),
        source_timezone=data["source_timezone"],
        default_currency=data["default_currency"],
        entities=entities,
        team_ids=tuple(data.get("team_ids", ())),
    )


def entity_names() -> list[str]:
    """Entities in contract order (also the order in which a delivery is loaded)."""
    return list(load_contract().entities)
