"""Closing a delivery: counts per entity from the warehouse, audit.batches, and the quarantine threshold."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml

from arrears.contract import load_contract
from arrears.errors import ArrearsError, QuarantineThresholdExceeded
from arrears.ingest.loader import clear_entity
from arrears.ingest.manifest import Manifest
from arrears.settings import CONFIG_DIR

if TYPE_CHECKING:
    import datetime as dt

    import psycopg

INGEST_CONFIG = CONFIG_DIR / "ingest.yml"
LIMIT_ENV = "ARREARS_QUARANTINE_LIMIT"


def quarantine_limit() -> float:
    """The share of quarantined rows above which a delivery fails (config file, env override)."""
    configured = os.environ.get(LIMIT_ENV)
    source = f"${LIMIT_ENV}"
    if not configured:
        configured = str(yaml.safe_load(INGEST_CONFIG.read_text(encoding="utf-8"))["quarantine_limit"])
        source = str(INGEST_CONFIG)
    try:
        limit = float(configured)
    except ValueError:
        raise ArrearsError(f"{source}: quarantine limit {configured!r} is not a number") from None
    if not 0 <= limit <= 1:
        raise ArrearsError(f"{source}: quarantine limit {configured!r} must be a share between 0 and 1")
    return limit


@dataclass(frozen=True)
class EntityCount:
    """Rows of one entity for the date, as committed."""

    entity: str
    file: str | None
    loaded: int
    quarantined: int


@dataclass(frozen=True)
class IngestResult:
    """The outcome of a delivery: per-entity counts, totals and the quarantine share against its limit."""

    business_date: dt.date
    entities: tuple[EntityCount, ...]
    limit: float

    @property
    def loaded(self) -> int:
        return sum(count.loaded for count in self.entities)

    @property
    def quarantined(self) -> int:
        return sum(count.quarantined for count in self.entities)

    @property
    def share(self) -> float:
        total = self.loaded + self.quarantined
        return self.quarantined / total if total else 0.0

    @property
    def exceeded(self) -> bool:
        return self.share > self.limit

    def summary(self) -> str:
        """First line: the totals (the backfill prints only it); then one line per entity."""
        lines = [
            f"ingested {self.business_date}: {self.loaded} rows loaded, {self.quarantined} quarantined "
            f"({self.share:.2%} of {self.loaded + self.quarantined}; limit {self.limit:.2%})"
        ]
        width = max(len(count.entity) for count in self.entities) if self.entities else 0
        for count in self.entities:
            if count.file is None:
                lines.append(f"  {count.entity:<{width}}  not delivered")
            else:
                lines.append(
                    f"  {count.entity:<{width}}  {count.loaded:>10} loaded  {count.quarantined:>8} quarantined  "
                    f"{count.file}"
                )
        return "\n".join(lines)

    def raise_if_exceeded(self) -> None:
        """The run fails when the share passes the limit; the rows stay committed for inspection."""
        if self.exceeded:
            raise QuarantineThresholdExceeded(
                f"{self.business_date}: {self.quarantined} of {self.loaded + self.quarantined} rows quarantined "
                f"({self.share:.2%}) passes the limit of {self.limit:.2%}; the rows are loaded — see "
                f"`arrears quarantine --date {self.business_date}`, fix the source and re-deliver"
            )


def finalize_in(conn: psycopg.Connection, manifest: Manifest, loaded: dict[str, int] | None = None) -> IngestResult:
    """Record the batch in audit.batches and return its counts, in the caller's transaction.

    Entities absent from this manifest lose any rows of the date (a re-delivery may drop an entity).
    `loaded`: rows per entity the caller loaded in this same transaction (counted as they loaded);
    the others are counted in the typed tables.
    """
    business_date = manifest.business_date
    contract = load_contract()
    for entity in contract.entities.values():
        if entity.name not in manifest.files:
            clear_entity(conn, entity, business_date)
    quarantined: dict[str, int] = dict(
        conn.execute(
            "select entity, count(*) from audit.quarantine where business_date = %s group by entity",
            (business_date,),
        ).fetchall()
    )
    counts = []
    for entity in contract.entities.values():
        listed = manifest.files.get(entity.name)
        if loaded is not None and entity.name in loaded:
            rows = loaded[entity.name]
        else:
            row = conn.execute(
                f"select count(*) from {entity.raw_table} where _business_date = %s", (business_date,)
            ).fetchone()
            rows = int(row[0]) if row else 0
        counts.append(
            EntityCount(entity.name, listed.file if listed else None, rows, int(quarantined.get(entity.name, 0)))
        )
    result = IngestResult(business_date, tuple(counts), quarantine_limit())
    conn.execute(
        """insert into audit.batches (business_date, status, manifest, rows_loaded, rows_quarantined, loaded_at)
        values (%s, %s, %s, %s, %s, now())
        on conflict (business_date) do update set
            status = excluded.status,
            manifest = excluded.manifest,
            rows_loaded = excluded.rows_loaded,
            rows_quarantined = excluded.rows_quarantined,
            loaded_at = excluded.loaded_at""",
        (
            business_date,
            "quarantine_limit_exceeded" if result.exceeded else "loaded",
            json.dumps(manifest.document),
            result.loaded,
            result.quarantined,
        ),
    )
    if not result.exceeded:  # the night has its delivery now: no longer 'missing'
        conn.execute("delete from audit.night_status where business_date = %s and status = 'missing'", (business_date,))
    return result
