"""Killed at random points (docs/reliability.md): `arrears ingest`, `arrears build` and `arrears
export` are SIGKILLed at moments spread over their measured uninterrupted duration; after each kill the
same command is rerun to completion and must give exactly what an uninterrupted run gave (the rows of
the date, every mart, byte-identical files), and no partial export file may ever be visible.

8 ingest + 3 build + 8 export = 19 kill points on a ~200-loan portfolio (one business date). Three build
points, early, middle and late, land in the three phases of a build (parse and seeds, the models, the late
models and their tests); each killed build prints the dbt node it was running (decision 037).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.support.faults import (
    PartialFileWatch,
    cli_command,
    cli_env,
    export_files,
    hidden_files,
    ingest_fingerprint,
    kill_after,
    kill_delays,
    leftover_dbt_relations,
    marts_fingerprint,
    run_to_completion,
    watching,
)

pytestmark = pytest.mark.slow

DAY = dt.date(2026, 10, 1)
INGEST_POINTS, BUILD_POINTS, EXPORT_POINTS = 8, 3, 8


def kill_at_point(baseline: Baseline, command: str, points: int, point: int) -> None:
    """SIGKILL `arrears <command>` at point/(points+1) of its uninterrupted duration.

    A warm rerun can be faster than the measured run and finish before the kill: then it must have
    succeeded, and the point is retried a quarter earlier, so that every point is a real kill. Twelve
    retries reach 3 % of the delay: a baseline measured while the machine was busier than the reruns
    (a shared VM's load swings 3x) must still end in a kill, not a failure of the test's own timing.
    """
    delay = kill_delays(baseline.seconds[command], points)[point - 1]
    for _ in range(12):
        exit_code = kill_after(baseline.command(command), baseline.env, delay)
        if exit_code is None:
            running = f" ({_dbt_node_running(baseline.home)})" if command == "build" else ""
            of = baseline.seconds[command]
            print(f"\n{command} point {point}/{points}: killed at {delay:.2f} s of {of:.1f} s{running}")
            return
        assert exit_code == 0, f"{command} failed (exit {exit_code}) without being killed"
        delay *= 0.75
    pytest.fail(f"{command} point {point}: finished before every kill")


def _dbt_node_running(home: Path) -> str:
    """What the killed dbt run was doing, from its log: the last node it began, else that it had not begun one."""
    log = home / "dbt" / "logs" / "dbt.log"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
    starts = [index for index, line in enumerate(lines) if "Running with dbt=" in line]
    began = [line for line in lines[starts[-1] if starts else 0 :] if "Began running node" in line]
    return began[-1].rsplit(" ", 1)[-1] if began else "no node begun: start-up, parse or seeds' setup"


@dataclass
class Baseline:
    """One uninterrupted night of DAY: how long each command took and what it produced."""

    env: dict[str, str]
    home: Path
    url: str
    seconds: dict[str, float]
    ingested: dict[str, str]
    marts: dict[str, str]
    files: dict[str, bytes]

    def command(self, name: str) -> list[str]:
        return cli_command(name, "--date", DAY.isoformat())

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)


@pytest.fixture(scope="module")
def baseline(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Baseline]:
    """A home on the session server with DAY ingested, built, checked and exported once, uninterrupted."""
    home = tmp_path_factory.mktemp("faults_kill_home")
    database = "faults_kill"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{database}" with (force)')
        admin.execute(f'create database "{database}"')
    url = server_url.rsplit("/", 1)[0] + f"/{database}"
    env = cli_env(ARREARS_HOME=str(home), ARREARS_WAREHOUSE_URL=url, ARREARS_HASH_KEY="faults-test-key")
    generate = cli_command("generate", "--loans", "200", "--start", DAY.isoformat(), "--days", "1", "--seed", "11")
    run_to_completion([*generate, "--out", str(home / "landing")], env)
    seconds: dict[str, float] = {}
    date = ["--date", DAY.isoformat()]
    seconds["ingest"], _ = run_to_completion(cli_command("ingest", *date), env)
    # The first build of a home parses the whole dbt project; every rerun below parses only what changed
    # (nothing): time the second, so the kill points fall inside the runs they kill, not after them.
    run_to_completion(cli_command("build", *date), env)
    seconds["build"], _ = run_to_completion(cli_command("build", *date), env)
    run_to_completion(cli_command("check", *date), env)
    seconds["export"], _ = run_to_completion(cli_command("export", *date), env)
    with psycopg.connect(url, autocommit=True) as conn:
        ingested, marts = ingest_fingerprint(conn, DAY), marts_fingerprint(conn)
    files = export_files(home / "exports", DAY)
    print(f"\nuninterrupted: {', '.join(f'{name} {value:.1f} s' for name, value in seconds.items())}")
    yield Baseline(env, home, url, seconds, ingested, marts, files)
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{database}" with (force)')


def test_the_baseline_is_worth_comparing(baseline: Baseline) -> None:
    """Guard: the comparisons below mean something only if the night produced rows and files."""
    assert int(baseline.ingested["raw.loans"].split(":")[0]) >= 100
    assert int(baseline.marts["marts.fct_loan_delinquency_daily"].split(":")[0]) >= 100
    assert any(name.endswith(".csv") and content for name, content in baseline.files.items())
    assert sum(name.endswith("_manifest.json") for name in baseline.files) >= 3


@pytest.mark.parametrize("point", range(1, INGEST_POINTS + 1))
def test_killed_ingest_reruns_to_the_same_rows(baseline: Baseline, point: int) -> None:
    kill_at_point(baseline, "ingest", INGEST_POINTS, point)

    run_to_completion(baseline.command("ingest"), baseline.env)

    with baseline.connect() as conn:
        assert ingest_fingerprint(conn, DAY) == baseline.ingested
        # The per-date load tables are dropped inside the transaction: none may outlive a kill.
        leftovers = conn.execute(
            "select count(*) from pg_tables where schemaname like 'pg\\_temp%%' and tablename like 'land\\_%%'"
        ).fetchone()
        assert leftovers == (0,)


@pytest.mark.parametrize("point", range(1, BUILD_POINTS + 1))
def test_killed_build_reruns_to_the_same_marts(baseline: Baseline, point: int) -> None:
    kill_at_point(baseline, "build", BUILD_POINTS, point)

    run_to_completion(baseline.command("build"), baseline.env)

    with baseline.connect() as conn:
        assert marts_fingerprint(conn, baseline.marts) == baseline.marts
        assert leftover_dbt_relations(conn) == []


@pytest.mark.parametrize("point", range(1, EXPORT_POINTS + 1))
def test_killed_export_reruns_to_identical_files_and_never_shows_a_partial_one(baseline: Baseline, point: int) -> None:
    exports = baseline.home / "exports"
    if point % 2:  # odd points: the first export of the date (no earlier files); even: a re-export over them
        for folder in exports.glob(f"*/{DAY}"):
            shutil.rmtree(folder)
    watch = PartialFileWatch(exports, DAY, baseline.files)

    with watching(watch):
        kill_at_point(baseline, "export", EXPORT_POINTS, point)
        run_to_completion(baseline.command("export"), baseline.env)

    assert watch.polls > 10 and watch.violations == []
    assert export_files(exports, DAY) == baseline.files
    assert hidden_files(exports, DAY) == []  # the rerun removed the killed run's temporaries
    with baseline.connect() as conn:
        recorded = conn.execute(
            "select recipient || '/' || file, sha256 from audit.exports where business_date = %s", (DAY,)
        ).fetchall()
    data_files = {name for name in baseline.files if not name.endswith("_manifest.json")}
    assert {name for name, _ in recorded} == data_files  # one row per file, however many runs
