"""Cross-process mutual exclusion through PostgreSQL advisory locks (they vanish with a killed process)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

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
        deadline = time.monotonic() + wait_seconds
        announced = False
        while not conn.execute("select pg_try_advisory_lock(hashtext(%s))", (name,)).fetchone()[0]:  # type: ignore[index]
            if time.monotonic() >= deadline:
                raise ArrearsError(f"another run holds {name!r}; gave up after {wait_seconds:.0f}s")
            if not announced:
                print(f"waiting for another run holding {name!r} ...", flush=True)
                announced = True
            time.sleep(1.0)
        _held.add(name)
        try:
            yield
        finally:
            _held.discard(name)
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (name,))
