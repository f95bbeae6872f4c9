"""Reading delivered files as streams: bytes, headers and record counts, never a whole file in memory.

A file is `<entity>.csv`, `<entity>.csv.gz` or `<entity>.parquet`. CSV (plain or gzipped) is streamed
as its decompressed bytes; Parquet is read in record batches and turned into CSV text, so every
format feeds the same COPY path.
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from arrears.errors import DeliveryRejected

CHUNK_BYTES = 1 << 20
PARQUET_BATCH_ROWS = 65_536
FORMATS = (".csv.gz", ".csv", ".parquet")  # longest suffix first: "x.csv.gz" is gzipped CSV
# Python's csv module refuses fields over 128 KiB by default; the contract sets no such limit
# (a 10 MB free-text field must load, like COPY loads it).
csv.field_size_limit(1 << 30)


def file_format(name: str) -> str | None:
    """The format suffix of a delivered file name, or None when the contract does not allow it."""
    return next((suffix for suffix in FORMATS if name.endswith(suffix)), None)


class HashingReader(io.RawIOBase):
    """A read-through wrapper that hashes every byte read (so one pass both loads and verifies)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        self.sha256.update(data)
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> str:
        """Hash whatever was not read yet (gzip may stop before trailing bytes); return the hex digest."""
        while chunk := self.raw.read(CHUNK_BYTES):
            self.sha256.update(chunk)
        return self.sha256.hexdigest()


class DeliveredFile:
    """One delivered CSV file opened for streaming: decompressed bytes, hashed on the way."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("rb")
        self._hasher = HashingReader(self._handle)
        self._stream: IO[bytes] = (
            gzip.GzipFile(fileobj=self._hasher, mode="rb") if path.name.endswith(".gz") else self._hasher  # type: ignore[assignment]
        )

    def chunks(self) -> Iterator[bytes]:
        """The decompressed bytes in chunks; a truncated or corrupt gzip stream is a rejection."""
        try:
            while chunk := self._stream.read(CHUNK_BYTES):
                yield chunk
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise DeliveryRejected(f"{self.path.name}: not a readable gzip stream ({err})") from None

    def text(self) -> IO[str]:
        """The decompressed content as text for the csv module; undecodable bytes survive as surrogates."""
        return io.TextIOWrapper(self._stream, encoding="utf-8-sig", errors="surrogateescape", newline="")

    def sha256(self) -> str:
        """Hex SHA-256 of the file's bytes as stored (compressed for .gz); call after reading."""
        return self._hasher.drain()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> DeliveredFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# RFC 4180 quoting: a quoted field opens with `"` at the start of a field (after a delimiter, after a
# newline, or at the start of the file) and closes with `"` right before a delimiter, a line end or
# the end of the file; inside it `""` is an escaped quote. Any other quote is stray: inside an
# unquoted field (`ag"ent`), ending one (`agent",`) or after a closing quote (`"agent"x`). PostgreSQL's
# COPY and a naive quote toggle open or close a quoted section there anyway and may swallow the
# following lines; the csv module (the Python fallback) keeps a quote inside an unquoted field as a
# literal character.
#
# The pattern runs over a chunk's text outside quoted fields, where each quoted field (however long,
# `""` pairs included) stands as a single `"` (see QuoteScanner): so a `"` there that follows a byte
# ending no field, or precedes a byte starting none, is a stray quote. It starts with a literal, so the
# regex engine jumps from quote to quote.
STRAY_QUOTE = re.compile(rb'"(?:(?<=[^,\n"]")|[^,\r\n"])')
UTF8_BOM = b"\xef\xbb\xbf"
QUOTE, NEWLINE = ord('"'), ord("\n")
PRECEDES_OPENING = (ord(","), NEWLINE, QUOTE)  # STRAY_QUOTE's lookbehind, as byte codes
FOLLOWS_CLOSING = b',\r\n"'  # and what may follow a closing quote
FOLLOWS_CLOSING_CODES = tuple(FOLLOWS_CLOSING)


class QuoteScanner:
    """Follows RFC 4180 quoting through a byte stream fed in chunks, vectorised with numpy, and notes
    a stray quote.

    Quotes toggle a "quoted" state (an escaped `""` toggles twice), so counting the quotes before a
    byte tells whether it is inside a quoted field: quote number 0, 2, 4... of the stream opens (or,
    right after a closing one, continues an escaped pair), 1, 3, 5... closes. An opening quote must
    follow a delimiter, a line end, the start of the file or the quote just before it; a closing one
    must precede a delimiter, a line end, the end of the file or another quote. This is the
    STRAY_QUOTE rule on the text outside quoted fields, where a quoted field stands as one `"`. The
    state, the last byte and a closing quote ending a chunk carry over to the next chunk.
    """

    def __init__(self) -> None:
        self.in_quotes = False
        self.stray_quote = False
        self._last = ord("\n")  # the last byte so far; a file starts like a line
        self._closing_at_end = False  # the previous chunk ended with a closing quote
        self._head: bytes | None = b""

    def feed(self, chunk: bytes, count: bool = True) -> int:
        """Scan the next chunk; return how many of its newlines are outside quoted fields (0 when
        not `count`ing: the loader's fast path only needs the stray-quote finding)."""
        import numpy as np

        if self._head is not None:  # the file's first bytes: a BOM before a quoted header field is no stray byte
            chunk = self._head + chunk
            if len(chunk) < len(UTF8_BOM) and UTF8_BOM.startswith(chunk):
                self._head = chunk  # perhaps a BOM split across chunks: wait for the rest
                return 0
            self._head = None
            chunk = chunk.removeprefix(UTF8_BOM)
        if not chunk:
            return 0
        if self._closing_at_end and chunk[0] not in FOLLOWS_CLOSING:
            self.stray_quote = True
        self._closing_at_end = False
        if b'"' not in chunk:
            self._last = chunk[-1]
            return 0 if self.in_quotes or not count else chunk.count(b"\n")
        data = np.frombuffer(chunk, np.uint8)
        quotes = np.flatnonzero(data == QUOTE)
        first = 1 if self.in_quotes else 0  # parity of the chunk's first quote
        if not self.stray_quote:
            may_precede, may_follow = _quote_neighbours()
            opening = quotes[first::2]
            before = data[opening - 1]  # a copy; an opening quote at 0 reads the last byte, replaced next
            if opening.size and opening[0] == 0:
                before[0] = self._last
            if not may_precede[before].all():
                self.stray_quote = True
            closing = quotes[1 - first :: 2]
            if closing.size and closing[-1] == len(chunk) - 1:
                self._closing_at_end = True
                closing = closing[:-1]
            if not may_follow[data[closing + 1]].all():
                self.stray_quote = True
        outside = 0
        if count:
            newlines = np.flatnonzero(data == NEWLINE)
            outside = int(np.count_nonzero((np.searchsorted(quotes, newlines) + first) % 2 == 0))
        if quotes.size % 2:
            self.in_quotes = not self.in_quotes
        self._last = chunk[-1]
        return outside


@functools.cache
def _quote_neighbours() -> tuple[Any, Any]:
    """Lookup tables by byte value: may precede an opening quote, may follow a closing one."""
    import numpy as np

    may_precede = np.zeros(256, bool)
    may_precede[list(PRECEDES_OPENING)] = True
    may_follow = np.zeros(256, bool)
    may_follow[list(FOLLOWS_CLOSING_CODES)] = True
    return may_precede, may_follow


class RecordCounter:
    """Counts CSV records in a byte stream at C speed: newlines outside double quotes (QuoteScanner)."""

    def __init__(self) -> None:
        self.newlines = 0
        self.last_byte = b""
        self.quotes = QuoteScanner()

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.newlines += self.quotes.feed(chunk)
        self.last_byte = chunk[-1:]

    @property
    def stray_quote(self) -> bool:
        """A quote that neither opens nor closes a quoted field: count with the csv module instead."""
        return self.quotes.stray_quote

    @property
    def records(self) -> int:
        """Records seen, the header included (a last record without a newline counts too)."""
        return self.newlines + (1 if self.last_byte not in (b"", b"\n") else 0)


def csv_records(text: IO[str]) -> int:
    """Records of a CSV text stream as the csv module (the loader's fallback) reads them, header included.

    The slow, exact count, used only for a file with stray quotes.
    """
    count = 0
    reader = csv.reader(text, strict=False)
    while True:
        try:
            next(reader)
        except StopIteration:
            return count
        except csv.Error:  # a quoted field running to the end of the file: one broken record
            return count + 1
        count += 1


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV file (BOM stripped); an empty or undecodable header is a rejection."""
    with DeliveredFile(path) as delivered:
        try:
            # Only the first line is decoded: bad bytes further down are the rows' problem (quarantine).
            first_line = io.BufferedReader(delivered._stream, CHUNK_BYTES).readline()  # type: ignore[type-var]
            header = next(csv.reader([first_line.decode("utf-8-sig")]), None)
        except UnicodeDecodeError:
            raise DeliveryRejected(f"{path.name}: header row is not UTF-8") from None
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise DeliveryRejected(f"{path.name}: not a readable gzip stream ({err})") from None
        except csv.Error as err:
            raise DeliveryRejected(f"{path.name}: unreadable header row ({err})") from None
    if not header:
        raise DeliveryRejected(f"{path.name}: empty file, no header row (send at least the header)")
    return header


def parquet_header(path: Path) -> list[str]:
    """Column names of a Parquet file; an unreadable file is a rejection."""
    import pyarrow.parquet as pq

    try:
        return list(pq.ParquetFile(path).schema_arrow.names)
    except Exception as err:  # noqa: BLE001 - pyarrow raises many types; all mean "not Parquet"
        raise DeliveryRejected(f"{path.name}: not a readable Parquet file ({err})") from None


def parquet_rows(path: Path) -> int:
    """Row count from the Parquet footer."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def parquet_csv_chunks(path: Path) -> Iterator[bytes]:
    """A Parquet file as CSV text with a header, one record batch at a time (bounded memory).

    Every column is cast to string first, so dates, timestamps and decimals reach SQL as text and
    go through the same validation as CSV; nulls stay empty (= NULL).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    first = True
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        as_text = pa.RecordBatch.from_arrays(
            [pc.cast(column, pa.string()) for column in batch.columns], names=batch.schema.names
        )
        sink = io.BytesIO()
        pacsv.write_csv(as_text, sink, pacsv.WriteOptions(include_header=first, quoting_style="needed"))
        first = False
        yield sink.getvalue()
    if first:  # no batches at all: still a header, so COPY's HEADER option has a line to skip
        yield (",".join(parquet.schema_arrow.names) + "\n").encode()


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
