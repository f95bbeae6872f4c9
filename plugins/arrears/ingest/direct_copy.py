"""The fast path's COPY pipeline: read, pre-filter and encode in a producer thread, COPY in binary.

The file is read in text record batches (`reading`); `prefilter.sure_mask` marks the rows that
surely pass every rule of the SQL router; those are COPYed straight into the date's partition of the
typed table, with their line numbers, in PostgreSQL's binary format (`binary_copy`: the server parses
nothing). Every other row ("unsure") is spooled to a temporary file and COPYed into the landing table
for the exact path's SQL router, which gives each bad row its reason.

Whenever the fast path meets anything it was not built for — a structural CSV problem, a stray
quote, a bare carriage return, a row count or checksum that disagrees — it raises `NeedsExactPath`;
the caller rolls the savepoint back and loads the file the exact way, which also produces the exact
error. Parsing, filtering and encoding run in a producer thread (pyarrow releases the GIL) while the
main thread streams the previous batch into COPY: on two cores the server's COPY and the Python side
overlap. See docs/decisions/011-ingest-fast-path.md.
"""

from __future__ import annotations

import datetime as dt
import queue
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from arrears.contract import Entity
from arrears.ingest import binary_copy
from arrears.ingest.arrow_buffers import arrow_array, true_rows
from arrears.ingest.fallbacks import NeedsExactPath
from arrears.ingest.manifest import ManifestFile
from arrears.ingest.prefilter import sure_mask
from arrears.ingest.reading import Reading, text_batches, with_absent_columns

SPOOL_BYTES = 64 << 20  # unsure rows stay in memory up to this, then spill to a temporary file
QUEUE_DEPTH = 16  # encoded batches (~1 MB each) waiting for COPY: smooths the pipeline, bounds memory


@dataclass(frozen=True)
class DirectLoad:
    """What the fast path loaded directly and what it left for the SQL router."""

    sure: int
    unsure: int
    starved: float = 0.0


_DONE = object()


def _encode_batches(
    entity: Entity,
    listed: ManifestFile,
    header: list[str],
    offset: binary_copy.ConstantOffset | None,
    reading: Reading,
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
        for batch in text_batches(listed, header, reading):
            if stop.is_set():
                return
            rows = batch.num_rows
            batch = with_absent_columns(entity, batch)
            lines = np.arange(line, line + rows, dtype=np.int64)
            line += rows
            reading.rows += rows
            table = pa.RecordBatch.from_arrays(
                [*(batch.column(name) for name in entity.column_names), arrow_array(lines)],
                names=[*entity.column_names, "_line"],
            )
            mask = true_rows(sure_mask(entity, batch))
            sure = table if mask.all() else table.filter(arrow_array(mask))
            encoded, encodable = binary_copy.encode(entity, sure, lines[mask], offset)
            direct = mask.copy()
            direct[mask] = encodable  # sure and encodable: loaded directly; the rest the exact way
            if not direct.all():
                pacsv.write_csv(table.filter(arrow_array(~direct)), spool, options)
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
) -> DirectLoad:
    """Stream the file: sure rows COPYed into `target`, unsure ones into the landing table.

    Raises NeedsExactPath when the file must be loaded the exact way; the caller's savepoint undoes
    whatever was written.
    """
    reading = Reading()
    has_timestamps = any(column.type == "timestamp" for column in entity.columns)
    offset = binary_copy.constant_offset(conn, business_date) if has_timestamps else None
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
            statement = f"copy {target} ({', '.join(binary_copy.column_order(entity))}) from stdin (format binary)"
            with conn.cursor() as cursor:
                with cursor.copy(statement) as copy:
                    copy.write(binary_copy.SIGNATURE)
                    while True:
                        waited = time.perf_counter()
                        item = encoded.get()
                        starved += time.perf_counter() - waited
                        if item is _DONE:
                            break
                        if isinstance(item, BaseException):
                            raise NeedsExactPath(f"pyarrow: {item}") from item
                        sure += item[0]
                        unsure += item[1]
                        copy.write(item[2])
                    copy.write(binary_copy.TRAILER)
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
            raise NeedsExactPath(reading.structural)
        if copied != sure:  # the encoding is meant to give COPY exactly the sure rows: never trust a miscount
            raise NeedsExactPath(f"COPY loaded {copied} rows, {sure} were sent")
        if reading.rows != listed.rows:
            raise NeedsExactPath(f"read {reading.rows} rows, the manifest says {listed.rows}")
        if reading.sha256 != listed.sha256:
            raise NeedsExactPath("the file's SHA-256 is not the manifest's")
        if unsure:
            spool.seek(0)
            columns = ", ".join([*entity.column_names, "_line"])
            with conn.cursor() as cursor, cursor.copy(f"copy {land_table} ({columns}) from stdin (format csv)") as copy:
                while chunk := spool.read(1 << 20):
                    copy.write(chunk)
    return DirectLoad(sure, unsure, starved)
