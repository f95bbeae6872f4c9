"""`arrears airflow` (what `make airflow` runs): the Airflow UI and scheduler on the embedded default.

Starts the api-server (UI + execution API), scheduler, dag-processor and triggerer of this home's
Airflow as child processes, all logging under $ARREARS_HOME/airflow/logs/services/. Local use only:
the UI listens on 127.0.0.1 and every visitor is an admin (Airflow's simple auth manager), which is
why the team setup is docker-compose.yml instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from arrears.errors import ArrearsError
from arrears.orchestration import celery_stack
from arrears.orchestration.airflow_env import apply_airflow_environment, ensure_airflow_db

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
DEFAULT_PORT = 8080


def services_environment(port: int) -> dict[str, str]:
    """Environment of the service processes: this home's Airflow, the UI on 127.0.0.1:`port`."""
    env = {**os.environ, **apply_airflow_environment()}
    env.update(
        {
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # the UI is for looking; runs come from `arrears nightly`
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        }
    )
    return env


def _wait_until_up(port: int, processes: dict[str, subprocess.Popen[bytes]], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _require_alive(processes)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise ArrearsError(f"the Airflow api-server did not answer on 127.0.0.1:{port} within {timeout:.0f}s")


def _require_alive(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for component, process in processes.items():
        if process.poll() is not None:
            raise ArrearsError(f"airflow {component} exited with {process.returncode}; see its log")


def _start(name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    """One component in its own process group (so stopping it stops its children), logging to <name>.log."""
    with open(log_dir / f"{name}.log", "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every component (a Celery worker then waits for its running tasks), SIGKILL what is left after 30 s."""
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextmanager
def airflow_services(port: int = DEFAULT_PORT, celery: bool = False) -> Iterator[str]:
    """Run the Airflow components while the block runs; yields the UI's URL.

    With `celery`, the CeleryExecutor stack of celery_stack.py: redis, the four components and two workers
    (stopped before redis, so no worker loses its broker while it shuts down).
    """
    env = services_environment(port)
    airflow_home = Path(env["AIRFLOW_HOME"])
    log_dir = airflow_home / "logs" / "services"
    log_dir.mkdir(parents=True, exist_ok=True)
    broker: dict[str, subprocess.Popen[bytes]] = {}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        workers: list[celery_stack.Component] = []
        if celery:
            redis_port = celery_stack.free_port()
            redis, workers = celery_stack.celery_components(redis_port, airflow_home / "redis")  # needs redis-server
            env.update(celery_stack.celery_environment(celery_stack.ensure_metadata_database(env), redis_port))
            broker[redis.name] = _start(redis.name, redis.argv, env, log_dir)
            celery_stack.wait_for_redis(redis_port)
        else:
            ensure_airflow_db()
        for component in COMPONENTS:
            processes[component] = _start(component, [sys.executable, "-m", "airflow", component], env, log_dir)
        worker_logs = celery_stack.log_sizes(log_dir)
        for worker in workers:
            processes[worker.name] = _start(worker.name, worker.argv, {**env, **worker.env}, log_dir)
        _wait_until_up(port, {**broker, **processes})
        url = f"http://127.0.0.1:{port}"
        if celery:
            celery_stack.wait_for_workers(log_dir, since=worker_logs)
            celery_stack.unpause_chain(url)
            _require_alive({**broker, **processes})
        yield url
    finally:
        _stop(processes)
        _stop(broker)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so `finally` stops the children when a supervisor sends SIGTERM


def serve(port: int = DEFAULT_PORT, celery: bool = False) -> int:
    """Run the services until Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    with airflow_services(port, celery=celery) as url:
        workers = f" with Celery workers {', '.join(celery_stack.WORKERS)}" if celery else ""
        print(f"Airflow UI: {url}{workers}  (logs: $ARREARS_HOME/airflow/logs/services/; Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping Airflow")
    return 0
