"""Helpers for the fault tests: kill a CLI command at a chosen moment, fingerprint what it wrote,
watch an export folder for partial files, restart a warehouse, mount a tiny file system.

Each fingerprint is computed by the database or read from disk, never taken from the code under
test, so "the rerun equals an uninterrupted run" is checked against independent evidence.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import psycopg

from arrears.contract import load_contract
from tests.support.cli import REPO_ROOT

# Columns that record WHEN a row was written: they differ between two correct runs.
WALL_CLOCK_COLUMNS = ("_loaded_at", "loaded_at", "exported_at", "checked_at")


def cli_command(*args: str) -> list[str]:
    """The argv of `arrears <args>` run with this interpreter."""
    return [sys.executable, "-m", "arrears.cli", *args]


def cli_env(**overrides: str) -> dict[str, str]:
    """The test process's environment with overrides (e.g. ARREARS_HOME, ARREARS_WAREHOUSE_URL)."""
    return {**os.environ, **overrides}


def run_to_completion(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run a command uninterrupted; (wall seconds, result). Raises when it fails."""
    started = time.monotonic()
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=900)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args[3:])} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds, result


def kill_after(args: list[str], env: dict[str, str], delay: float) -> int | None:
    """Start a command, SIGKILL it (and nothing else) `delay` seconds later; returns its exit code,
    None when it was killed (it may finish before the delay)."""
    process = subprocess.Popen(
        args, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGKILL)
    process.wait()
    return None


def kill_delays(duration: float, points: int) -> list[float]:
    """`points` moments spread evenly over an uninterrupted run: i/(points+1) of its duration."""
    return [duration * index / (points + 1) for index in range(1, points + 1)]


def _table_fingerprint(conn: psycopg.Connection, table: str, where: str = "", params: tuple[object, ...] = ()) -> str:
    """'<rows>:<md5 of the rows as JSON, sorted>' with the wall-clock columns left out."""
    drop = " ".join(f"- '{column}'" for column in WALL_CLOCK_COLUMNS)
    found = conn.execute(
        f"""select count(*), coalesce(md5(string_agg(r, '|' order by r)), '-')
            from (select (to_jsonb(t) {drop})::text as r from {table} as t {where}) as rows""",
        params,
    ).fetchone()
    assert found is not None
    return f"{found[0]}:{found[1]}"


def ingest_fingerprint(conn: psycopg.Connection, business_date: object) -> dict[str, str]:
    """Every landing table's rows of the date, its quarantine and its batch record, fingerprinted."""
    where = "where _business_date = %s"
    prints = {
        entity.raw_table: _table_fingerprint(conn, entity.raw_table, where, (business_date,))
        for entity in load_contract().entities.values()
    }
    for table in ("audit.quarantine", "audit.batches"):
        prints[table] = _table_fingerprint(conn, table, "where business_date = %s", (business_date,))
    return prints


def marts_fingerprint(conn: psycopg.Connection, tables: Iterable[str] | None = None) -> dict[str, str]:
    """Every relation of the marts schema (all rows), or the named ones, fingerprinted.

    Name them when comparing with an earlier run: a mart added to the project since then is not a difference.
    """
    if tables is None:
        found = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()
        tables = [f"marts.{name}" for (name,) in found]
    return {table: _table_fingerprint(conn, table) for table in tables}


def leftover_dbt_relations(conn: psycopg.Connection) -> list[str]:
    """Temporary or backup relations dbt creates while swapping a table in (none may survive a build)."""
    rows = conn.execute(
        """select table_schema || '.' || table_name from information_schema.tables
           where table_name like '%%\\_\\_dbt\\_tmp%%' or table_name like '%%\\_\\_dbt\\_backup%%' order by 1"""
    ).fetchall()
    return [str(name) for (name,) in rows]


def export_files(exports: Path, business_date: object) -> dict[str, bytes]:
    """{'<recipient>/<file>': bytes} of every visible (non-hidden) file of the date's export folders."""
    found: dict[str, bytes] = {}
    for folder in sorted(exports.glob(f"*/{business_date}")):
        for path in sorted(folder.iterdir()):
            if not path.name.startswith("."):
                with contextlib.suppress(FileNotFoundError):  # replaced between listing and reading
                    found[f"{folder.parent.name}/{path.name}"] = path.read_bytes()
    return found


def hidden_files(exports: Path, business_date: object) -> list[str]:
    """Hidden files (the export's `.<name>.<pid>.partial` temporaries) left in the date's folders."""
    return sorted(str(path) for path in exports.glob(f"*/{business_date}/.*"))


class PartialFileWatch:
    """Polls the date's export folders and records every moment a visible file was not complete.

    A visible file is complete when it is byte-identical to the uninterrupted run's file of that
    name (exports are deterministic), and a visible manifest lists only files whose SHA-256 it
    states. Temporaries are hidden (`.` prefix), so they are not visible files.
    """

    def __init__(self, exports: Path, business_date: object, complete: dict[str, bytes]) -> None:
        self.exports = exports
        self.business_date = business_date
        self.complete = complete
        self.violations: list[str] = []
        self.polls = 0

    def __call__(self) -> None:
        """One look at the folders."""
        self.polls += 1
        visible = export_files(self.exports, self.business_date)
        for name, content in visible.items():
            if self.complete.get(name) != content:
                self.violations.append(f"{name}: {len(content)} bytes, not the complete file")
            if name.endswith("_manifest.json") and self.complete.get(name) == content:
                for listed in json.loads(content)["files"]:
                    path = self.exports / name.rsplit("/", 1)[0] / listed["file"]
                    with contextlib.suppress(FileNotFoundError):
                        if hashlib.sha256(path.read_bytes()).hexdigest() != listed["sha256"]:
                            self.violations.append(f"{name} lists {listed['file']} but its SHA-256 differs")


@contextlib.contextmanager
def watching(watch: Callable[[], None]) -> Iterator[None]:
    """Call `watch` in a background thread, as often as it can, for the duration of the block."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            watch()
            time.sleep(0.002)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def mount_tmpfs(target: Path, size: str) -> str | None:
    """Mount a tmpfs of `size` on target; None on success, else why it could not be mounted."""
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], capture_output=True, text=True
    )
    if result.returncode != 0:
        return (result.stderr.strip() or f"mount exited {result.returncode}").splitlines()[0]
    return None


def unmount(target: Path) -> None:
    """Unmount what mount_tmpfs mounted."""
    subprocess.run(["umount", str(target)], check=True, capture_output=True)


def fill(folder: Path, leave_free: int) -> None:
    """Fill the file system holding `folder` with a hidden file until about `leave_free` bytes remain."""
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    with open(folder / ".filler", "wb") as handle:
        handle.write(b"\0" * max(free - leave_free, 0))


def unique_key_violations(conn: psycopg.Connection, table: str, key: list[str]) -> int:
    """How many key values of the table occur more than once."""
    columns = ", ".join(key)
    found = conn.execute(
        f"select count(*) from (select {columns} from {table} group by {columns} having count(*) > 1) as d"
    ).fetchone()
    assert found is not None
    return int(found[0])


def stored_tables_fingerprint(
    conn: psycopg.Connection, schemas: Iterable[str] = ("marts", "intermediate", "stored", "staging")
) -> dict[str, str]:
    """Every stored table (not view) of the dbt schemas, fingerprinted: what a later night carries forward."""
    found = conn.execute(
        """select table_schema || '.' || table_name from information_schema.tables
           where table_schema = any(%s) and table_type = 'BASE TABLE' order by 1""",
        (list(schemas),),
    ).fetchall()
    return {table: _table_fingerprint(conn, table) for (table,) in found}


# Manifest fields that name the run which wrote the file: a rerun of the quality gate gets a new id
# (`dq-<date>-<time of the run>`), however equal its results.
RUN_ID_FIELDS = ("dq_run_id",)


def export_digests(exports: Path) -> dict[str, str]:
    """{'<recipient>/<date>/<file>': SHA-256} of every visible file of every export folder; a manifest's
    digest is of its JSON without the run id fields (every data file it lists keeps its SHA-256 in it)."""
    digests = {}
    for path in sorted(exports.glob("*/*/*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        content = path.read_bytes()
        if path.name == "_manifest.json":
            document = {key: value for key, value in json.loads(content).items() if key not in RUN_ID_FIELDS}
            content = json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
        digests[str(path.relative_to(exports))] = hashlib.sha256(content).hexdigest()
    return digests


def kill_during(args: list[str], env: dict[str, str], delay: float) -> float:
    """SIGKILL the command `delay` seconds after it starts; returns the delay of the kill that happened.

    A warm rerun can be faster than the measured run and finish before the kill: then it must have
    succeeded, and the kill is retried a quarter earlier, so that every call is a real kill.
    """
    for _ in range(6):
        exit_code = kill_after(args, env, delay)
        if exit_code is None:
            return delay
        assert exit_code == 0, f"{' '.join(args[3:])} failed (exit {exit_code}) without being killed"
        delay *= 0.75
    raise AssertionError(f"{' '.join(args[3:])} finished before every kill")
