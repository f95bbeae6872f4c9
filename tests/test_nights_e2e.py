"""A real night (generated delivery, dbt build, GX) followed by a night whose delivery never came.

The command line as an operator runs it: `build` of the undelivered date runs but says so on stderr,
`check` and `export` refuse it (exit 5, one line, no file), `audit` shows it missing, and the
delivery arriving late clears the mark.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.slow

DAY1 = dt.date(2026, 10, 8)
DAY2 = DAY1 + dt.timedelta(days=1)


def test_a_night_without_delivery_builds_with_a_warning_is_refused_and_its_late_ingest_clears_the_mark(
    conn: psycopg.Connection, arrears_home: Path, tmp_path: Path
) -> None:
    from arrears.generate import generate

    landing = tmp_path / "landing"
    generate(loans=40, start=DAY1, days=2, seed=3, out=landing, inject_faults=0.0)
    env = {"ARREARS_HASH_KEY": "k"}
    run_cli("ingest", "--date", str(DAY1), "--landing", str(landing), env=env, check=True)

    built = run_cli("build", "--date", str(DAY2), env=env)
    assert built.returncode == 0, built.stderr
    assert (
        f"arrears: warning: no delivery loaded for {DAY2}: building on stale data; check and export will refuse it"
        in built.stderr.splitlines()
    )

    checked = run_cli("check", "--date", str(DAY2), env=env)
    assert checked.returncode == 5
    assert checked.stderr.strip().splitlines() == [
        f"check {DAY2} refused: no delivery loaded for {DAY2}: the gate refuses to pass a night built on stale data;"
        f" ingest it first (arrears ingest --date {DAY2})"
    ]
    exported = run_cli("export", "--date", str(DAY2), env=env)
    assert exported.returncode == 5 and len(exported.stderr.strip().splitlines()) == 1
    assert not list((arrears_home / "exports").glob(f"*/{DAY2}"))
    audit = run_cli("audit", "--date", str(DAY2), env=env, check=True)
    assert audit.stdout.startswith(f"night {DAY2}: MISSING: no delivery loaded for {DAY2}")

    # The delivery arrives: ingest clears the mark (the night then builds and checks as usual).
    run_cli("ingest", "--date", str(DAY2), "--landing", str(landing), env=env, check=True)
    assert conn.execute("select count(*) from audit.night_status").fetchone() == (0,)
    audit = run_cli("audit", "--date", str(DAY2), env=env, check=True)
    assert audit.stdout.startswith(f"night {DAY2}: ordinary")
    assert "delivery   loaded " in audit.stdout
