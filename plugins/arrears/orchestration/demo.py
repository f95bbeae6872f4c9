"""`arrears demo` (what `make demo` runs): a small simulated portfolio through the real nightly DAG.

Earlier days are backfilled directly (fast); the last few business dates run through Airflow,
exactly as the scheduler would run them. Then a short summary a collections manager can read.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil

from arrears.orchestration.chain import dates_between, run_day
from arrears.orchestration.nightly import run_nightly_dag
from arrears.orchestration.progress import Progress, bar, output_to_log
from arrears.settings import paths
from arrears.warehouse import connect
from arrears.warehouse.locks import NIGHTLY_LOCK
from arrears.warehouse.schema import ensure_schema

DEMO_LOANS = 3000
DEMO_DAYS = 8
DEMO_AIRFLOW_DAYS = 3
DEMO_START = dt.date(2026, 10, 1)
DEMO_SEED = 20261001


def run_demo(
    loans: int = DEMO_LOANS, days: int = DEMO_DAYS, airflow_days: int = DEMO_AIRFLOW_DAYS, seed: int = DEMO_SEED
) -> str:
    """Generate, backfill, run the last `airflow_days` nightlies through Airflow; return the summary.

    The terminal gets one line per stage and date; everything the libraries print goes to $ARREARS_HOME/logs/.
    """
    home = paths()
    log_file = home.logs / f"demo-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.log"
    last = DEMO_START + dt.timedelta(days=days - 1)
    first_airflow = max(last - dt.timedelta(days=airflow_days - 1), DEMO_START)
    with output_to_log(log_file) as progress:
        progress.line(
            f"arrears demo: {loans:,} loans, {days} days from {DEMO_START} (from {first_airflow} through Airflow); "
            f"full logs: {log_file}"
        )
        key_note = _ensure_demo_hash_key()
        if key_note:
            progress.line(key_note)
        _generate_and_prepare(progress, loans, days, seed)
        if first_airflow > DEMO_START:
            _backfill_days(progress, list(dates_between(DEMO_START, first_airflow - dt.timedelta(days=1))))
        nights = list(dates_between(first_airflow, last))
        for done, day in enumerate(nights, start=1):
            with progress.step(f"{'nightly':<9}  {bar(done, len(nights))} {day}") as outcome:
                outcome.append(run_nightly_dag(day, home.landing))
    return summary(last)


def _generate_and_prepare(progress: Progress, loans: int, days: int, seed: int) -> None:
    """A demo always starts from the same deterministic portfolio, in a warehouse with the current schema."""
    from arrears.generate import generate

    landing = paths().landing
    with progress.step("generate ") as outcome:
        if landing.exists():
            shutil.rmtree(landing)
        print(generate(loans=loans, start=DEMO_START, days=days, seed=seed, out=landing, inject_faults=0.0))
        outcome.append(f"{days} daily deliveries in {landing}")
    from arrears.warehouse import embedded, external_url

    new = not external_url() and not embedded.exists(paths())
    with progress.step("warehouse") as outcome, connect() as conn:
        ensure_schema(conn)
        outcome.append(f"created in {paths().warehouse_dir}" if new else "ready")


def _backfill_days(progress: Progress, days: list[dt.date]) -> None:
    """The earlier dates without a scheduler (the same functions the DAG's tasks call), one line each."""
    from arrears.warehouse.locks import exclusive

    with exclusive(NIGHTLY_LOCK):
        for done, day in enumerate(days, start=1):
            with progress.step(f"{'backfill':<9}  {bar(done, len(days))} {day}") as outcome:
                lines = run_day(day, paths().landing)
                print("\n".join(lines))  # the full step summaries go to the log
                outcome.append(lines[2].rsplit(": ", 1)[-1])  # the quality gate's verdict


def _ensure_demo_hash_key() -> str | None:
    """Hashed export columns need a key; without ARREARS_HASH_KEY the demo writes a random one to
    $ARREARS_HOME/hash-key, where every later command of this home finds it (docs/security.md).

    Random and kept under $ARREARS_HOME (never in the repository), so re-running the demo gives the
    same hashes; a real deployment sets its own key in the environment. Returns a note for the user.
    """
    if os.environ.get("ARREARS_HASH_KEY"):
        return None
    key_file = paths().hash_key_file
    if key_file.exists():
        return None
    key_file.parent.mkdir(parents=True, exist_ok=True)
    old_demo_key = paths().home / "demo-hash-key"  # where earlier versions kept it
    key = old_demo_key.read_text(encoding="utf-8") if old_demo_key.exists() else secrets.token_hex(32) + "\n"
    key_file.write_text(key, encoding="utf-8")
    key_file.chmod(0o600)
    return f"ARREARS_HASH_KEY is not set: hashed export columns use a random key kept in {key_file}"


def summary(business_date: dt.date) -> str:
    """Loans by stage, queue sizes per team, the data-quality result and where the files are."""
    with connect() as conn:
        stages = conn.execute(
            "select stage, count(*) from marts.fct_loan_delinquency_daily where business_date = %s "
            "group by stage order by count(*) desc",
            (business_date,),
        ).fetchall()
        queues = conn.execute(
            "select coalesce(team_id, 'held: ' || reason), count(*) from marts.fct_work_queue "
            "where business_date = %s group by 1 order by 2 desc",
            (business_date,),
        ).fetchall()
        checks = conn.execute(
            "select count(*) filter (where success), count(*) filter (where not success) from audit.dq_results "
            "where run_id = (select run_id from audit.dq_results where business_date = %s "
            "order by checked_at desc limit 1)",
            (business_date,),
        ).fetchone()
    passed, failed = checks if checks else (0, 0)
    lines = [f"== arrears demo: business date {business_date} ==", "Loans by stage:"]
    lines += [f"  {stage:<14} {count:>8,}" for stage, count in stages]
    lines.append("Work queue for tomorrow, per team:")
    lines += [f"  {team:<30} {count:>8,}" for team, count in queues]
    lines.append(f"Data quality: {passed} expectations passed, {failed} failed")
    lines.append(f"Exports: {paths().exports}/<recipient>/{business_date}/")
    return "\n".join(lines)
