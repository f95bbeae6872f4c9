"""Cross-process mutual exclusion: PostgreSQL advisory locks, or a file lock for the Spark engine (both vanish
with a killed process)."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from arrears.errors import ArrearsError

# One night at a time per warehouse: `arrears nightly`, `backfill`, `build` and the demo take it.
NIGHTLY_LOCK = "arrears.nightly"

# Locks this process holds now: a step that takes the lock inside a run that already holds it (a build
# inside `arrears nightly` or `backfill`) re-enters it instead of waiting for itself on a second connection.
_held: set[str] = set()


@contextmanager
def exclusive(name: str, wait_seconds: float = 3600.0) -> Iterator[None]:
    """Hold the lock `name` on a dedicated connection for the block; wait up to `wait_seconds` for it.

    Used so that two nightly runs (or builds) for the same warehouse cannot interleave their steps: the
    second waits for the first, then re-does its date idempotently, or fails cleanly after the wait.
    Re-entrant within a process.
    """
    from arrears.warehouse import connect

    if name in _held:
        yield
        return
    with connect(autocommit=True) as conn:

        def acquired() -> bool:
            row = conn.execute("select pg_try_advisory_lock(hashtext(%s))", (name,)).fetchone()
            return bool(row and row[0])

        with _holding(name, wait_seconds, acquired):
            try:
                yield
            finally:
                conn.execute("select pg_advisory_unlock(hashtext(%s))", (name,))


@contextmanager
def file_exclusive(folder: Path, name: str, wait_seconds: float = 3600.0) -> Iterator[None]:
    """`exclusive` for a warehouse without PostgreSQL (Spark): an flock on <folder>/<name>.lock, released when
    the block ends or the process dies. It excludes the processes of one machine (or of a shared folder)."""
    if name in _held:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.lock").open("w") as handle:

        def acquired() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        with _holding(name, wait_seconds, acquired):
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _holding(name: str, wait_seconds: float, try_lock: Callable[[], bool]) -> Iterator[None]:
    """Take the lock (`_wait_for`) and mark it held by this process for the block."""
    _wait_for(name, wait_seconds, try_lock)
    _held.add(name)
    try:
        yield
    finally:
        _held.discard(name)


def _wait_for(name: str, wait_seconds: float, try_lock: Callable[[], bool]) -> None:
    """Try the lock every second until it is taken; a one-line error after `wait_seconds`."""
    deadline = time.monotonic() + wait_seconds
    announced = False
    while not try_lock():
        if time.monotonic() >= deadline:
            raise ArrearsError(f"another run holds {name!r}; gave up after {wait_seconds:.0f}s")
        if not announced:
            print(f"waiting for another run holding {name!r} ...", flush=True)
            announced = True
        time.sleep(1.0)
