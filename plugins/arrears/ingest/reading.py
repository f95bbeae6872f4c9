"""Reading a delivered file for the fast path: text record batches, and what the read found.

CSV is parsed by pyarrow from the file's decompressed bytes (a tap watches them for bare carriage
returns); Parquet is read in record batches and cast to text. Whatever pyarrow might read differently
from COPY (a stray quote, a bare carriage return, a changed file) is reported in `Reading.structural`
or raised as `NeedsExactPath`, so the file is loaded the exact way instead.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arrears.contract import Entity
from arrears.ingest.fallbacks import NeedsExactPath
from arrears.ingest.files import PARQUET_BATCH_ROWS, QUOTE, DeliveredFile, QuoteScanner, file_sha256
from arrears.ingest.manifest import ManifestFile

if TYPE_CHECKING:
    import pyarrow as pa

CSV_BLOCK_BYTES = 1 << 20  # pyarrow's parse unit (~12k payments rows); its read-ahead grows with it


class _Tap(io.RawIOBase):
    """The decompressed bytes of a delivered CSV file for pyarrow, watched on the way for carriage
    returns that do not end a line."""

    def __init__(self, delivered: DeliveredFile) -> None:
        self._chunks = delivered.chunks()
        self._pending = b""
        self.bare_cr = False
        self._ends_cr = False

    def readable(self) -> bool:
        return True

    def _watch(self, chunk: bytes) -> None:
        if b"\r" in chunk or self._ends_cr:
            pairs = chunk.count(b"\r\n") + (1 if self._ends_cr and chunk.startswith(b"\n") else 0)
            carriage = chunk.count(b"\r") + (1 if self._ends_cr else 0) - (1 if chunk.endswith(b"\r") else 0)
            if carriage != pairs:
                self.bare_cr = True
            self._ends_cr = chunk.endswith(b"\r")

    def read(self, size: int = -1) -> bytes:
        out = []
        wanted = size if size >= 0 else 1 << 62
        while wanted > 0:
            if not self._pending:
                try:
                    self._pending = next(self._chunks)
                except StopIteration:
                    break
                self._watch(self._pending)
            part = self._pending[:wanted]
            self._pending = self._pending[len(part) :]
            wanted -= len(part)
            out.append(part)
        return b"".join(out)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def finish(self) -> None:
        """A carriage return ending the file is bare too."""
        if self._ends_cr:
            self.bare_cr = True


@dataclass
class Reading:
    """What streaming the file found, checked once it is fully read."""

    rows: int = 0
    structural: str | None = None  # why the file needs the exact path, if it does
    sha256: str | None = None


def holds_quote(batch: pa.RecordBatch) -> bool:
    """Whether any value of the batch contains a double quote (conservative: looks at the columns'
    whole data buffers)."""
    import numpy as np

    for values in batch.columns:
        buffers = values.buffers()
        if len(buffers) != 3:  # not a string column: cannot tell
            return True
        data = buffers[2]
        if data is not None and data.size and bool((np.frombuffer(data, np.uint8) == QUOTE).any()):
            return True
    return False


def _stray_quote(listed: ManifestFile) -> tuple[bool, str]:
    """(a stray quote, the SHA-256) from a second read of the file: QuoteScanner over every byte."""
    quotes = QuoteScanner()
    with DeliveredFile(listed.path) as delivered:
        for chunk in delivered.chunks():
            quotes.feed(chunk, count=False)
        return quotes.stray_quote, delivered.sha256()


def with_absent_columns(entity: Entity, batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with a null text column for each optional contract column its file does not carry."""
    import pyarrow as pa

    absent = [name for name in entity.column_names if name not in batch.schema.names]
    if not absent:
        return batch
    arrays = [*batch.columns, *(pa.nulls(batch.num_rows, pa.string()) for _ in absent)]
    return pa.RecordBatch.from_arrays(arrays, names=[*batch.schema.names, *absent])


def text_batches(listed: ManifestFile, header: list[str], reading: Reading) -> Iterator[pa.RecordBatch]:
    """The file's records as record batches of text columns (null = empty unquoted field).

    Stray quotes (see QuoteScanner) are looked for only when pyarrow's values hold a quote. pyarrow
    opens a quoted section only at the start of a field, reads `""` inside one as a quote and every
    other quote as a character (so does the csv module of the exact path's fallback); when no value
    holds one, every quote in the file opened or closed a quoted field exactly where COPY's parser
    (which also opens one mid-field) opens and closes it, so both read the same records and values.
    The only stray quote left is text after a closing quote (`"agent"x`), which all three readers
    append to the field (`agentx`). Otherwise the whole file is scanned again, as before.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if listed.format == ".parquet":
        parquet = pq.ParquetFile(listed.path)
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            yield pa.RecordBatch.from_arrays(
                [pc.cast(column, pa.string()) for column in batch.columns], names=batch.schema.names
            )
        reading.sha256 = file_sha256(listed.path)
        return
    if listed.stray_quote:  # found by validation: COPY and pyarrow would misread the record
        raise NeedsExactPath("a quote that neither opens nor closes a quoted field")
    quoted_values = any('"' in name for name in header)
    with DeliveredFile(listed.path) as delivered:
        tap = _Tap(delivered)
        reader = pacsv.open_csv(
            tap,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        if reader.schema.names != header:
            raise NeedsExactPath(f"pyarrow read the header as {reader.schema.names}")
        for batch in reader:
            # Validation scanned these very bytes (the SHA-256 is checked) when it says so.
            if not quoted_values and listed.stray_quote is None:
                quoted_values = holds_quote(batch)
            yield batch
        while tap.read(CSV_BLOCK_BYTES):  # anything pyarrow left unread counts for the checks and the checksum
            pass
        tap.finish()
        reading.sha256 = delivered.sha256()
    if tap.bare_cr:
        reading.structural = "a carriage return that does not end a line"
    elif quoted_values and listed.stray_quote is None:
        stray, sha256 = _stray_quote(listed)
        if stray:
            reading.structural = "a quote that neither opens nor closes a quoted field"
        elif sha256 != reading.sha256:
            reading.structural = "the file changed while it was read"
