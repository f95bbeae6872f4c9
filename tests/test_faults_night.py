"""Faults in the middle of a night (docs/reliability.md), on a warehouse of this module's own
(restarting the session server would break every other test's database):

- the warehouse restarted while `arrears build` runs: one clear error line, a retry succeeds, no duplicates;
- the disk filling up while `arrears export` writes: one line per recipient and one error line, no partial
  file, nothing recorded;
- two `arrears backfill` runs of the same date started together: one waits, both succeed, and the data
  equals a single run's.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from arrears.contract import load_contract
from arrears.export import recipient_names
from arrears.export.files import sha256_of
from arrears.export.manifest import read_manifest
from arrears.settings import Paths
from arrears.warehouse import embedded
from tests.support.cli import REPO_ROOT
from tests.support.faults import (
    cli_command,
    cli_env,
    export_files,
    fill,
    hidden_files,
    ingest_fingerprint,
    marts_fingerprint,
    mount_tmpfs,
    run_to_completion,
    unique_key_violations,
    unmount,
)

pytestmark = pytest.mark.slow

DAY = dt.date(2026, 10, 1)
# The marts' row grain (their dbt `unique` tests say the same; checked here straight in SQL).
MART_KEYS = {
    "marts.fct_loan_delinquency_daily": ["business_date", "loan_id"],
    "marts.fct_work_queue": ["business_date", "loan_id"],
    "marts.fct_work_queue_contacts": ["business_date", "loan_id", "contact_point_id"],
    "marts.fct_delinquency_episodes": ["loan_id", "episode_no"],
    "marts.fct_promises_to_pay": ["action_id"],
    "marts.agg_roll_rates_monthly": ["month_end", "from_bucket", "to_bucket"],
    "marts.agg_vintage_curves": ["cohort_month", "months_on_book"],
}


@dataclass
class Night:
    """A home with its own embedded warehouse and DAY's delivery ingested."""

    paths: Paths
    env: dict[str, str]

    @property
    def url(self) -> str:
        return embedded.url(self.paths)

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=5)

    def run(self, *args: str) -> float:
        seconds, _ = run_to_completion(cli_command(*args), self.env)
        return seconds

    def ensure_checked(self) -> None:
        """Build and check DAY unless an earlier test did (the export gate needs a passed check run)."""
        self.ensure_built()
        with self.connect() as conn:
            found = conn.execute("select count(*) from audit.dq_results where business_date = %s", (DAY,)).fetchone()
        if not found or not found[0]:
            self.run("check", "--date", DAY.isoformat())

    def ensure_built(self) -> None:
        """Build DAY unless an earlier test left it built (builds are the slow part)."""
        with self.connect() as conn:
            found = conn.execute("select to_regclass('marts.fct_work_queue') is not null").fetchone()
            built = bool(found and found[0])
            if built:
                rows = conn.execute("select count(*) from marts.fct_work_queue where business_date = %s", (DAY,))
                built = rows.fetchone() != (0,)
        if not built:
            self.run("build", "--date", DAY.isoformat())


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    """A separate home and server; stopped at the end."""
    home = tmp_path_factory.mktemp("faults_night_home")
    paths = Paths(home)
    embedded.start(paths)
    env = cli_env(ARREARS_HOME=str(home), ARREARS_HASH_KEY="faults-test-key")
    env.pop("ARREARS_WAREHOUSE_URL", None)  # this home's own embedded server, never the session's
    night = Night(paths, env)
    try:
        generate = cli_command("generate", "--loans", "200", "--start", DAY.isoformat(), "--days", "1", "--seed", "5")
        run_to_completion([*generate, "--out", str(home / "landing")], env)
        night.run("ingest", "--date", DAY.isoformat())
        yield night
    finally:
        embedded.stop(paths)


def _dbt_relations(night: Night) -> int:
    """Relations dbt has created so far (0 while the server is unreachable)."""
    try:
        with night.connect() as conn:
            found = conn.execute(
                "select count(*) from information_schema.tables"
                " where table_schema in ('staging', 'intermediate', 'marts')"
            ).fetchone()
            return int(found[0]) if found else 0
    except psycopg.OperationalError:
        return 0


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert len(lines) == 1, stderr[-3000:]
    assert lines[0].startswith("arrears: error: "), lines[0]
    return lines[0]


def test_warehouse_restarted_mid_build_fails_cleanly_and_the_retry_succeeds(night: Night) -> None:
    build = subprocess.Popen(
        cli_command("build", "--date", DAY.isoformat()),
        env=night.env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Restart once dbt is well into the models (some views and tables exist), not before it connects.
    while _dbt_relations(night) < 8:
        assert build.poll() is None, "the build finished before the restart could happen"
        time.sleep(0.2)
    embedded.stop(night.paths)
    embedded.start(night.paths)
    _, stderr = build.communicate(timeout=900)

    assert build.returncode != 0
    print(f"\nbuild during the restart: {_one_error_line(stderr)}")

    night.run("build", "--date", DAY.isoformat())  # the retry

    with night.connect() as conn:
        for table, key in MART_KEYS.items():
            assert unique_key_violations(conn, table, key) == 0, table
        for entity in load_contract().entities.values():
            assert unique_key_violations(conn, entity.raw_table, [*entity.key, "_business_date"]) == 0
        rows = conn.execute(
            "select count(*) from marts.fct_loan_delinquency_daily where business_date = %s", (DAY,)
        ).fetchone()
        assert rows is not None and rows[0] >= 150


@pytest.mark.parametrize("pages_free", [0, 3], ids=["no-room", "room-for-a-few-files"])
def test_disk_full_while_exporting_is_one_clear_error_and_leaves_no_partial_file(night: Night, pages_free: int) -> None:
    """With no room, nothing appears; with room for a few files, the recipients exported before the
    disk filled are complete and recorded, the one being written shows no partial file, and no
    recipient without a manifest is recorded as exported."""
    night.ensure_checked()
    exports = night.paths.exports
    with night.connect() as conn:
        exports_before, deliveries_before = _recorded(conn)
    why_not = mount_tmpfs(exports, "64k")
    if why_not is not None:
        pytest.skip(f"cannot mount a tmpfs to fill: {why_not}")
    try:
        fill(exports, leave_free=pages_free * 4096)  # tmpfs allocates whole 4 KiB pages
        result = subprocess.run(
            cli_command("export", "--date", DAY.isoformat()),
            env=night.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode != 0
        line = _one_error_line(result.stderr)
        assert line.startswith(f"arrears: error: export {DAY}: ") and "recipients failed" in line, line
        failed = [row for row in result.stdout.splitlines() if row.startswith("export ") and ": failed: " in row]
        assert failed and all("No space left on device" in row for row in failed), result.stdout  # one line each
        assert hidden_files(exports, DAY) == []  # no temporary left behind
        folders = {folder.parent.name: folder for folder in exports.glob(f"*/{DAY}")}
        manifests = {name: read_manifest(folder) for name, folder in folders.items()}
        complete = {name for name, manifest in manifests.items() if manifest is not None}
        for name in complete:
            for listed in manifests[name]["files"]:
                assert sha256_of(folders[name] / listed["file"]) == listed["sha256"]
        if pages_free == 0:
            assert export_files(exports, DAY) == {}  # no visible file at all
        else:
            assert complete and complete != set(recipient_names()), "the disk did not fill mid-way"
    finally:
        unmount(exports)
    with night.connect() as conn:
        exports_after, deliveries_after = _recorded(conn)
    assert deliveries_after == deliveries_before  # nothing marked delivered
    recorded = {(row[0], row[2], row[4]) for row in exports_after} - {
        (row[0], row[2], row[4]) for row in exports_before
    }
    assert {recipient for recipient, _, _ in recorded} == complete  # recorded exactly the completed recipients
    for recipient, file, sha256 in recorded:
        assert {"file": file, "sha256": sha256}.items() <= next(
            item for item in manifests[recipient]["files"] if item["file"] == file
        ).items()


def _recorded(conn: psycopg.Connection) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """DAY's rows of audit.exports and (once the delivery step has it) audit.deliveries."""
    exports = conn.execute("select * from audit.exports where business_date = %s order by 1, 3", (DAY,)).fetchall()
    deliveries: list[tuple[object, ...]] = []
    found = conn.execute("select to_regclass('audit.deliveries') is not null").fetchone()
    if found and found[0]:
        deliveries = conn.execute("select * from audit.deliveries where business_date = %s", (DAY,)).fetchall()
    return exports, deliveries


def _without_run_id(files: dict[str, bytes]) -> dict[str, bytes]:
    """Export files with the manifest's dq_run_id line removed (each check run has a new id)."""
    return {
        name: b"\n".join(line for line in content.split(b"\n") if b'"dq_run_id"' not in line)
        for name, content in files.items()
    }


def test_two_backfills_of_one_date_at_once_one_waits_and_the_data_is_a_single_runs(night: Night) -> None:
    night.ensure_checked()
    night.run("export", "--date", DAY.isoformat())
    with night.connect() as conn:
        single = (ingest_fingerprint(conn, DAY), marts_fingerprint(conn))
    single_files = _without_run_id(export_files(night.paths.exports, DAY))

    command = cli_command("backfill", "--from", DAY.isoformat(), "--to", DAY.isoformat())
    runs = [
        subprocess.Popen(
            command, env=night.env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=1200) for run in runs]

    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr[-3000:]
        assert f"{DAY} ingested" in stdout
    waited = [stdout for stdout, _ in outputs if "waiting for another run" in stdout]
    assert len(waited) == 1, [stdout[:300] for stdout, _ in outputs]
    with night.connect() as conn:
        assert (ingest_fingerprint(conn, DAY), marts_fingerprint(conn, single[1])) == single
        for table, key in MART_KEYS.items():
            assert unique_key_violations(conn, table, key) == 0, table
    assert _without_run_id(export_files(night.paths.exports, DAY)) == single_files
