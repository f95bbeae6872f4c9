"""The other ways to put the same payments file into a typed table, for benchmarks/bench_ingest.py.

Each loads the whole file into an index-free table with the contract's column types (the table the
raw COPY floor writes), and validates nothing: a bad value fails the whole load, there is no
quarantine. They answer one question (issue 25): is a well-kept Arrow -> PostgreSQL encoder faster
than the loader's own binary COPY (arrears.ingest.binary_copy)? If reading + encoding + COPY alone
is not faster than the loader with its validation, adopting the library cannot make the loader faster.

  - client text COPY: the file streamed to `COPY … FROM STDIN (FORMAT csv)`, as `psql \\copy` does;
  - ADBC: Apache Arrow's PostgreSQL driver, `cursor.adbc_ingest` of record batches that pyarrow.csv
    reads with an explicit schema (the driver writes binary COPY itself);
  - pgpq: pyarrow.csv batches encoded by pgpq into binary COPY, streamed through psycopg.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arrears.contract import Entity

BLOCK_BYTES = 1 << 20  # pyarrow read block, as the loader reads (arrears.ingest.reading)


def arrow_schema(entity: Entity) -> Any:
    """The contract's columns as Arrow types; timestamps naive (the file has no offsets)."""
    import pyarrow as pa

    types = {
        "text": pa.string(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
        "amount": pa.decimal128(18, 2),
        "decimal": pa.decimal128(12, 6),
        "integer": pa.int32(),
        "boolean": pa.bool_(),
    }
    return pa.schema([(column.name, types[column.type]) for column in entity.columns])


def typed_batches(path: Path, schema: Any, time_zone: str) -> Iterator[Any]:
    """The file as Arrow record batches of the contract's types; local timestamps in `time_zone`."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
        convert_options=pacsv.ConvertOptions(column_types=schema, strings_can_be_null=True),
    )
    for batch in reader:
        columns = [
            pc.assume_timezone(array, time_zone) if pa.types.is_timestamp(array.type) else array
            for array in batch.columns
        ]
        yield pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def client_text_copy(url: str, table: str, path: Path, time_zone: str) -> float:
    """Seconds to stream the file into `COPY table FROM STDIN (FORMAT csv, HEADER true)` and commit."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute("select set_config('TimeZone', %s, false)", (time_zone,))  # local times, as the loader
        with cursor.copy(f"copy {table} from stdin (format csv, header true)") as copy, path.open("rb") as handle:
            while chunk := handle.read(BLOCK_BYTES):
                copy.write(chunk)
        conn.commit()
    return time.perf_counter() - started


def adbc_ingest(url: str, schema_name: str, table: str, path: Path, schema: Any, time_zone: str) -> float:
    """Seconds for ADBC's `adbc_ingest` (append) of the file's typed batches, committed."""
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa

    started = time.perf_counter()
    batches = typed_batches(path, schema, time_zone)
    first = next(batches)
    reader = pa.RecordBatchReader.from_batches(first.schema, _chain(first, batches))
    with adbc.connect(url) as conn, conn.cursor() as cursor:
        cursor.adbc_ingest(table, reader, mode="append", db_schema_name=schema_name)
        conn.commit()
    return time.perf_counter() - started


def pgpq_copy(url: str, table: str, path: Path, schema: Any, time_zone: str) -> float:
    """Seconds to encode the file's typed batches with pgpq and stream them into a binary COPY, committed."""
    import pgpq
    import psycopg

    started = time.perf_counter()
    batches = typed_batches(path, schema, time_zone)
    first = next(batches)
    encoder = pgpq.ArrowToPostgresBinaryEncoder(first.schema)
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        with cursor.copy(f"copy {table} from stdin (format binary)") as copy:
            copy.write(encoder.write_header())
            for batch in _chain(first, batches):
                copy.write(encoder.write_batch(batch))
            copy.write(encoder.finish())
        conn.commit()
    return time.perf_counter() - started


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def encoder_seconds(entity: Entity, path: Path, schema: Any, time_zone: str, offset_seconds: int) -> dict[str, float]:
    """CPU seconds, no server, to turn the file's text batches (as the loader reads them: every column
    as text) into binary COPY bytes: the loader's own encoder (`binary_copy.encode`, from the sure text)
    against pyarrow's casts to the contract's types followed by pgpq. Each includes its casts; neither
    includes reading the file, the pre-filter or the COPY. `offset_seconds`: the source zone's UTC
    offset, constant over the benchmark's dates."""
    import datetime as dt

    import numpy as np
    import pgpq
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from arrears.ingest import binary_copy

    text = pa.schema([(field.name, pa.string()) for field in schema])
    batches = list(
        pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
            convert_options=pacsv.ConvertOptions(column_types=text, strings_can_be_null=True),
        )
    )
    offset = binary_copy.ConstantOffset(dt.date(1992, 1, 1), dt.date(2050, 1, 1), offset_seconds)
    started = time.process_time()
    first_line = 2
    for batch in batches:
        lines = np.arange(first_line, first_line + batch.num_rows)
        first_line += batch.num_rows
        binary_copy.encode(entity, batch, lines, offset)
    own = time.process_time() - started

    typed = pa.schema(
        [
            field.with_type(pa.timestamp("us", time_zone)) if pa.types.is_timestamp(field.type) else field
            for field in schema
        ]
        + [pa.field("_line", pa.int32())]
    )
    encoder = pgpq.ArrowToPostgresBinaryEncoder(typed)
    started = time.process_time()
    first_line = 2
    encoder.write_header()
    for batch in batches:
        columns = []
        for field in schema:
            values = batch.column(field.name).cast(field.type)
            columns.append(pc.assume_timezone(values, time_zone) if pa.types.is_timestamp(field.type) else values)
        columns.append(pa.array(np.arange(first_line, first_line + batch.num_rows, dtype=np.int32)))
        first_line += batch.num_rows
        encoder.write_batch(pa.RecordBatch.from_arrays(columns, names=typed.names))
    encoder.finish()
    library = time.process_time() - started
    return {"loader's binary_copy.encode": own, "pyarrow casts + pgpq": library}
