"""`arrears demo` (what `make demo` runs): a small simulated portfolio through the real nightly DAG.

Earlier days are backfilled directly (fast); the last few business dates run through Airflow,
exactly as the scheduler would run them. Then a short summary a collections manager can read.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil

from arrears.orchestration.backfill import backfill
from arrears.orchestration.nightly import run_nightly_dag
from arrears.settings import paths
from arrears.warehouse import connect
from arrears.warehouse.schema import init_schema

DEMO_LOANS = 3000
DEMO_DAYS = 8
DEMO_AIRFLOW_DAYS = 3
DEMO_START = dt.date(2026, 10, 1)
DEMO_SEED = 20261001


def run_demo(
    loans: int = DEMO_LOANS, days: int = DEMO_DAYS, airflow_days: int = DEMO_AIRFLOW_DAYS, seed: int = DEMO_SEED
) -> str:
    """Generate, backfill, run the last `airflow_days` nightlies through Airflow; return the summary."""
    from arrears.generate import generate

    home = paths()
    _ensure_demo_hash_key()
    landing = home.landing
    if landing.exists():  # a demo always starts from the same deterministic portfolio
        shutil.rmtree(landing)
    print(generate(loans=loans, start=DEMO_START, days=days, seed=seed, out=landing, inject_faults=0.0))
    with connect() as conn:
        init_schema(conn)
    last = DEMO_START + dt.timedelta(days=days - 1)
    first_airflow = last - dt.timedelta(days=airflow_days - 1)
    if first_airflow > DEMO_START:
        for line in backfill(DEMO_START, first_airflow - dt.timedelta(days=1), landing):
            print(line)
    day = first_airflow
    while day <= last:
        print(run_nightly_dag(day, landing))
        day += dt.timedelta(days=1)
    return summary(last)


def _ensure_demo_hash_key() -> None:
    """Hashed export columns need ARREARS_HASH_KEY; the demo makes one up for its own home if none is set.

    Random and kept under $ARREARS_HOME (never in the repository), so re-running the demo gives the
    same hashes; a real deployment sets its own key in the environment (docs/security.md).
    """
    if os.environ.get("ARREARS_HASH_KEY"):
        return
    key_file = paths().home / "demo-hash-key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        key_file.chmod(0o600)
    os.environ["ARREARS_HASH_KEY"] = key_file.read_text(encoding="utf-8").strip()
    print(f"ARREARS_HASH_KEY is not set: the demo uses a random key kept in {key_file}")


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
