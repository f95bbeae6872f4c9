"""Checks and export at size: a queue of N rows (one team) exported with the borrower join and privacy policies.

Builds a throw-away home with its own embedded warehouse, fills the stand-in marts and pii.borrowers
with N synthetic rows by SQL, then times (a) the gate suites on the queue and snapshot, pushed down
by GX, and (b) `export_recipient` for a collector file (masking, Chinese headers, BOM CSV) and the
SMS gateway file (keyed hash). Target (issue 7): a 1,000,000-row queue export in at most 20 s. The
collector file is the dialer's: window and caps per row, and its numbers file (an own number per row,
a locate-only third-party number on one row in five, from fct_work_queue_contacts and pii.contact_points).
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
insert into marts.fct_loan_delinquency_daily (
    business_date, loan_id, borrower_id, product_code, loan_status, principal, schedule_version, dpd, bucket, stage,
    regulatory_class, overdue_principal, overdue_interest, overdue_fee, overdue_amount, outstanding_principal,
    net_paid, oldest_unpaid_due_date, next_due_date
)
select %(day)s, 'L' || n, 'B' || n, 'CASH', 'active', 30000, 1, 1 + n %% 30,
       'M1', 'early', 'special_mention', 900, 80, 20, 1000, 20000, 10000, %(day)s - (1 + n %% 30), %(day)s + 5
from generate_series(1, %(rows)s) as n;
insert into marts.fct_work_queue (
    business_date, work_date, loan_id, borrower_id, team_id, allowed_channels, priority_rank, reason, dpd, bucket,
    overdue_amount, recipient
)
select %(day)s, %(day)s + 1, 'L' || n, 'B' || n, 'early', array['call', 'sms'], n, null, 1 + n %% 30, 'M1', 1000,
       'early'
from generate_series(1, %(rows)s) as n;
insert into pii.borrowers (borrower_id, full_name, national_id, mobile_phone, email, province, city, address,
                           birth_date, updated_at, _business_date, _file, _line, _loaded_at)
select 'B' || n, '张三' || n, '310101199001' || lpad((n %% 1000000)::text, 6, '0'), '139' || lpad(n::text, 8, '0'),
       'b' || n || '@example.com', '上海市', '上海市', '上海市黄浦区南京东路' || n || '号', date '1990-01-01',
       now(), %(day)s, 'borrowers.csv', n, now()
from generate_series(1, %(rows)s) as n;
update marts.fct_work_queue
set contact_timezone = 'Asia/Shanghai', contact_window_start = '08:00', contact_window_end = '22:00',
    max_connected_calls_per_day_per_borrower = 3, max_unanswered_attempts_per_day_per_number = 6;
insert into pii.contact_points (contact_point_id, borrower_id, kind, relationship, phone, is_valid, updated_at,
                                _business_date, _file, _line, _loaded_at)
select 'CP' || n || v.k, 'B' || n, v.kind, v.relationship, v.prefix || lpad(n::text, 8, '0'), true, now(),
       %(day)s, 'contact_points.csv', 2 * n + v.line, now()
from generate_series(1, %(rows)s) as n
cross join (values ('a', 'own_mobile', null, '138', 0), ('b', 'emergency_contact', 'spouse', '137', 1))
    as v(k, kind, relationship, prefix, line);
insert into marts.fct_work_queue_contacts
select %(day)s, 'L' || n, 'CP' || n || 'a', 'own_mobile', false from generate_series(1, %(rows)s) as n
union all
select %(day)s, 'L' || n, 'CP' || n || 'b', 'emergency_contact', true from generate_series(1, %(rows)s) as n
where n %% 5 = 0;
"""


# The queue rewritten in an order unrelated to the file's (a hash of the loan id).
SHUFFLE_QUEUE = """
create temporary table queue_shuffled as select * from marts.fct_work_queue order by md5(loan_id);
delete from marts.fct_work_queue;
insert into marts.fct_work_queue select * from queue_shuffled;
drop table queue_shuffled
"""


def _recipients_file(home: Path, name: str) -> str:
    """A recipients file with one recipient: the shipped `early`, or (`hashed`) it plus a keyed-hash column.

    One recipient per file: two recipients of one team with the same channels would split its rows
    (the first takes them all, by the routing rule), and each export must carry the whole queue.
    """
    import yaml

    from arrears.routing.rules import RECIPIENTS_FILE

    config = yaml.safe_load(RECIPIENTS_FILE.read_text(encoding="utf-8"))
    early = config["recipients"]["early"]
    hashed = {**early, "columns": [*early["columns"], {"name": "borrower_key", "policy": "hashed"}]}
    config["recipients"] = {name: early if name == "early" else hashed}
    path = home / f"recipients_{name}.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--queue-order",
        choices=("priority", "random"),
        default="priority",
        help="physical order of the queue rows: as the file lists them (default), or none in particular, as a"
        " dbt-built queue may hold them (the file's sort then has real work to do)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_export_") as home:
        os.environ["ARREARS_HOME"] = home
        os.environ.pop("ARREARS_WAREHOUSE_URL", None)
        os.environ.setdefault("ARREARS_HASH_KEY", "benchmark-key")
        os.environ["ARREARS_RECIPIENTS_FILE"] = _recipients_file(Path(home), "early")
        from arrears.contract.ddl import ensure_partition
        from arrears.settings import Paths
        from arrears.warehouse import connect, embedded
        from arrears.warehouse.schema import init_schema
        from tests.support.marts import create_marts, record_delivery

        try:
            with connect(autocommit=True) as conn:
                init_schema(conn)
                create_marts(conn)
                ensure_partition(conn, "borrowers", D)
                ensure_partition(conn, "contact_points", D)
                started = time.perf_counter()
                for statement in filter(str.strip, FILL.split(";")):
                    conn.execute(statement, {"day": D, "rows": args.rows})
                if args.queue_order == "random":
                    conn.execute(SHUFFLE_QUEUE)
                record_delivery(conn, D)  # the gate refuses a date without a loaded delivery
                conn.execute("analyze")
                fill_seconds = time.perf_counter() - started
            from arrears.checks import run_suites
            from arrears.export import export_recipient

            started = time.perf_counter()
            outcome = run_suites(D, ["fct_loan_delinquency_daily", "fct_work_queue", "export_early", "export_predue"])
            check_seconds = time.perf_counter() - started
            if not outcome.success:
                print(outcome.summary())
            timings = []
            for name in ("early", "hashed"):
                os.environ["ARREARS_RECIPIENTS_FILE"] = _recipients_file(Path(home), name)
                if name != "early":  # the build routes each row to its one recipient: route them to this one
                    with connect(autocommit=True) as conn:
                        conn.execute("update marts.fct_work_queue set recipient = %s", (name,))
                        conn.execute("vacuum analyze marts.fct_work_queue")
                started = time.perf_counter()
                written = export_recipient(D, name) if outcome.success else None
                size = (
                    "; ".join(f"{item.rows:,} lines, {item.path.stat().st_size / 1e6:.0f} MB" for item in written.files)
                    if written
                    else "-"
                )
                timings.append((name, time.perf_counter() - started, size))
        finally:
            embedded.stop(Paths(Path(home)))
    print(f"| step ({args.rows:,} queue rows, queue order {args.queue_order}) | seconds | note |")
    print("|---|---:|---|")
    print(f"| fill stand-in marts + borrowers (SQL) | {fill_seconds:.1f} | setup, not a product figure |")
    print(f"| GX gate: 4 suites, pushed down | {check_seconds:.1f} | {'passed' if outcome.success else 'FAILED'} |")
    for name, seconds, note in timings:
        what = "masked ID, Chinese headers, window and caps" if name == "early" else "+ keyed hash column"
        print(f"| export `{name}` ({what}, BOM CSV + numbers file, manifest) | {seconds:.1f} | {note} |")


if __name__ == "__main__":
    main()
