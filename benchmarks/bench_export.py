"""Checks and export at size: a queue of N rows (one team) exported with the borrower join and privacy policies.

Builds a throw-away home with its own embedded warehouse, fills the stand-in marts and pii.borrowers
with N synthetic rows by SQL, then times (a) the gate suites on the queue and snapshot, pushed down
by GX, and (b) `export_recipient` for a collector file (masking, Chinese headers, BOM CSV) and the
SMS gateway file (keyed hash). Target (issue 7): a 1,000,000-row queue export in at most 20 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

D = dt.date(2024, 3, 5)

FILL = """
insert into marts.fct_loan_delinquency_daily
select %(day)s, 'L' || n, 'B' || n, 'CASH', 'active', 30000, 1, 1 + n %% 30,
       'M1', 'early', 'special_mention', 900, 80, 20, 1000, 20000, 10000, %(day)s - (1 + n %% 30), %(day)s + 5
from generate_series(1, %(rows)s) as n;
insert into marts.fct_work_queue
select %(day)s, %(day)s + 1, 'L' || n, 'B' || n, 'early', array['call', 'sms'], n, null, 1 + n %% 30, 'M1', 1000
from generate_series(1, %(rows)s) as n;
insert into pii.borrowers (borrower_id, full_name, national_id, mobile_phone, email, province, city, address,
                           birth_date, updated_at, _business_date, _file, _line, _loaded_at)
select 'B' || n, '张三' || n, '310101199001' || lpad((n %% 1000000)::text, 6, '0'), '139' || lpad(n::text, 8, '0'),
       'b' || n || '@example.com', '上海市', '上海市', '上海市黄浦区南京东路' || n || '号', date '1990-01-01',
       now(), %(day)s, 'borrowers.csv', n, now()
from generate_series(1, %(rows)s) as n;
"""


def _recipients_file(home: Path) -> str:
    """The shipped `early` recipient, plus the same file with a keyed-hash column, for the hashing cost."""
    import yaml

    from arrears.routing.rules import RECIPIENTS_FILE

    config = yaml.safe_load(RECIPIENTS_FILE.read_text(encoding="utf-8"))
    early = config["recipients"]["early"]
    hashed = {**early, "columns": [*early["columns"], {"name": "borrower_key", "policy": "hashed"}]}
    config["recipients"] = {"early": early, "hashed": hashed}
    path = home / "recipients.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_export_") as home:
        os.environ["ARREARS_HOME"] = home
        os.environ.pop("ARREARS_WAREHOUSE_URL", None)
        os.environ.setdefault("ARREARS_HASH_KEY", "benchmark-key")
        os.environ["ARREARS_RECIPIENTS_FILE"] = _recipients_file(Path(home))
        from arrears.contract.ddl import ensure_partition
        from arrears.settings import Paths
        from arrears.warehouse import connect, embedded
        from arrears.warehouse.schema import init_schema
        from tests.support.marts import create_marts

        try:
            with connect(autocommit=True) as conn:
                init_schema(conn)
                create_marts(conn)
                ensure_partition(conn, "borrowers", D)
                started = time.perf_counter()
                for statement in filter(str.strip, FILL.split(";")):
                    conn.execute(statement, {"day": D, "rows": args.rows})
                conn.execute("analyze")
                fill_seconds = time.perf_counter() - started
            from arrears.checks import run_suites
            from arrears.export import export_recipient

            started = time.perf_counter()
            outcome = run_suites(D, ["fct_loan_delinquency_daily", "fct_work_queue", "export_early", "export_predue"])
            check_seconds = time.perf_counter() - started
            timings = []
            for name in ("early", "hashed"):
                started = time.perf_counter()
                written = export_recipient(D, name) if outcome.success else None
                size = (
                    f"{written.files[0].rows:,} rows, {written.files[0].path.stat().st_size / 1e6:.0f} MB"
                    if written
                    else "-"
                )
                timings.append((name, time.perf_counter() - started, size))
        finally:
            embedded.stop(Paths(Path(home)))
    print(f"| step ({args.rows:,} queue rows) | seconds | note |")
    print("|---|---:|---|")
    print(f"| fill stand-in marts + borrowers (SQL) | {fill_seconds:.1f} | setup, not a product figure |")
    print(f"| GX gate: 4 suites, pushed down | {check_seconds:.1f} | {'passed' if outcome.success else 'FAILED'} |")
    for name, seconds, note in timings:
        what = "masked ID, Chinese headers" if name == "early" else "+ keyed hash column"
        print(f"| export `{name}` ({what}, BOM CSV, manifest) | {seconds:.1f} | {note} |")


if __name__ == "__main__":
    main()
