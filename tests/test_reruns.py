"""Every rerun reproduces the uninterrupted night (decision 016): a six-night simulated book is built
once, night by night, and its stored tables (every mart, every stored, intermediate and staging table) and
export files are fingerprinted after each night. Then, on that warehouse: the last night is rerun,
built twice at once, and nights 3-6 are rebuilt in date order as a backfill does; on a copy of the
warehouse as it was after night 2: nights 3 and 4 are run with SIGKILLs during ingest, dbt and
export, each killed command rerun. Each must leave every table and file exactly as the uninterrupted
run left them.

"Continue" means what `arrears backfill` does: after rebuilding night 3, nights 4-6 are rebuilt too,
in date order; only then is the whole warehouse compared with the uninterrupted run's last night
(every night's snapshot rows are in it, so a difference left by any rebuilt night shows).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import REPO_ROOT
from tests.support.faults import (
    cli_command,
    cli_env,
    export_digests,
    kill_during,
    leftover_dbt_relations,
    run_to_completion,
    stored_tables_fingerprint,
)

pytestmark = pytest.mark.slow

FIRST = dt.date(2026, 10, 1)
NIGHTS = [FIRST + dt.timedelta(days=offset) for offset in range(6)]
LOANS = 600
NIGHT_STEPS = ("ingest", "build", "check", "export")


@dataclass
class Warehouse:
    """A home and its database on the session server."""

    home: Path
    url: str
    env: dict[str, str]

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def fingerprint(self) -> dict[str, str]:
        with self.connect() as conn:
            return stored_tables_fingerprint(conn)

    def files(self) -> dict[str, str]:
        return export_digests(self.home / "exports")

    def run(self, *args: str) -> float:
        seconds, _ = run_to_completion(cli_command(*args), self.env)
        return seconds


@dataclass
class Book:
    """The uninterrupted six nights: what each night left, how long each step took."""

    built: Warehouse
    after_night_2: Warehouse  # a copy of the warehouse and home as they were after night 2
    after: dict[dt.date, dict[str, str]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    seconds: dict[tuple[dt.date, str], float] = field(default_factory=dict)


def _database(server_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}"' + (f' template "{template}"' if template else ""))
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def book(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Book]:
    """Six nights of a ~600-loan book, each ingested, built, checked and exported once, uninterrupted."""
    home = tmp_path_factory.mktemp("reruns_home")
    url = _database(server_url, "reruns_book")
    env = cli_env(ARREARS_HOME=str(home), ARREARS_WAREHOUSE_URL=url, ARREARS_HASH_KEY="reruns-test-key")
    built = Warehouse(home, url, env)
    generate = ("generate", "--loans", str(LOANS), "--start", FIRST.isoformat(), "--days", str(len(NIGHTS)))
    built.run(*generate, "--seed", "20", "--out", str(home / "landing"))
    copy: Warehouse | None = None
    after: dict[dt.date, dict[str, str]] = {}
    seconds: dict[tuple[dt.date, str], float] = {}
    for night in NIGHTS:
        for step in NIGHT_STEPS:
            seconds[night, step] = built.run(step, "--date", night.isoformat())
        after[night] = built.fingerprint()
        if night == NIGHTS[1]:  # no session is connected between two commands: the database can be copied
            copy_home = tmp_path_factory.mktemp("reruns_copy") / "home"
            shutil.copytree(home, copy_home)
            copy_url = _database(server_url, "reruns_after_night_2", template="reruns_book")
            copy = Warehouse(
                copy_home, copy_url, {**env, "ARREARS_HOME": str(copy_home), "ARREARS_WAREHOUSE_URL": copy_url}
            )
    assert copy is not None
    print(
        "\nuninterrupted: " + ", ".join(f"{night.day}/{step} {value:.1f} s" for (night, step), value in seconds.items())
    )
    yield Book(built, copy, after, built.files(), seconds)
    with psycopg.connect(server_url, autocommit=True) as admin:
        for name in ("reruns_book", "reruns_after_night_2"):
            admin.execute(f'drop database if exists "{name}" with (force)')


def test_the_book_is_worth_comparing(book: Book) -> None:
    """Guard: the comparisons mean something only if the nights carried promises and calls forward."""
    last = book.after[NIGHTS[-1]]
    assert int(last["intermediate.int_loan_delinquency_daily"].split(":")[0]) >= len(NIGHTS) * LOANS // 2
    with book.built.connect() as conn:
        statuses = dict(conn.execute("select status, count(*) from marts.fct_promises_to_pay group by 1").fetchall())
        stamps = conn.execute("select count(distinct as_of_date) from marts.fct_promises_to_pay").fetchone()
        calls = conn.execute("select count(*) from intermediate.int_contact_point_recent_calls").fetchone()
    # Promises computed on several nights (so a rerun that restamps them would show), kept and still open.
    assert {"open", "kept"} <= set(statuses), statuses
    assert stamps is not None and stamps[0] >= 3, stamps
    assert calls is not None and calls[0] > 50
    assert sum(name.endswith(".csv") for name in book.files) >= 3 * len(NIGHTS)
    # Every night changed something, so each night's fingerprint is its own.
    assert len({tuple(sorted(prints.items())) for prints in book.after.values()}) == len(NIGHTS)


def test_rerunning_the_last_night_changes_nothing(book: Book) -> None:
    book.built.run("backfill", "--from", NIGHTS[-1].isoformat(), "--to", NIGHTS[-1].isoformat())

    assert book.built.fingerprint() == book.after[NIGHTS[-1]]
    assert book.built.files() == book.files


def test_two_builds_of_one_night_at_once_both_succeed_one_after_the_other(book: Book) -> None:
    command = cli_command("build", "--date", NIGHTS[-1].isoformat())
    runs = []
    for _ in range(2):
        runs.append(
            subprocess.Popen(
                command, env=book.built.env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
        time.sleep(0.5)
    outcomes = [run.communicate(timeout=900) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outcomes]
    assert sum("waiting for another run holding 'arrears.nightly'" in out for out, _ in outcomes) == 1
    assert not any("already exists" in out + err for out, err in outcomes)
    assert book.built.fingerprint() == book.after[NIGHTS[-1]]


def test_rebuilding_night_3_and_continuing_reproduces_every_night(book: Book) -> None:
    """A backfill from night 3 (nights 3, 4, 5 and 6 again, in date order) over the built warehouse."""
    book.built.run("backfill", "--from", NIGHTS[2].isoformat(), "--to", NIGHTS[-1].isoformat())

    assert book.built.fingerprint() == book.after[NIGHTS[-1]]
    assert book.built.files() == book.files


# Where nights 3 and 4 are killed, as fractions of each step's uninterrupted duration: ingest once,
# dbt at three moments one after the other (parse and early models, the middle, the late models and
# tests: each rerun starts from what the previous kill left), export once.
KILLS = {
    NIGHTS[2]: {"ingest": (0.5,), "build": (0.25, 0.5, 0.75), "export": (0.5,)},
    NIGHTS[3]: {"ingest": (0.3,), "build": (0.4, 0.6, 0.85), "export": (0.7,)},
}


def test_kills_during_nights_3_and_4_rerun_to_the_uninterrupted_nights(book: Book) -> None:
    warehouse = book.after_night_2
    killed = []
    for night, kills in KILLS.items():
        for step in NIGHT_STEPS:
            args = cli_command(step, "--date", night.isoformat())
            for fraction in kills.get(step, ()):
                delay = kill_during(args, warehouse.env, book.seconds[night, step] * fraction)
                killed.append(f"{night.day}/{step} at {delay:.1f} s")
            warehouse.run(step, "--date", night.isoformat())
        assert warehouse.fingerprint() == book.after[night], f"after night {night}"
    print("\nkilled: " + ", ".join(killed))
    warehouse.run("backfill", "--from", NIGHTS[4].isoformat(), "--to", NIGHTS[-1].isoformat())

    assert warehouse.fingerprint() == book.after[NIGHTS[-1]]
    assert warehouse.files() == book.files
    with warehouse.connect() as conn:
        assert leftover_dbt_relations(conn) == []
