"""One full night, end to end, through the real DAG: simulate -> backfill -> `arrears nightly` -> marts, gate, files,
and the Airflow UI in headless Chromium showing the successful run."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.slow

START = dt.date(2026, 10, 1)
NIGHT = START + dt.timedelta(days=3)


@pytest.fixture(scope="module")
def night(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A home whose last date ran through `arrears nightly`; yields its env and paths."""
    home = tmp_path_factory.mktemp("e2e_home")
    database = "e2e_nightly"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{database}" with (force)')
        admin.execute(f'create database "{database}"')
    url = server_url.rsplit("/", 1)[0] + f"/{database}"
    env = {"ARREARS_HOME": str(home), "ARREARS_WAREHOUSE_URL": url, "ARREARS_HASH_KEY": "e2e-test-key"}
    # The demo with this module's book: generate, backfill the first three dates, the fourth through Airflow.
    demo = run_cli("demo", "--loans", "400", "--days", "4", "--airflow-days", "1", "--seed", "7", env=env)
    assert demo.returncode == 0, demo.stderr[-3000:]
    yield {"env": env, "home": home, "url": url, "stdout": demo.stdout}


def test_nightly_reports_success(night: dict[str, object]) -> None:
    assert f"nightly {NIGHT}: success" in str(night["stdout"])


def test_demo_prints_a_short_progress_view_and_keeps_the_full_logs(night: dict[str, object]) -> None:
    lines = str(night["stdout"]).splitlines()
    assert len(lines) < 100
    assert [line.split()[0] for line in lines[:7]] == ["arrears", "generate", "warehouse"] + ["backfill"] * 3 + [
        "nightly"
    ]
    assert "3/3 2026-10-03" in lines[5] and "suites passed" in lines[5]
    assert "Finished running" not in "\n".join(lines)  # dbt's own output went to the log
    logs = list((Path(str(night["home"])) / "logs").glob("demo-*.log"))
    assert len(logs) == 1 and "Finished running" in logs[0].read_text(encoding="utf-8")


def test_snapshot_has_one_row_per_open_loan_with_consistent_buckets(night: dict[str, object]) -> None:
    with psycopg.connect(str(night["url"])) as conn:
        rows = conn.execute(
            "select loan_id, dpd, bucket, stage from marts.fct_loan_delinquency_daily where business_date = %s",
            (NIGHT,),
        ).fetchall()
        open_loans = conn.execute(
            """select count(distinct loan_id) from raw.loans l
               where _business_date <= %(d)s and disbursed_on <= %(d)s
                 and not exists (select 1 from raw.loans c where c.loan_id = l.loan_id and c._business_date <= %(d)s
                                 and c.status = 'closed' and c.closed_on < %(d)s)""",
            {"d": NIGHT},
        ).fetchone()[0]
    assert len(rows) == len({row[0] for row in rows}), "more than one snapshot row for a loan"
    assert len(rows) == open_loans
    # business rules §4, written out independently of the seed the models use
    for _, dpd, bucket, stage in rows:
        expected_bucket = "M0" if dpd == 0 else f"M{min((dpd - 1) // 30 + 1, 7)}" + ("+" if dpd > 180 else "")
        assert bucket == expected_bucket, (dpd, bucket)
        if stage != "written_off":
            if dpd == 0:
                assert stage in ("current", "pre_due")
            else:
                assert stage == ("early" if dpd <= 30 else "mid" if dpd <= 90 else "late"), (dpd, stage)
    assert {stage for *_, stage in rows} >= {"current", "early"}


def _data_rows(file_format: str, data: bytes) -> int:
    """Rows below the header of an exported CSV or xlsx file, read as its reader would."""
    if file_format == "xlsx":
        import openpyxl

        sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
        assert sheet is not None
        return sum(1 for _ in sheet.iter_rows(min_row=2))
    return len(list(csv.reader(data.decode("utf-8-sig").splitlines()))) - 1


def test_every_export_matches_its_manifest_and_the_queue(night: dict[str, object]) -> None:
    exports = Path(str(night["home"])) / "exports"
    manifests = sorted(exports.glob(f"*/{NIGHT}/_manifest.json"))
    assert manifests, f"no export manifests under {exports}"
    with psycopg.connect(str(night["url"])) as conn:
        queued = dict(
            conn.execute(
                "select team_id, count(*) from marts.fct_work_queue where business_date = %s and team_id is not null "
                "group by team_id",
                (NIGHT,),
            ).fetchall()
        )
    exported: dict[str, int] = {}
    for manifest_path in manifests:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for entry in manifest["files"]:
            data = (manifest_path.parent / entry["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert _data_rows(manifest["format"], data) == entry["rows"]
        for team, rows in manifest["control_totals"]["rows_per_team"].items():
            exported[team] = exported.get(team, 0) + rows
    # Every queued (not held) loan is in exactly one recipient's file, under its own team.
    assert exported == queued


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed (make setup-browser)")
def test_airflow_ui_shows_the_nightly_and_its_successful_run(night: dict[str, object], tmp_path: Path) -> None:
    port = _free_port()
    env = night["env"]
    server = subprocess.Popen(
        [str(Path(shutil.which("arrears") or ".venv/bin/arrears")), "airflow", "--port", str(port)],
        env={**__import__("os").environ, **env},  # type: ignore[dict-item]
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:  # the command prints the URL once the api-server answers
            if "Airflow UI:" in line:
                break
        else:
            pytest.fail("arrears airflow exited before the UI came up")
        dom = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'chromium'}", "--virtual-time-budget=20000", "--dump-dom",
             f"http://127.0.0.1:{port}/dags/collections_nightly/runs"],
            capture_output=True, text=True, timeout=180,
        ).stdout  # fmt: skip
        assert "collections_nightly" in dom
        assert "success" in dom.lower()
    finally:
        server.terminate()
        server.wait(timeout=60)
