"""Ingest benchmark: the loader against a raw server-side COPY of the same payments file.

    python -m benchmarks.bench_ingest --rows 2000000

Generates a valid payments CSV (numpy + pyarrow, a few seconds), delivers it with a manifest, then
in one throw-away database on the warehouse server times
  1. `COPY <index-free typed table> FROM '<file>' (FORMAT csv, HEADER true)`, server-side: the floor;
  2. the same file streamed by the client into `COPY … FROM STDIN (FORMAT csv)`, as `psql \\copy` does;
  3. `ingest_delivery` (manifest checksum + header, the pyarrow pre-filter and the direct COPY into the
     date's partition — or the landing table and the validating statement for rows it is unsure of —,
     the key index, audit.batches), committed; and the same through the CLI, `arrears ingest --date D`
     as a fresh process (what an Airflow task runs: interpreter start, imports, connection), into a second
     database initialised beforehand;
  4. Apache Arrow's ADBC PostgreSQL driver: `adbc_ingest` of pyarrow.csv batches read with the contract's
     types (benchmarks/ingest_encoders.py; no validation, no quarantine);
  5. pgpq: the same batches encoded to binary COPY by pgpq, streamed through psycopg;
  6. without the server, the encoders alone in CPU seconds: the loader's `binary_copy.encode` of the text
     batches against pyarrow's casts + pgpq (what adopting pgpq would replace);
each into its own index-free table of the contract's types (the loader: the date's partition), and
prints the times, the throughputs, each one's ratio to the floor, and the Python process's peak memory
(the loader streams: it must not grow with the file). The loaded tables are compared (rows, sums of
amount and received_at, distinct value dates), so every way is shown to load the same values.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks import ingest_encoders as encoders

BUSINESS_DATE = dt.date(2026, 11, 21)
ENCODER_OFFSET_SECONDS = 8 * 3600  # the default source zone (Asia/Shanghai) has had no DST since 1991
TABLES = ("copy_floor", "copy_text", "copy_adbc", "copy_pgpq")  # index-free, the contract's types
# What each way loaded, compared with the floor's: rows, money, instants, dates.
FINGERPRINT = (
    "select count(*), sum(amount), sum(extract(epoch from received_at)), count(distinct value_date), "
    "count(distinct payment_id) from {table}"
)
CHANNELS = ["bank_transfer", "alipay", "wechat_pay", "card", "agency", "court", "other"]


def write_payments(path: Path, rows: int, seed: int = 7) -> None:
    """A valid payments.csv of `rows` rows, vectorised (no per-row Python)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    numbers = pa.array(np.arange(1, rows + 1)).cast(pa.string())
    loans = pa.array(rng.integers(1, max(rows // 20, 2), rows)).cast(pa.string())
    start = int(dt.datetime(2026, 11, 21).timestamp())
    received = pa.array(start + rng.integers(0, 86_400, rows), pa.timestamp("s")).cast(pa.string())
    value_days = pa.array(rng.integers(20_400, 20_413, rows).astype("int32"), pa.date32()).cast(pa.string())
    cents = rng.integers(100, 5_000_000, rows)
    whole = pa.array(cents // 100).cast(pa.string())
    fraction = pc.utf8_lpad(pa.array(cents % 100).cast(pa.string()), 2, "0")
    channel = pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, len(CHANNELS), rows)), CHANNELS)
    table = pa.table(
        {
            "payment_id": pc.binary_join_element_wise("PAY", numbers, ""),
            "loan_id": pc.binary_join_element_wise("LN", loans, ""),
            "received_at": received,
            "value_date": value_days,
            "amount": pc.binary_join_element_wise(whole, fraction, "."),
            "channel": channel.cast(pa.string()),
            "reversal_of": pa.nulls(rows, pa.string()),
        }
    )
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def deliver(landing: Path, rows: int) -> Path:
    """The payments file plus its manifest, under landing/<date>/."""
    folder = landing / BUSINESS_DATE.isoformat()
    folder.mkdir(parents=True)
    folder.chmod(0o755)  # the server (possibly another OS user) reads the file for the raw COPY
    path = folder / "payments.csv"
    write_payments(path, rows)
    path.chmod(0o644)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    manifest = {
        "business_date": BUSINESS_DATE.isoformat(),
        "source_system": "benchmark",
        "files": [{"entity": "payments", "file": path.name, "rows": rows, "sha256": digest.hexdigest()}],
    }
    (folder / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return path


def _cli_ingest_seconds(maintenance_url: str, database: str, landing: Path) -> float:
    """Wall seconds of `arrears ingest --date D` as a new process, into its own database (initialised first,
    untimed, by `arrears db init`); the database is dropped afterwards."""
    import subprocess
    import sys

    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as admin:
        admin.execute(f'create database "{database}"')
    env = {**os.environ, "ARREARS_WAREHOUSE_URL": maintenance_url.rsplit("/", 1)[0] + f"/{database}"}
    arrears = [str(Path(sys.executable).with_name("arrears"))]  # the console script, as a DAG task runs it
    try:
        subprocess.run([*arrears, "db", "init"], env=env, check=True, capture_output=True)
        started = time.perf_counter()
        command = [*arrears, "ingest", "--date", BUSINESS_DATE.isoformat(), "--landing", str(landing)]
        subprocess.run(command, env=env, check=True, capture_output=True)
        return time.perf_counter() - started
    finally:
        with psycopg.connect(maintenance_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{database}" with (force)')


class _PhaseLog(logging.Handler):
    """Keeps the loader's phase-timing lines."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()

    import psycopg

    from arrears.contract import load_contract
    from arrears.ingest import ingest_delivery
    from arrears.settings import source_timezone
    from arrears.warehouse import admin_url, connect
    from arrears.warehouse.schema import init_schema

    server = admin_url()
    database = f"bench_ingest_{os.getpid()}"
    maintenance_url = server.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance_url, autocommit=True) as admin:
        admin.execute(f'create database "{database}"')
    os.environ["ARREARS_WAREHOUSE_URL"] = server.rsplit("/", 1)[0] + f"/{database}"
    try:
        with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
            landing = Path(tmp)
            landing.chmod(0o755)
            started = time.perf_counter()
            # In a child process, so this process's peak memory below is the loader's, not numpy's.
            with ProcessPoolExecutor(max_workers=1) as pool:
                path = pool.submit(deliver, landing, args.rows).result()
            generated = time.perf_counter() - started
            size_mb = path.stat().st_size / 1e6

            payments = load_contract().entity("payments")
            columns = ", ".join(f"{column.name} {column.sql_type}" for column in payments.columns)
            with connect() as conn:
                init_schema(conn)
                for table in TABLES:  # committed before timing
                    conn.execute(f"create table public.{table} ({columns})")
                conn.commit()
                zone = source_timezone()  # timestamps without an offset are local times, as the loader reads them
                conn.execute("select set_config('TimeZone', %s, false)", (zone,))
                started = time.perf_counter()
                conn.execute(f"copy public.copy_floor from '{path}' (format csv, header true)")
                conn.commit()
                copy_seconds = time.perf_counter() - started
            url = os.environ["ARREARS_WAREHOUSE_URL"]
            seconds = {
                "client text COPY (psql \\copy style)": encoders.client_text_copy(url, "public.copy_text", path, zone)
            }

            cli_seconds = _cli_ingest_seconds(maintenance_url, f"{database}_cli", landing)

            phases = _PhaseLog()
            logging.getLogger("arrears.ingest").addHandler(phases)
            logging.getLogger("arrears.ingest").setLevel(logging.INFO)
            started = time.perf_counter()
            result = ingest_delivery(BUSINESS_DATE, landing)
            loader_seconds = time.perf_counter() - started

            schema = encoders.arrow_schema(payments)
            seconds["ADBC PostgreSQL driver, adbc_ingest of pyarrow.csv batches"] = encoders.adbc_ingest(
                url, "public", "copy_adbc", path, schema, zone
            )
            seconds["pgpq binary COPY of pyarrow.csv batches"] = encoders.pgpq_copy(
                url, "public.copy_pgpq", path, schema, zone
            )
            encoding = encoders.encoder_seconds(payments, path, schema, zone, ENCODER_OFFSET_SECONDS)
            with connect() as conn:
                loaded = {
                    table: conn.execute(FINGERPRINT.format(table=table)).fetchone()
                    for table in [*(f"public.{name}" for name in TABLES), "raw.payments"]
                }
    finally:
        with psycopg.connect(maintenance_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{database}" with (force)')

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ratio = copy_seconds / loader_seconds
    print(f"| payments rows | {args.rows:,} ({size_mb:.0f} MB CSV, generated in {generated:.1f} s) |")
    print("|---|---|")
    copy_rate = args.rows / copy_seconds
    print(f"| raw server-side COPY (index-free typed table) | {copy_seconds:.2f} s ({copy_rate:,.0f} rows/s) |")
    print(
        f"| loader (manifest checks, validation, COPY, quarantine, key index) | {loader_seconds:.2f} s "
        f"({args.rows / loader_seconds:,.0f} rows/s) |"
    )
    print(f"| loader throughput / COPY throughput | **{ratio:.0%}** (target 60%, stretch 80%) |")
    print(
        f"| `arrears ingest --date D` through the CLI, a fresh process | {cli_seconds:.2f} s "
        f"({args.rows / cli_seconds:,.0f} rows/s) = **{copy_seconds / cli_seconds:.0%} of COPY** (goal 80%) |"
    )
    for way, way_seconds in seconds.items():
        print(
            f"| {way} | {way_seconds:.2f} s ({args.rows / way_seconds:,.0f} rows/s, "
            f"{copy_seconds / way_seconds:.0%} of COPY, loader / this {way_seconds / loader_seconds:.0%}) |"
        )
    print(f"| loaded / quarantined | {result.loaded:,} / {result.quarantined:,} |")
    print(f"| of which (loader log) | {'; '.join(phases.lines)} |")
    print(f"| peak memory of the bench's Python process (loader, ADBC, pgpq) | {peak_mb:.0f} MB |")
    for encoder, cpu in encoding.items():
        print(f"| encoder alone, text batches -> binary COPY bytes: {encoder} | {cpu:.2f} CPU s |")
    floor = loaded["public.copy_floor"]
    for table, fingerprint in loaded.items():
        same = "same values as the floor" if fingerprint == floor else f"DIFFERS from the floor {floor}"
        print(f"| {table} | {fingerprint[0]:,} rows, {same} |")


if __name__ == "__main__":
    main()
