"""The embedded warehouse and `arrears db`: real PostgreSQL on 127.0.0.1, outliving each command."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.support.cli import run_cli


def test_db_url_starts_the_embedded_server_on_loopback(tmp_path: Path) -> None:
    # A home deep enough that a Unix socket in it would pass the 107-byte limit: the server must still start.
    home = tmp_path / ("deep-directory-" * 6) / "home"
    assert len(str(home / "warehouse" / "pgdata" / ".s.PGSQL.65535")) > 107
    env = {"ARREARS_HOME": str(home), "ARREARS_WAREHOUSE_URL": ""}
    try:
        run_cli("db", "init", env=env, check=True)  # `db url` alone refuses a home without a warehouse
        result = run_cli("db", "url", env=env, check=True)
        url = result.stdout.strip().splitlines()[-1]
        assert url.startswith("postgresql://arrears_pipeline@127.0.0.1:")
        # The server outlives the command: another process (here, this test) can connect.
        with psycopg.connect(url) as conn:
            assert conn.execute("show server_version").fetchone()[0].startswith("16")
            # The pipeline is its least-privilege role, and owns what it writes (the loader's functions too).
            assert conn.execute(
                "select rolsuper, rolbypassrls from pg_roles where rolname = current_user"
            ).fetchone() == (False, False)
            owners = conn.execute(
                """select distinct pg_get_userbyid(relowner) from pg_class c join pg_namespace n on n.oid = relnamespace
                   where nspname in ('raw', 'pii', 'audit') and relkind = 'r'
                   union select distinct pg_get_userbyid(proowner) from pg_proc p
                   join pg_namespace n on n.oid = pronamespace where nspname = 'audit'"""
            ).fetchall()
            assert owners == [("arrears_pipeline",)]
        # Re-initialising as the pipeline's administrator, twice, changes nothing and fails nothing.
        for _ in range(2):
            assert run_cli("db", "init", env=env).returncode == 0
        assert run_cli("db", "status", env=env).returncode == 0
    finally:
        run_cli("db", "stop", env=env)
    status = run_cli("db", "status", env=env)
    assert status.returncode == 1 and "stopped" in status.stdout


def test_db_init_is_idempotent(warehouse_url: str) -> None:
    for _ in range(2):
        assert run_cli("db", "init", check=True).returncode == 0
    with psycopg.connect(warehouse_url) as conn:
        schemas = {row[0] for row in conn.execute("select schema_name from information_schema.schemata")}
    assert {"raw", "pii", "audit", "marts"} <= schemas


def test_a_command_starting_beside_a_night_runs_no_schema_ddl(warehouse_url: str) -> None:
    # A night (here: a holder of the initialisation's lock) is running; a second command starting now
    # must not re-run the schema's DDL and grants beside it (they deadlocked with a running backfill).
    with psycopg.connect(warehouse_url) as night:
        night.execute("select pg_advisory_xact_lock(hashtext('arrears.init_schema'))")
        result = run_cli("audit", timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_warehouse_initialised_by_other_code_is_initialised_again(warehouse_url: str) -> None:
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute("update audit.schema_state set fingerprint = 'an older release'")
        conn.execute("drop table audit.night_status")
        assert run_cli("audit").returncode == 0
        assert conn.execute("select to_regclass('audit.night_status') is not null").fetchone()[0]
        assert conn.execute("select fingerprint <> 'an older release' from audit.schema_state").fetchone()[0]


def test_unreachable_external_warehouse_is_one_clear_line() -> None:
    result = run_cli("db", "init", env={"ARREARS_WAREHOUSE_URL": "postgresql://nobody@127.0.0.1:1/x"})
    assert result.returncode != 0
    assert result.stderr.startswith("arrears: error: cannot connect to the warehouse")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("bad", [["ingest", "--date", "2026-02-30"], ["generate", "--loans", "0"]])
def test_cli_misuse_is_rejected_without_traceback(bad: list[str]) -> None:
    result = run_cli(*bad)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_the_spark_homes_nightly_lock_waits_for_another_process_then_fails_in_one_line(tmp_path: Path) -> None:
    """On Spark there is no PostgreSQL advisory lock: the nightly lock is an flock of the home's spark folder,
    held by another process here (as a second `arrears build` would find it), and released when that ends."""
    import subprocess
    import sys

    from arrears.errors import ArrearsError
    from arrears.warehouse.locks import NIGHTLY_LOCK, file_exclusive

    lock_file = tmp_path / f"{NIGHTLY_LOCK}.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; handle = open(sys.argv[1], 'w'); fcntl.flock(handle, fcntl.LOCK_EX);"
            " print('held', flush=True); time.sleep(60)",
            str(lock_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ArrearsError, match=f"another run holds '{NIGHTLY_LOCK}'; gave up after 2s"):
            with file_exclusive(tmp_path, NIGHTLY_LOCK, wait_seconds=2):
                pytest.fail("entered while another process held the lock")
    finally:
        holder.kill()
        holder.wait()
    entered = False
    with file_exclusive(tmp_path, NIGHTLY_LOCK, wait_seconds=2):  # the killed holder's lock went with it
        entered = True
    assert entered


def test_a_query_whose_client_was_killed_stops_on_the_server(warehouse_url: str) -> None:
    """A killed export or build must not leave its query running: the server checks that the client is still
    there (client_connection_check_interval) instead of finding out only when it next sends a row."""
    import subprocess
    import sys
    import time

    tag = "arrears-killed-client"
    client = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import psycopg, sys\n"
            f"with psycopg.connect(sys.argv[1], application_name='{tag}') as c: c.execute('select pg_sleep(600)')",
            warehouse_url,
        ]
    )
    running = "select count(*) from pg_stat_activity where application_name = %s and state = 'active'"
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        deadline = time.monotonic() + 60
        while conn.execute(running, (tag,)).fetchone() != (1,):
            assert time.monotonic() < deadline, "the client's query never started"
            time.sleep(0.2)
        client.kill()
        client.wait()
        # Far less than the 600 s the query would otherwise run; the check runs every few seconds.
        deadline = time.monotonic() + 60
        while conn.execute(running, (tag,)).fetchone() != (0,):
            assert time.monotonic() < deadline, "the killed client's query is still running on the server"
            time.sleep(0.5)
