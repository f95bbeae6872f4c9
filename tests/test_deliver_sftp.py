"""Delivery over a real SFTP server on 127.0.0.1: ledger-based no-double-delivery and explicit re-delivery."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.sftp_server import SftpServer, sftp_server
from tests.test_checks_support import add_borrower, add_loan, create_marts
from tests.test_export_files import clear_gate

D = dt.date(2024, 3, 5)


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
    with pytest.raises(DeliveryFailed, match="deliver early 2024-03-05 to sftp://collector@127.0.0.1"):
        deliver_recipient(D, "early")
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
        os.environ["AIRFLOW_CONN_ARREARS_SFTP_LEGAL"] = "sftp://u@h.example/out"
        with pytest.raises(SftpConnectionError, match="password or a key_file"):
            sftp_target("legal")
    finally:
        del os.environ["AIRFLOW_CONN_ARREARS_SFTP_LEGAL"]
