"""Delivery over a real SFTP server on 127.0.0.1: ledger-based no-double-delivery and explicit re-delivery.

The fault tests run a server that really aborts the SSH connection mid-upload (tests/sftp_server.py,
DropUpload): no mocks, the client sees the socket close under it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import run_cli
from tests.support.exports import clear_gate, use_recipients
from tests.support.marts import add_borrower, add_loan, create_marts
from tests.support.sftp_server import DropUpload, SftpServer, sftp_server

D = dt.date(2024, 3, 5)


@pytest.fixture(autouse=True)
def early_without_numbers_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped recipients, `early` writing only its rows file: these tests follow one data file and the
    manifest through the ledger (the dialer's numbers file is delivered in test_export_isolation)."""
    import yaml

    from arrears.routing.rules import RECIPIENTS_FILE

    config = yaml.safe_load(RECIPIENTS_FILE.read_text(encoding="utf-8"))
    config["recipients"]["early"]["numbers_file"] = False
    use_recipients(config, tmp_path, monkeypatch)


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[SftpServer]:
    with sftp_server(tmp_path / "sftp") as running:
        yield running


def _export_early(conn: psycopg.Connection) -> None:
    from arrears.export import export_recipient

    create_marts(conn)
    add_loan(conn, D, "L1", dpd=5, team="early")
    add_borrower(conn, D, "B1")
    clear_gate(conn)
    export_recipient(D, "early")


def test_delivers_once_then_never_again_then_redelivers_a_changed_file(
    conn: psycopg.Connection, arrears_home: Path, server: SftpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.deliver import deliver_recipient
    from arrears.export import export_recipient

    monkeypatch.setenv("AIRFLOW_CONN_ARREARS_SFTP_EARLY", server.uri("/inbox"))
    _export_early(conn)
    local = arrears_home / "exports" / "early" / "2024-03-05"
    remote = server.root / "inbox" / "2024-03-05"

    first = deliver_recipient(D, "early")
    assert first.sent == ["early_2024-03-05.csv", "_manifest.json"]  # manifest last
    assert (remote / "early_2024-03-05.csv").read_bytes() == (local / "early_2024-03-05.csv").read_bytes()
    assert (remote / "_manifest.json").read_bytes() == (local / "_manifest.json").read_bytes()
    assert sorted(p.name for p in remote.iterdir()) == ["_manifest.json", "early_2024-03-05.csv"]  # no temp names left

    (remote / "early_2024-03-05.csv").unlink()  # if a retry re-sent it, it would reappear
    retry = deliver_recipient(D, "early")
    assert retry.sent == [] and retry.already_delivered == ["early_2024-03-05.csv", "_manifest.json"]
    assert not (remote / "early_2024-03-05.csv").exists()

    add_loan(conn, D, "L2", dpd=6, team="early")  # a corrected upstream: the file for D changes
    export_recipient(D, "early")
    again = deliver_recipient(D, "early")
    assert again.redelivered == ["early_2024-03-05.csv", "_manifest.json"]
    assert json.loads((remote / "_manifest.json").read_text(encoding="utf-8"))["files"][0]["rows"] == 2
    ledger = conn.execute(
        "select file, redelivery from audit.deliveries where recipient = 'early' order by delivered_at, file"
    ).fetchall()
    assert sorted(ledger) == [
        ("_manifest.json", False),
        ("_manifest.json", True),
        ("early_2024-03-05.csv", False),
        ("early_2024-03-05.csv", True),
    ]
    assert "re-delivered" in again.summary()


def test_recipient_without_connection_is_skipped_with_a_note(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.deliver import deliver_recipient

    monkeypatch.delenv("AIRFLOW_CONN_ARREARS_SFTP_EARLY", raising=False)
    _export_early(conn)
    result = deliver_recipient(D, "early")
    assert result.target is None
    assert "skipped (no SFTP connection: set AIRFLOW_CONN_ARREARS_SFTP_EARLY)" in result.summary()


def test_wrong_password_is_one_clear_error_and_nothing_recorded(
    conn: psycopg.Connection, arrears_home: Path, server: SftpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.deliver import DeliveryFailed, deliver_recipient

    monkeypatch.setenv("AIRFLOW_CONN_ARREARS_SFTP_EARLY", server.uri().replace("s3cret", "wrong"))
    _export_early(conn)
    with pytest.raises(DeliveryFailed, match="deliver early 2024-03-05 to sftp://collector@127.0.0.1") as failed:
        deliver_recipient(D, "early")
    assert "PermissionDenied" in str(failed.value) and "attempts" not in str(failed.value)  # a refusal: no retry
    assert conn.execute("select count(*) from audit.deliveries").fetchone() == (0,)


def test_connection_uri_forms() -> None:
    import os

    from arrears.deliver.connection import SftpConnectionError, sftp_target

    os.environ["AIRFLOW_CONN_ARREARS_SFTP_LEGAL"] = (
        "sftp://u@h.example:2200/out/legal?key_file=/k&no_host_key_check=true"
    )
    try:
        target = sftp_target("legal")
        assert target is not None
        assert (target.host, target.port, target.path, target.key_file, target.no_host_key_check) == (
            "h.example",
            2200,
            "/out/legal",
            "/k",
            True,
        )
        assert (target.retries, target.retry_delay) == (3, 2.0)
        os.environ["AIRFLOW_CONN_ARREARS_SFTP_LEGAL"] = "sftp://u:p@h.example/out?retries=5&retry_delay=0.5"
        assert (sftp_target("legal") or target).retries == 5 and (sftp_target("legal") or target).retry_delay == 0.5
        os.environ["AIRFLOW_CONN_ARREARS_SFTP_LEGAL"] = "sftp://u:p@h.example/out?retries=many"
        with pytest.raises(SftpConnectionError, match="retries must be an integer"):
            sftp_target("legal")
        os.environ["AIRFLOW_CONN_ARREARS_SFTP_LEGAL"] = "sftp://u@h.example/out"
        with pytest.raises(SftpConnectionError, match="password or a key_file"):
            sftp_target("legal")
    finally:
        del os.environ["AIRFLOW_CONN_ARREARS_SFTP_LEGAL"]


CSV = "early_2024-03-05.csv"
FAST_RETRIES = "&retries=2&retry_delay=0.01"  # 3 attempts, back-off 0.01 s then 0.02 s


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_connection_dropped_mid_upload_is_retried_and_the_file_delivered_once(
    conn: psycopg.Connection, arrears_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.deliver import deliver_recipient

    drop = DropUpload(file=CSV, after_bytes=40, times=1)  # the first connection dies 40 bytes into the CSV
    with sftp_server(tmp_path / "sftp", drop=drop) as server:
        monkeypatch.setenv("AIRFLOW_CONN_ARREARS_SFTP_EARLY", server.uri("/inbox") + FAST_RETRIES)
        _export_early(conn)
        local = arrears_home / "exports" / "early" / "2024-03-05"
        remote = server.root / "inbox" / "2024-03-05"
        assert (local / CSV).stat().st_size > 40  # so the drop really is mid-file

        first = deliver_recipient(D, "early")
        assert drop.drops == 1 and drop.partial_sizes == [40]  # the server did drop the first attempt
        assert first.sent == [CSV, "_manifest.json"]
        for name in (CSV, "_manifest.json"):
            assert _sha256(remote / name) == _sha256(local / name)
        # no temporary (`.<file>.uploading`) and no partial file left, hidden ones included
        assert sorted(p.name for p in remote.iterdir()) == ["_manifest.json", CSV]
        ledger = "select file, sha256, redelivery from audit.deliveries where recipient = 'early' order by file"
        rows = conn.execute(ledger).fetchall()
        assert rows == [
            ("_manifest.json", _sha256(local / "_manifest.json"), False),
            (CSV, _sha256(local / CSV), False),
        ]

        mtimes = {p.name: p.stat().st_mtime_ns for p in remote.iterdir()}
        again = deliver_recipient(D, "early")  # re-running after success delivers nothing new
        assert again.sent == [] and again.already_delivered == [CSV, "_manifest.json"]
        assert {p.name: p.stat().st_mtime_ns for p in remote.iterdir()} == mtimes
        assert conn.execute(ledger).fetchall() == rows
        assert drop.drops == 1


def test_connection_dropped_on_every_attempt_is_one_clear_error_and_nothing_recorded(
    conn: psycopg.Connection, arrears_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.deliver import DeliveryFailed, deliver_recipient

    drop = DropUpload(file=CSV, after_bytes=40, times=None)
    with sftp_server(tmp_path / "sftp", drop=drop) as server:
        monkeypatch.setenv("AIRFLOW_CONN_ARREARS_SFTP_EARLY", server.uri("/inbox") + FAST_RETRIES)
        _export_early(conn)
        remote = server.root / "inbox" / "2024-03-05"

        with pytest.raises(DeliveryFailed, match="connection dropped on all 3 attempts") as failed:
            deliver_recipient(D, "early")
        assert "\n" not in str(failed.value)
        assert drop.drops == 3  # 1 attempt + 2 retries, each really dropped mid-file
        # the recipient sees no file: only the hidden temporary holds the partial bytes
        assert sorted(p.name for p in remote.iterdir()) == [f".{CSV}.uploading"]
        assert (remote / f".{CSV}.uploading").stat().st_size == 40
        assert conn.execute("select count(*) from audit.deliveries").fetchone() == (0,)

        cli = run_cli("deliver", "--date", "2024-03-05")  # the operator's view: a line per recipient, non-zero exit
        assert cli.returncode != 0
        assert "Traceback" not in cli.stderr
        error_lines = [line for line in cli.stderr.splitlines() if line.startswith("arrears: error:")]
        assert error_lines == ["arrears: error: deliver 2024-03-05: 1 of 9 recipients failed: early"]
        assert error_lines == [cli.stderr.splitlines()[-1]]
        early = [line for line in cli.stdout.splitlines() if line.startswith("deliver early ")]
        assert len(early) == 1 and early[0].startswith("deliver early 2024-03-05: failed: connection dropped on all 3")
        assert early[0].endswith(f"-> sftp://collector@127.0.0.1:{server.port}/inbox")
        assert drop.drops == 6
        assert not (remote / CSV).exists()
        assert conn.execute("select count(*) from audit.deliveries").fetchone() == (0,)


def test_connection_dropped_at_the_manifest_records_what_arrived_and_the_rerun_sends_only_the_rest(
    conn: psycopg.Connection, arrears_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.deliver import DeliveryFailed, deliver_recipient

    drop = DropUpload(file="_manifest.json", after_bytes=20, times=None)
    with sftp_server(tmp_path / "sftp", drop=drop) as server:
        monkeypatch.setenv("AIRFLOW_CONN_ARREARS_SFTP_EARLY", server.uri("/inbox") + "&retries=1&retry_delay=0.01")
        _export_early(conn)
        local = arrears_home / "exports" / "early" / "2024-03-05"
        remote = server.root / "inbox" / "2024-03-05"

        with pytest.raises(DeliveryFailed, match="connection dropped on all 2 attempts"):
            deliver_recipient(D, "early")
        assert drop.drops == 2
        assert sorted(p.name for p in remote.iterdir()) == ["._manifest.json.uploading", CSV]  # no manifest visible
        ledger = "select file from audit.deliveries where recipient = 'early' order by file"
        assert conn.execute(ledger).fetchall() == [(CSV,)]  # the CSV did arrive (renamed), once

        drop.times = drop.drops  # the server is healthy again
        rerun = deliver_recipient(D, "early")
        assert rerun.sent == ["_manifest.json"] and rerun.already_delivered == [CSV]
        assert _sha256(remote / "_manifest.json") == _sha256(local / "_manifest.json")
        assert sorted(p.name for p in remote.iterdir()) == ["_manifest.json", CSV]
        assert conn.execute(ledger).fetchall() == [("_manifest.json",), (CSV,)]
