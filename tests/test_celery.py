"""The DAGs under CeleryExecutor: `arrears airflow --celery` (make airflow-celery) runs redis, the scheduler,
dag-processor, api-server, triggerer and two Celery workers; one night triggered through the scheduler completes
and its mapped tasks ran on both workers."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from arrears.orchestration import celery_stack
from arrears.settings import NIGHTLY_DAG_CHAIN
from tests.conftest import REPO_ROOT, run_cli

NIGHT = dt.date(2026, 10, 1)
STACK_START_SECONDS = 240
CHAIN_SECONDS = 300
MAPPED_TASKS = {("collections_nightly", "load_entity"), ("collections_export", "publish")}


def test_without_redis_the_celery_stack_says_how_to_install_it(tmp_path: Path) -> None:
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    result = run_cli("airflow", "--celery", env={"ARREARS_HOME": str(tmp_path / "home"), "PATH": str(empty_path)})
    assert result.returncode == 1
    assert "redis-server is not installed" in result.stderr and "install-system-packages.sh" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "home" / "warehouse").exists(), "nothing starts before the broker is known to exist"


def test_the_nightly_schedule_can_be_left_to_triggers(monkeypatch: pytest.MonkeyPatch) -> None:
    from arrears.orchestration.dag_defaults import nightly_schedule

    monkeypatch.delenv("ARREARS_NIGHTLY_SCHEDULE", raising=False)
    assert nightly_schedule() == "0 2 * * *"
    monkeypatch.setenv("ARREARS_NIGHTLY_SCHEDULE", "off")
    assert nightly_schedule() is None
    monkeypatch.setenv("ARREARS_NIGHTLY_SCHEDULE", "hourly")
    with pytest.raises(ValueError, match="'cron' or 'off'"):
        nightly_schedule()


@pytest.fixture(scope="module")
def celery_night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A tmp home with a tiny book; the Celery stack started; one night triggered and finished; stack stopped."""
    if shutil.which("redis-server") is None:
        pytest.skip("Debian's redis-server is not installed (scripts/install-system-packages.sh installs it)")
    home = tmp_path_factory.mktemp("celery_home")
    env = {**os.environ, "ARREARS_HOME": str(home), "ARREARS_HASH_KEY": "celery-test-key"}
    for inherited in ("ARREARS_WAREHOUSE_URL", "ARREARS_LANDING", "AIRFLOW_HOME", "ARREARS_NIGHTLY_SCHEDULE"):
        env.pop(inherited, None)
    generated = run_cli(
        "generate", "--loans", "300", "--start", NIGHT.isoformat(), "--days", "1", "--seed", "26",
        "--out", str(home / "landing"), env=env,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr[-2000:]
    port = celery_stack.free_port()
    stack = subprocess.Popen(
        [sys.executable, "-m", "arrears.cli", "airflow", "--celery", "--port", str(port)],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    result: dict[str, object] = {"home": home, "url": url}
    started = time.monotonic()
    try:
        assert stack.stdout is not None
        for line in stack.stdout:  # the command prints the URL once every component (both workers too) is up
            if "Airflow UI:" in line:
                break
        else:
            pytest.fail(f"arrears airflow --celery exited ({stack.wait()}) before it was up; logs in {home}/airflow")
        result["start_seconds"] = time.monotonic() - started
        assert result["start_seconds"] < STACK_START_SECONDS
        started = time.monotonic()
        celery_stack.trigger_night(url, NIGHT)
        result["states"] = celery_stack.wait_for_chain(url, timeout=CHAIN_SECONDS)
        result["chain_seconds"] = time.monotonic() - started
        metadata = (
            f"postgresql://{celery_stack.METADATA_ROLE}@127.0.0.1:{(home / 'warehouse' / 'port').read_text().strip()}"
        )
        with psycopg.connect(f"{metadata}/{celery_stack.METADATA_DATABASE}") as conn:
            result["task_instances"] = conn.execute(
                "select dag_id, task_id, map_index, state, hostname from task_instance"
            ).fetchall()
    finally:
        stopping = time.monotonic()
        stack.send_signal(signal.SIGTERM)
        result["exit_code"] = stack.wait(timeout=120)
        result["stop_seconds"] = time.monotonic() - stopping
        run_cli("db", "stop", env=env)
        result["left_running"] = _processes_mentioning(str(home))
    yield result


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention `text` (redis's --dir, postgres's -D name the home)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and int(proc.name) != os.getpid() and text in cmdline:
            found.append(cmdline)
    return found


@pytest.mark.slow
def test_a_night_under_celery_completes_through_the_scheduler(celery_night: dict[str, object]) -> None:
    assert celery_night["states"] == dict.fromkeys(NIGHTLY_DAG_CHAIN, "success")
    rows = celery_night["task_instances"]
    assert isinstance(rows, list)
    loads = [row for row in rows if row[:2] == ("collections_nightly", "load_entity")]
    assert len(loads) == 9 and {row[3] for row in loads} == {"success"}  # one mapped task per landing entity
    from arrears.export import recipient_names

    published = {
        path.parent.parent.name for path in Path(str(celery_night["home"])).glob(f"exports/*/{NIGHT}/_manifest.json")
    }
    assert published == set(recipient_names())  # every recipient's files, manifest last


@pytest.mark.slow
def test_the_mapped_tasks_ran_on_both_celery_workers(celery_night: dict[str, object]) -> None:
    rows = celery_night["task_instances"]
    assert isinstance(rows, list)
    mapped_hosts = {row[4] for row in rows if row[:2] in MAPPED_TASKS}
    host = socket.gethostname()
    assert mapped_hosts == {f"worker-1@{host}", f"worker-2@{host}"}, mapped_hosts


@pytest.mark.slow
def test_the_celery_stack_stops_cleanly(celery_night: dict[str, object]) -> None:
    assert celery_night["exit_code"] == 0
    assert celery_night["left_running"] == []  # redis, workers, scheduler ... and the warehouse all gone
    assert float(str(celery_night["stop_seconds"])) < 60
    with pytest.raises(OSError):  # the api-server is gone with the rest
        socket.create_connection(("127.0.0.1", int(str(celery_night["url"]).rsplit(":", 1)[1])), timeout=2).close()
    print(
        f"celery stack: up in {float(str(celery_night['start_seconds'])):.0f}s, chain in "
        f"{float(str(celery_night['chain_seconds'])):.0f}s, stopped in {float(str(celery_night['stop_seconds'])):.0f}s"
    )


def test_the_compose_celery_variant_gives_every_airflow_service_the_same_executor_broker_and_backend() -> None:
    """docker-compose.celery.yml cannot start here (no Docker engine): check how it merges onto docker-compose.yml."""
    import yaml

    base = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    celery = yaml.safe_load((REPO_ROOT / "docker-compose.celery.yml").read_text(encoding="utf-8"))["services"]
    workers = {name: service for name, service in celery.items() if name.startswith("airflow-worker")}
    assert sorted(workers) == ["airflow-worker-1", "airflow-worker-2"]
    for name, service in workers.items():
        assert service["extends"] == {"file": "docker-compose.yml", "service": "airflow-scheduler"}
        worker = name.removeprefix("airflow-")
        assert f"--celery-hostname {worker}@%h" in service["command"] and f"default,{worker}" in service["command"]
    airflow_services = [name for name in base if name.startswith("airflow-") and name != "airflow-db"]
    metadata_db = base["airflow-scheduler"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    for name in airflow_services + sorted(workers):
        env = {**base.get(name, base["airflow-scheduler"])["environment"], **celery[name]["environment"]}
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:@redis:6379/0", name
        # the result backend is the metadata database itself, as in Airflow's reference file
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + metadata_db.replace("+psycopg2", ""), name
    assert celery["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
