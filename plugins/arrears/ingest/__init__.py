"""Ingestion of landing deliveries: manifest checks, COPY, validation in SQL, quarantine, audit.

The Airflow DAG calls the pieces one task each (validate_delivery, load_entity per entity,
finalize_batch); `arrears ingest` calls ingest_delivery, which runs the same pieces in ONE
transaction. Both serialise on a per-date advisory lock.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from arrears.ingest.batch import IngestResult, finalize_in, quarantine_limit
from arrears.ingest.loader import EntityResult, load_entity_in
from arrears.ingest.manifest import Manifest, read_manifest, validate
from arrears.ingest.manifest import manifest_path as _manifest_path
from arrears.ingest.quarantine import print_quarantine
from arrears.ingest.reasons import REASONS

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

__all__ = [
    "REASONS",
    "EntityResult",
    "IngestResult",
    "Manifest",
    "finalize_batch",
    "ingest_delivery",
    "load_entity",
    "manifest_path",
    "print_quarantine",
    "quarantine_limit",
    "validate_delivery",
]


def _landing(landing_root: Path | None) -> Path:
    from arrears.settings import paths

    return Path(landing_root) if landing_root is not None else paths().landing


def _date_lock_key(business_date: dt.date) -> str:
    return f"arrears.ingest:{business_date.isoformat()}"


@contextmanager
def _transaction(business_date: dt.date, entity: str | None = None) -> Iterator[psycopg.Connection]:
    """One transaction holding the date's lock: exclusive for a whole delivery or the batch record;
    shared plus a per-entity lock for one entity (so the mapped tasks of one date run in parallel,
    but never alongside a whole-delivery ingest of that date)."""
    from arrears.settings import source_timezone
    from arrears.warehouse import connect

    with connect() as conn, conn.transaction():
        if entity is None:
            conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (_date_lock_key(business_date),))
        else:
            conn.execute("select pg_advisory_xact_lock_shared(hashtext(%s))", (_date_lock_key(business_date),))
            conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"{_date_lock_key(business_date)}:{entity}",))
        # Timestamps without an offset are in the source time zone (landing contract: Encoding).
        conn.execute("select set_config('TimeZone', %s, true)", (source_timezone(),))
        # Room for the validating statement's in-memory work on a large file, and for the landing
        # table in local buffers (settable only before the session's first temporary table).
        conn.execute("select set_config('work_mem', '256MB', true)")
        conn.execute("select set_config('temp_buffers', '256MB', true)")
        # A date's partition is new in this transaction (its writes skip the WAL), so COMMIT must
        # fsync its files: asking the kernel to write them back every 2 MB during the load leaves
        # COMMIT little to wait for (0.7-0.8 s -> 0.2 s for 2M payments rows).
        conn.execute("select set_config('backend_flush_after', '2MB', true)")
        yield conn


def manifest_path(business_date: dt.date, landing_root: Path | None) -> Path:
    """Where the delivery's `_manifest.json` appears; its presence means the delivery is complete."""
    return _manifest_path(business_date, _landing(landing_root))


def validate_delivery(business_date: dt.date, landing_root: Path | None) -> Manifest:
    """Every whole-delivery check (manifest, file names, checksums, row counts, headers); loads nothing.

    Raises DeliveryRejected naming the file and the mismatch.
    """
    return validate(business_date, _landing(landing_root))


def load_entity(business_date: dt.date, entity_name: str, landing_root: Path | None) -> EntityResult:
    """Load ONE entity of a validated delivery in its own transaction, replacing its rows of the date.

    The file's checksum and row count are verified again while it streams (it may have changed
    since validation); a mismatch rolls the entity back. Also invalidates the date's batch record
    until finalize_batch writes it again.
    """
    manifest = read_manifest(business_date, _landing(landing_root))
    with _transaction(business_date, entity_name) as conn:
        conn.execute("delete from audit.batches where business_date = %s", (business_date,))
        return load_entity_in(conn, manifest, entity_name)


def finalize_batch(business_date: dt.date, landing_root: Path | None) -> IngestResult:
    """After every entity loaded: record audit.batches; raise QuarantineThresholdExceeded (after
    committing) when the quarantined share passes the limit."""
    manifest = read_manifest(business_date, _landing(landing_root))
    with _transaction(business_date) as conn:
        result = finalize_in(conn, manifest)
    result.raise_if_exceeded()
    return result


def ingest_delivery(business_date: dt.date, landing_root: Path | None = None) -> IngestResult:
    """Validate and load a whole delivery in ONE transaction (all entities or none), then check the threshold.

    Re-ingesting a date replaces its rows. Raises DeliveryRejected (nothing loaded) or
    QuarantineThresholdExceeded (rows committed, run failed).
    """
    started = time.perf_counter()
    # Plain CSV files are counted while they load, in this same transaction (see verify_file).
    manifest = validate(business_date, _landing(landing_root), count_rows=False)
    validated = time.perf_counter()
    with _transaction(business_date) as conn:
        conn.execute("delete from audit.batches where business_date = %s", (business_date,))
        # Each load counts its rows (a full count of a 2M-row partition costs ~0.2 s).
        loaded = {name: load_entity_in(conn, manifest, name).loaded for name in manifest.entities}
        result = finalize_in(conn, manifest, loaded)
        finalized = time.perf_counter()
    log.info(
        "%s: manifest checks %.2f s, loads %.2f s, commit %.2f s",
        business_date,
        validated - started,
        finalized - validated,
        time.perf_counter() - finalized,
    )
    result.raise_if_exceeded()
    return result
