"""Operations that don't fight back: a missing delivery fails fast, SIGTERM ends a wait, strict dates, one home
whatever the current folder, no silently created warehouse, and an embedded warehouse that keeps its URL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import REPO_ROOT, run_cli

MISSING_DATE = "2026-10-08"


def _own_home(tmp_path: Path) -> dict[str, str]:
    """A home of its own on the embedded default (no external warehouse configured)."""
    return {"ARREARS_HOME": str(tmp_path / "home"), "ARREARS_WAREHOUSE_URL": ""}


def test_nightly_without_a_manifest_fails_within_seconds_naming_it(tmp_path: Path) -> None:
    env = _own_home(tmp_path)
    started = time.monotonic()
    result = run_cli("nightly", "--date", MISSING_DATE, env=env)
    assert time.monotonic() - started < 15
    assert result.returncode == 1
    manifest = Path(env["ARREARS_HOME"]) / "landing" / MISSING_DATE / "_manifest.json"
    assert result.stderr.strip().splitlines() == [
        f"arrears: error: nightly {MISSING_DATE}: no delivery: {manifest} is absent (no delivery folder either); "
        "to wait for it, pass --wait (e.g. --wait 2h)"
    ]
    assert not (Path(env["ARREARS_HOME"]) / "warehouse").exists(), "a missing delivery must not start anything"


def test_nightly_waiting_for_a_manifest_logs_once_per_poke_and_exits_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, **_own_home(tmp_path)}
    waiting = subprocess.Popen(
        [sys.executable, "-m", "arrears.cli", "nightly", "--date", MISSING_DATE, "--wait", "2h"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert waiting.stdout is not None
        first = waiting.stdout.readline()
        assert f"nightly {MISSING_DATE}: waiting for" in first and "left" in first
        time.sleep(3)  # a poke is a minute: no second line in these seconds
        waiting.send_signal(signal.SIGTERM)
        started = time.monotonic()
        rest, errors = waiting.communicate(timeout=15)
        assert time.monotonic() - started < 5
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 143
    assert rest == ""
    assert errors.strip() == "arrears: terminated (SIGTERM)"


@pytest.mark.parametrize("text", ["20261008", "2026-W41-4", "2026-10-8", "2026-10-08T00:00"])
def test_dates_other_than_yyyy_mm_dd_are_refused(text: str) -> None:
    result = run_cli("report", "--date", text)
    assert result.returncode == 2
    assert f"not a date (YYYY-MM-DD): '{text}'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_default_home_is_the_same_from_any_folder(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "ARREARS_HOME"}
    homes = {
        subprocess.run(
            [sys.executable, "-c", "from arrears.settings import arrears_home; print(arrears_home())"],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for folder in (REPO_ROOT, tmp_path, REPO_ROOT / "docs")
    }
    assert homes == {str(REPO_ROOT / ".arrears")}


@pytest.mark.parametrize(
    "command",
    [["db", "url"], ["db", "status"], ["report", "--date", MISSING_DATE], ["check", "--date", MISSING_DATE],
     ["export", "--date", MISSING_DATE]],
)  # fmt: skip
def test_read_only_commands_refuse_a_home_without_a_warehouse(tmp_path: Path, command: list[str]) -> None:
    env = _own_home(tmp_path)
    result = run_cli(*command, env=env)
    assert result.returncode == 1
    warehouse = Path(env["ARREARS_HOME"]) / "warehouse"
    assert result.stderr.strip().splitlines() == [
        f"arrears: error: no warehouse at {warehouse}; run `arrears db init` or set ARREARS_HOME"
    ]
    assert not (warehouse / "pgdata").exists()


def test_hash_key_comes_from_the_home_when_the_variable_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.export.config import recipient
    from arrears.export.privacy import HashKeyMissing, hash_pads_for, hmac_pads

    monkeypatch.setenv("ARREARS_HOME", str(tmp_path))
    monkeypatch.delenv("ARREARS_HASH_KEY", raising=False)
    names = ("predue", "early", "mid", "field", "agency_acme", "legal")
    hashed = next(r for r in map(recipient, names) if r.hashed_columns)
    with pytest.raises(HashKeyMissing, match=f"ARREARS_HASH_KEY is not set and {tmp_path / 'hash-key'} does not"):
        hash_pads_for(hashed)
    (tmp_path / "hash-key").write_text("home-key\n", encoding="utf-8")
    assert hash_pads_for(hashed) == hmac_pads(b"home-key")
    monkeypatch.setenv("ARREARS_HASH_KEY", "environment-key")  # the variable wins over the file
    assert hash_pads_for(hashed) == hmac_pads(b"environment-key")


def _postmaster_pid(home: Path) -> int:
    return int((home / "warehouse" / "pgdata" / "postmaster.pid").read_text().split()[0])


def _db_url(env: dict[str, str]) -> str:
    result = run_cli("db", "url", env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_embedded_warehouse_keeps_its_url_across_crashes_and_fails_in_one_line(tmp_path: Path) -> None:
    env = _own_home(tmp_path)
    home = Path(env["ARREARS_HOME"])
    created = run_cli("db", "init", env=env)
    assert created.returncode == 0, created.stderr
    assert f"arrears: created a new embedded warehouse in {home / 'warehouse'}" in created.stderr
    url = _db_url(env)
    status = run_cli("db", "status", env=env).stdout
    assert f"pipeline role (arrears_pipeline, `arrears db url`): {url}" in status
    admin_url = url.replace("arrears_pipeline", "postgres")
    assert f"admin role (postgres, superuser: roles and schema only): {admin_url}" in status
    try:
        # kill -9 with a client connected: the port is left in TIME_WAIT; the restart keeps it anyway.
        client = psycopg.connect(url)
        os.kill(_postmaster_pid(home), signal.SIGKILL)
        time.sleep(1)
        client.close()
        assert _db_url(env) == url
        with psycopg.connect(url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)

        # A postmaster.pid whose PID now belongs to another program (here a sleep) does not stop a start.
        os.kill(_postmaster_pid(home), signal.SIGKILL)
        time.sleep(1)
        squatter = subprocess.Popen(["sleep", "60"])
        try:
            pid_file = home / "warehouse" / "pgdata" / "postmaster.pid"
            lines = pid_file.read_text().splitlines()
            pid_file.write_text("\n".join([str(squatter.pid), *lines[1:]]) + "\n")
            assert _db_url(env) == url
        finally:
            squatter.kill()
            squatter.wait()

        # The port taken by another program: one line naming the port, and the URL is not silently changed.
        run_cli("db", "stop", env=env, check=True)
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with socket.socket() as listener:
            # The stopped server's port may still be in TIME_WAIT.
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen()
            blocked = run_cli("db", "url", env=env)
        assert blocked.returncode == 1
        assert len(blocked.stderr.strip().splitlines()) == 1
        assert f"its port {port} is taken by another program" in blocked.stderr

        # A server that cannot start: one line with PostgreSQL's own reason, not pgserver's dump.
        conf = home / "warehouse" / "pgdata" / "postgresql.auto.conf"
        good = conf.read_text()
        conf.write_text(good + "shared_buffers = 'plenty'\n")
        broken = run_cli("db", "url", env=env)
        conf.write_text(good)
        assert broken.returncode == 1
        assert len(broken.stderr.strip().splitlines()) == 1, broken.stderr
        assert broken.stderr.startswith("arrears: error: embedded warehouse: pg_ctl failed:")
        assert "shared_buffers" in broken.stderr
        assert _db_url(env) == url
    finally:
        run_cli("db", "stop", env=env)
