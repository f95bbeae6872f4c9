"""Shared fixtures: one real embedded PostgreSQL per test session, one fresh database per test.

Tests never mock the warehouse: `warehouse_url` gives each test its own database on the
session's server (ARREARS_WAREHOUSE_URL points at it), so tests cannot see each other's rows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import REPO_ROOT, run_cli  # noqa: F401  (re-exported for fixtures below)

# The longest modules, longest first (`--durations` of a whole run, decision 037). `make test` hands whole
# files to two workers in collection order (--dist loadfile --no-loadscope-reorder): starting the longest
# first and ending with the many short files keeps both workers busy until the end.
LONGEST_MODULES = (
    "test_reruns.py",
    "test_faults_kill.py",
    "test_spark_engine.py",
    "test_demo_continued.py",
    "test_delinquency_reference.py",
    "test_celery.py",
    "test_nightly_e2e.py",
    "test_faults_night.py",
    "test_experiments.py",
    "test_agencies_simulated.py",
    "test_score_point_in_time.py",
    "test_collections_simulated.py",
    "test_collections.py",
)


def _module_rank(item: pytest.Item) -> tuple[int, int]:
    """Listed modules in their order, then other modules with a slow test, then the rest."""
    name = item.path.name
    if name in LONGEST_MODULES:
        return (0, LONGEST_MODULES.index(name))
    return (1 if item.get_closest_marker("slow") else 2, 0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest modules first (stable: a module's tests keep their order, modules of one rank theirs)."""
    ranks: dict[Path, tuple[int, int]] = {}
    for item in items:
        rank = _module_rank(item)
        ranks[item.path] = min(ranks.get(item.path, rank), rank)
    items.sort(key=lambda item: ranks[item.path])


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An ARREARS_HOME for the whole session, with its embedded warehouse started (and stopped after)."""
    from arrears.settings import Paths
    from arrears.warehouse import embedded

    home = tmp_path_factory.mktemp("arrears_home")
    embedded.start(Paths(home))
    yield home
    embedded.stop(Paths(home))


@pytest.fixture(scope="session")
def server_url(session_home: Path) -> str:
    """URL of the session server's maintenance database."""
    from arrears.settings import Paths
    from arrears.warehouse import embedded

    return embedded.url(Paths(session_home)).rsplit("/", 1)[0] + "/postgres"


@pytest.fixture()
def arrears_home(session_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A per-test ARREARS_HOME (landing, exports, reports) that shares the session's server."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ARREARS_HOME", str(home))
    return home


# dbt's saved parse of the project, valid while the project files, the vars and the connection do not change.
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


@pytest.fixture(scope="session")
def dbt_parse_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the last test of this worker left dbt's parse of the project, for the next test's home."""
    return tmp_path_factory.mktemp("dbt_parse")


@pytest.fixture()
def warehouse_url(
    server_url: str, arrears_home: Path, dbt_parse_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh, initialised database for this test; ARREARS_WAREHOUSE_URL points at it.

    Each test's database has the same name (dropped after the test; each worker has its own server), so
    the connection dbt parses with is the same from test to test and the previous test's parse is reused:
    dbt re-parses only what changed (nothing), instead of the whole project in every test (decision 037).
    """
    from arrears.settings import Paths
    from arrears.warehouse import connect
    from arrears.warehouse.schema import init_schema

    name = f"test_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    monkeypatch.setenv("ARREARS_WAREHOUSE_URL", url)
    with connect() as conn:
        init_schema(conn)
    target, kept = Paths(arrears_home).dbt_target, dbt_parse_cache / PARTIAL_PARSE_FILE
    if kept.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept, target / PARTIAL_PARSE_FILE)
    yield url
    if (target / PARTIAL_PARSE_FILE).exists():
        shutil.copyfile(target / PARTIAL_PARSE_FILE, kept)
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture()
def conn(warehouse_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to this test's database."""
    with psycopg.connect(warehouse_url, autocommit=True) as connection:
        yield connection
