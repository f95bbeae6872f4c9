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

from arrears.errors import ArrearsError
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


def _wait_until_up(port: int, processes: list[subprocess.Popen[bytes]], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for component, process in zip(COMPONENTS, processes, strict=False):
            if process.poll() is not None:
                raise ArrearsError(f"airflow {component} exited with {process.returncode}; see its log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise ArrearsError(f"the Airflow api-server did not answer on 127.0.0.1:{port} within {timeout:.0f}s")


@contextmanager
def airflow_services(port: int = DEFAULT_PORT) -> Iterator[str]:
    """Run the Airflow components while the block runs; yields the UI's URL."""
    airflow_home = ensure_airflow_db()
    env = services_environment(port)
    log_dir = airflow_home / "logs" / "services"
    log_dir.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for component in COMPONENTS:
            log = open(log_dir / f"{component}.log", "ab")  # noqa: SIM115 - closed with the process
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "airflow", component],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        _wait_until_up(port, processes)
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so `finally` stops the children when a supervisor sends SIGTERM


def serve(port: int = DEFAULT_PORT) -> int:
    """Run the services until Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    with airflow_services(port) as url:
        print(f"Airflow UI: {url}  (logs: $ARREARS_HOME/airflow/logs/services/; Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping Airflow")
    return 0
