"""`arrears airflow --celery` (what `make airflow-celery` runs): the DAGs on two Celery workers on this machine.

What differs from the LocalExecutor default (services.py), and why:
- the metadata DB is PostgreSQL, a separate `airflow` database (owned by an `airflow` role) on this home's
  embedded server: workers on other boxes and Celery's result backend need a database server, not SQLite;
  it is also that result backend;
- the broker is Debian's `redis-server`, run by us on a free loopback port with its files under
  $ARREARS_HOME/airflow/redis (nothing kept on disk: a lost queued task is re-queued by the scheduler);
- two workers, `worker-1@<host>` and `worker-2@<host>`, each consuming the shared `default` queue and a queue
  of its own name (to pin a task to one worker); each task instance records the worker's name as its hostname;
- the scheduler creates runs from Assets (the chain after the first link), while the first link's cron is off
  (ARREARS_NIGHTLY_SCHEDULE=off): a night is triggered for a date, like `arrears nightly`, instead of the
  scheduler catching up every night since the DAG's start date. See docs/decisions/020-celery-workers.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arrears.errors import ArrearsError
from arrears.settings import NIGHTLY_DAG_CHAIN, Paths, paths

WORKERS = ("worker-1", "worker-2")
WORKER_CONCURRENCY = 2  # task slots per worker: 2 x 2 on a 2-core machine
DEFAULT_QUEUE = "default"  # Airflow's [operators] default_queue
METADATA_ROLE = "airflow"
METADATA_DATABASE = "airflow"
WORKER_NAME_VARIABLE = "ARREARS_CELERY_WORKER"  # set in each worker's environment, read by worker_hostname()


def worker_hostname() -> str:
    """Airflow's [core] hostname_callable on the Celery stack: the Celery node name of the worker running the
    task (`worker-1@host`), so two workers on one machine are told apart in task_instance.hostname."""
    return os.environ.get(WORKER_NAME_VARIABLE) or socket.getfqdn()


def node_name(worker: str) -> str:
    """The worker's Celery node name, as `celery worker -n worker-1@%h` spells it."""
    return f"{worker}@{socket.gethostname()}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Component:
    """One process of the stack: its name (its log file), command line and extra environment."""

    name: str
    argv: list[str]
    env: dict[str, str]


def redis_server() -> str:
    """Path of Debian's redis-server, or a one-line error saying how to get it."""
    found = shutil.which("redis-server")
    if found is None:
        raise ArrearsError(
            "redis-server is not installed (the Celery broker): run scripts/install-system-packages.sh "
            "as root, or `apt-get install redis-server`"
        )
    return found


def metadata_url(home: Paths | None = None, driver: str = "psycopg2") -> str:
    """SQLAlchemy URL of the Airflow metadata DB on this home's embedded server (started if needed).

    Airflow also opens it asynchronously: by default with asyncpg, which we do not install; psycopg 3
    (already here for the warehouse) serves as `psycopg_async`.
    """
    from arrears.warehouse import embedded

    home = home or paths()
    admin = embedded.start(home)  # postgresql://postgres@127.0.0.1:<port>/arrears
    server = admin.rsplit("@", 1)[1].rsplit("/", 1)[0]
    return f"postgresql+{driver}://{METADATA_ROLE}@{server}/{METADATA_DATABASE}"


def metadata_environment(home: Paths | None = None) -> dict[str, str]:
    """Airflow's settings for that database, synchronous and asynchronous."""
    return {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url(home, driver="psycopg_async"),
    }


def ensure_metadata_database(env: dict[str, str], home: Paths | None = None) -> dict[str, str]:
    """Create the `airflow` role and database if absent and bring the schema up to date (`airflow db migrate`
    in `env`, the stack's environment); returns metadata_environment()."""
    import psycopg

    from arrears.warehouse import embedded

    home = home or paths()
    metadata = metadata_environment(home)
    with psycopg.connect(embedded.url(home), autocommit=True) as admin:
        if not admin.execute("select 1 from pg_roles where rolname = %s", (METADATA_ROLE,)).fetchone():
            admin.execute(f"create role {METADATA_ROLE} login")
        if not admin.execute("select 1 from pg_database where datname = %s", (METADATA_DATABASE,)).fetchone():
            admin.execute(f"create database {METADATA_DATABASE} owner {METADATA_ROLE}")
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env={**env, **metadata},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ArrearsError(f"airflow db migrate (PostgreSQL metadata DB) failed: {tail[0]}")
    return metadata


def celery_environment(metadata: dict[str, str], redis_port: int) -> dict[str, str]:
    """What every process of the Celery stack gets on top of services_environment()."""
    return {
        **metadata,
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
        # Assets trigger the chain; the first link's cron stays off (module docstring).
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True",
        "ARREARS_NIGHTLY_SCHEDULE": "off",
    }


def celery_components(redis_port: int, redis_dir: Path) -> tuple[Component, list[Component]]:
    """The broker (started before Airflow) and the two workers (started with it)."""
    redis_dir.mkdir(parents=True, exist_ok=True)
    broker = Component(
        "redis",
        [redis_server(), "--bind", "127.0.0.1", "--port", str(redis_port), "--dir", str(redis_dir)]
        + ["--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no"],
        {},
    )
    workers = [
        Component(
            worker,
            [sys.executable, "-m", "airflow", "celery", "worker", "--celery-hostname", f"{worker}@%h"]
            + ["--queues", f"{DEFAULT_QUEUE},{worker}", "--concurrency", str(WORKER_CONCURRENCY)]
            # Both workers write task logs into this home's log folder, which the api-server reads directly.
            + ["--skip-serve-logs"],
            {WORKER_NAME_VARIABLE: node_name(worker)},
        )
        for worker in WORKERS
    ]
    return broker, workers


def wait_for_redis(port: int, timeout: float = 30.0) -> None:
    """Return once redis answers PING on the port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise ArrearsError(f"redis-server did not answer on 127.0.0.1:{port} within {timeout:.0f}s; see its log")


def log_sizes(log_dir: Path) -> dict[str, int]:
    """How long each worker's log is before a start (logs are appended to across starts)."""
    return {worker: _size(log_dir / f"{worker}.log") for worker in WORKERS}


def wait_for_workers(log_dir: Path, since: dict[str, int], timeout: float = 180.0) -> None:
    """Return once every worker logged Celery's `<name> ready.` line after `since` (log_sizes before the start)."""
    deadline = time.monotonic() + timeout
    waiting = list(WORKERS)
    while waiting and time.monotonic() < deadline:
        waiting = [w for w in waiting if f"{node_name(w)} ready." not in _read(log_dir / f"{w}.log", since[w])]
        if waiting:
            time.sleep(1)
    if waiting:
        raise ArrearsError(f"Celery {', '.join(waiting)} not ready within {timeout:.0f}s; see {log_dir}")


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _read(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def api(base_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One call to Airflow's REST API (the stack's simple auth manager makes every caller an admin)."""
    request = urllib.request.Request(
        f"{base_url}/api/v2{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")[:300]
        raise ArrearsError(f"Airflow API {method} {path}: HTTP {err.code}: {detail}") from err


def unpause_chain(base_url: str, timeout: float = 180.0) -> None:
    """Unpause the nightly chain once the dag-processor has registered it (the other DAGs stay paused)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            for dag_id in NIGHTLY_DAG_CHAIN:
                api(base_url, "PATCH", f"/dags/{dag_id}", {"is_paused": False})
            return
        except ArrearsError as err:
            if "HTTP 404" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(2)


def trigger_night(base_url: str, business_date: dt.date) -> str:
    """Queue collections_nightly for one business date on the scheduler; returns the run id."""
    from arrears.orchestration.dates import run_time_for_business_date

    body = {
        "logical_date": run_time_for_business_date(business_date).isoformat(),
        "conf": {"business_date": business_date.isoformat()},
    }
    return str(api(base_url, "POST", f"/dags/{NIGHTLY_DAG_CHAIN[0]}/dagRuns", body)["dag_run_id"])


def wait_for_chain(base_url: str, timeout: float, poll: float = 5.0) -> dict[str, str]:
    """Wait until every DAG of the chain has a finished run; returns {dag_id: state of its latest run}.

    Fails as soon as one of them failed, naming it.
    """
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        for dag_id in NIGHTLY_DAG_CHAIN:
            runs = api(base_url, "GET", f"/dags/{dag_id}/dagRuns?order_by=-run_after&limit=1")["dag_runs"]
            states[dag_id] = runs[0]["state"] if runs else "none"
            if states[dag_id] == "failed":
                raise ArrearsError(f"{dag_id} failed on the Celery stack: see its task logs")
        if all(state == "success" for state in states.values()):
            return states
        time.sleep(poll)
    raise ArrearsError(f"the nightly chain did not finish within {timeout:.0f}s: {states}")
