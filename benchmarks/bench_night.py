"""The whole night, from the delivery landing to the last file delivered, night after night.

    python -m benchmarks.bench_night --loans 1000000 --days 35 [--home DIR] [--full-nights 1,2,5,30,31] [--write]

In a throw-away $ARREARS_HOME (or `--home`, resumed after its last checked night): simulates `--days` deliveries
once, then runs each night through the functions the DAGs' tasks call, in their order — ingest of the night's
delivery, the dbt build, the quality gate, every recipient's publication (its export, then its SFTP delivery
to a local server: the real asyncssh server of the delivery tests), and the run report. The recipients are
published as the export DAG's mapped `publish` tasks are: one process per recipient, `--publish-workers` at a
time (default 2, this machine's cores; 1 gives the older one-after-the-other figures). Prints one line per
night with the seconds of each stage, the whole night, the peak memory (RSS of this process, where ingest, dbt
and GX run, or of the largest publish process; the PostgreSQL server is not counted) and the machine's load,
and keeps each night's dbt
run_results as $ARREARS_HOME/dbt/run_results_<D>.json. `--write` adds the table to benchmarks/results.md.
Not a test: figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

START = dt.date(2026, 1, 1)
STAGES = ("ingest", "build", "check", "publish", "report")
RESULTS = Path(__file__).with_name("results.md")


def _peak_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def _publish(night: str, recipient: str) -> list[str]:
    """One recipient's export and delivery, in its own process, as the export DAG's mapped task runs it."""
    from arrears.orchestration import steps

    return steps.publish(night, recipient)


def _last_checked_night() -> dt.date | None:
    from arrears.warehouse import connect

    with connect() as conn:
        row = conn.execute("select max(business_date) from audit.dq_results").fetchone()
    return row[0] if row else None


def run_night(
    night: dt.date, landing: Path, *, history_only: bool = False, publish_workers: int = 2
) -> tuple[dict[str, float], list[str]]:
    """One night through every stage; (seconds per stage, problems seen). `history_only` stops after the
    gate: the night is stored and checked (so later nights have their history) but nothing is exported."""
    from arrears.checks import run_checks
    from arrears.export import recipient_names
    from arrears.ingest import ingest_delivery
    from arrears.report import write_report
    from arrears.transform import build

    seconds: dict[str, float] = {}
    problems: list[str] = []

    def timed(stage: str, step: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return step()
        finally:
            seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - started

    timed("ingest", lambda: ingest_delivery(night, landing))
    timed("build", lambda: build(night))
    outcome = timed("check", lambda: run_checks(night))
    if not outcome.success:
        problems.append(f"gate failed: {', '.join(outcome.failed_suites)}")
    if history_only:
        problems.append("history only: not exported")
        return seconds, problems
    timed("publish", lambda: problems.extend(_publish_all(night, recipient_names(), publish_workers)))
    timed("report", lambda: write_report(night))
    return seconds, problems


def _publish_all(night: dt.date, recipients: list[str], workers: int) -> list[str]:
    """Every recipient published, `workers` processes at a time (spawned: a fresh interpreter, like a task's)."""
    problems = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {recipient: pool.submit(_publish, night.isoformat(), recipient) for recipient in recipients}
        for recipient, future in futures.items():
            try:
                lines = future.result()
            except Exception as err:  # noqa: BLE001 - a blocked recipient is a finding of the run, not a crash
                problems.append(f"{recipient}: {str(err).splitlines()[0][:200]}")
                continue
            problems.extend(f"{recipient}: {line}" for line in lines if "skipped (" in line or "failed:" in line)
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=35, help="deliveries simulated (nights run, unless resumed)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", help="ARREARS_HOME to use or resume (default: a new temporary folder)")
    parser.add_argument("--max-nights", type=int, help="stop after this many nights (resume later with --home)")
    parser.add_argument(
        "--full-nights",
        help="comma-separated night numbers run through every stage (default: all); the others stop after the "
        "gate, to build a long history in less time",
    )
    parser.add_argument(
        "--publish-workers", type=int, default=2, help="recipients published at once, as the DAG's mapped tasks (2)"
    )
    parser.add_argument("--write", action="store_true", help="add the table to benchmarks/results.md")
    args = parser.parse_args()

    home = Path(args.home or tempfile.mkdtemp(prefix="arrears_bench_night_"))
    home.mkdir(parents=True, exist_ok=True)
    # One benchmark per home: a second one would wait for the nightly lock, then rerun the night the first just
    # built (a rerun rebuilds the stored tables) and replace its SFTP server's host key.
    home_lock = (home / ".bench_night.lock").open("w")
    try:
        fcntl.flock(home_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"bench_night: another bench_night is running on {home}") from None
    os.environ["ARREARS_HOME"] = str(home)
    os.environ.pop("ARREARS_WAREHOUSE_URL", None)
    os.environ.setdefault("ARREARS_HASH_KEY", "bench-only-key")  # two recipients get keyed hashes

    from arrears.export import recipient_names
    from arrears.generate import generate
    from arrears.warehouse import connect
    from arrears.warehouse.schema import init_schema
    from tests.support.sftp_server import sftp_server

    with connect(autocommit=True) as conn:
        init_schema(conn)
    landing = home / "landing"
    if not landing.exists():
        started = time.perf_counter()
        generate(loans=args.loans, start=START, days=args.days, seed=args.seed, out=landing, inject_faults=0.0)
        print(f"simulate {args.loans:,} loans x {args.days} days: {time.perf_counter() - started:.1f} s", flush=True)
    last = _last_checked_night()
    first = 1 if last is None else (last - START).days + 2
    numbers = list(range(first, args.days + 1))[: args.max_nights]
    print(f"home {home}; nights {numbers[0] if numbers else '-'}..{numbers[-1] if numbers else '-'}", flush=True)

    full_nights = {int(n) for n in args.full_nights.split(",")} if args.full_nights else set(numbers)
    rows: list[str] = []
    with sftp_server(home / "sftp") as server:
        for recipient in recipient_names():
            os.environ[f"AIRFLOW_CONN_ARREARS_SFTP_{recipient.upper()}"] = server.uri(f"/{recipient}")
            (server.root / recipient).mkdir(exist_ok=True)
        for number in numbers:
            night = START + dt.timedelta(days=number - 1)
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            seconds, problems = run_night(
                night, landing, history_only=number not in full_nights, publish_workers=args.publish_workers
            )
            total = time.perf_counter() - started
            load = f"{load_before:.1f}–{os.getloadavg()[0]:.1f}"
            stages = " | ".join(f"{seconds.get(stage, 0.0):.1f}" for stage in STAGES)
            notes = "; ".join(problems) or "every export delivered"
            rows.append(f"| {number} | {night} | **{total:.1f}** | {stages} | {_peak_mib():,.0f} | {load} | {notes} |")
            print(rows[-1], flush=True)
            built = home / "dbt" / "target" / "run_results.json"
            if built.exists():  # each night's dbt node times, for the per-model breakdown
                shutil.copyfile(built, home / "dbt" / f"run_results_{night.isoformat()}.json")
    header = [
        f"| night | date | whole night s | {' s | '.join(STAGES)} s | peak RSS MiB | load | notes |",
        "|---:|---|---:|" + "---:|" * len(STAGES) + "---:|---|---|",
    ]
    table = "\n".join(header + rows)
    print(table)
    if args.write:
        text = RESULTS.read_text(encoding="utf-8")
        title = f"## {dt.date.today()} — The whole night at {args.loans:,} loans (`bench_night`)"
        head, _, rest = text.partition("\n## ")
        RESULTS.write_text(f"{head}\n{title}\n\n{table}\n\n## {rest}", encoding="utf-8")


if __name__ == "__main__":
    main()
