"""Exports: policies, header language, formula injection, atomic and byte-identical files, the gate."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.support.exports import D, clear_gate, read_csv, use_recipients
from tests.support.marts import add_borrower, add_contact_number, add_loan, create_marts

KEY = "test-hash-key-not-a-secret"


@pytest.fixture()
def hash_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ARREARS_HASH_KEY", KEY)
    return KEY


def test_collector_file_masks_the_id_number_and_uses_chinese_headers(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    from arrears.export import export_recipient

    create_marts(conn)
    add_loan(conn, D, "L1", dpd=5, team="early", overdue="1234.50")
    add_borrower(conn, D, "B1")
    clear_gate(conn)

    written = export_recipient(D, "early")

    rows = read_csv(written.files[0].path)
    header = dict(zip(rows[0], rows[1], strict=True))
    assert rows[0][:3] == ["优先级", "借据号", "姓名"]
    assert header["身份证号"] == "310101********1234"
    assert header["手机号"] == "13912341234"  # in-house collectors call the number
    assert header["姓名"] == "张三丰"
    assert header["逾期金额"] == "1234.50"
    assert header["可用渠道"] == "call|sms"
    assert "early_2024-03-05.csv" in written.summary() and "1 rows" in written.summary()


def test_sms_gateway_gets_only_phone_and_message_variables_with_a_stable_keyed_hash(
    conn: psycopg.Connection, arrears_home: Path, hash_key: str
) -> None:
    from arrears.export import export_recipient

    create_marts(conn)
    add_loan(conn, D, "L7", dpd=0, team="predue")
    add_borrower(conn, D, "B7")
    clear_gate(conn)

    rows = read_csv(export_recipient(D, "predue").files[0].path)

    assert rows[0] == ["reference", "mobile_phone", "due_date", "amount_due"]  # English headers, no name, no ID
    expected = hmac.new(KEY.encode(), b"L7", hashlib.sha256).hexdigest()
    assert rows[1][0] == expected
    assert rows[1][1] == "13912341234"
    flat = ",".join(rows[1])
    assert "张" not in flat and "3101" not in flat


def test_hashed_column_without_a_key_is_one_clear_error(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.export import export_recipient
    from arrears.export.privacy import HashKeyMissing

    monkeypatch.delenv("ARREARS_HASH_KEY", raising=False)
    create_marts(conn)
    clear_gate(conn)
    with pytest.raises(HashKeyMissing, match="ARREARS_HASH_KEY is not set"):
        export_recipient(D, "predue")
    assert not (arrears_home / "exports" / "predue").exists()


def test_every_policy_and_omission_from_a_custom_recipients_file(
    conn: psycopg.Connection, arrears_home: Path, hash_key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from arrears.export import export_recipient

    config = {
        "schema_version": 3,
        "recipients": {
            "audit": {
                "teams": ["mid"],
                "header_language": "en",
                "suites": ["fct_work_queue"],
                "columns": [
                    {"name": "national_id", "policy": "full"},
                    {"name": "mobile_phone", "policy": "masked"},
                    {"name": "full_name", "policy": "masked"},
                    {"name": "email", "policy": "masked"},
                    {"name": "borrower_key", "policy": "hashed"},
                ],
            }
        },
    }
    use_recipients(config, tmp_path, monkeypatch)
    create_marts(conn)
    add_loan(conn, D, "L2", dpd=45, team="mid")
    add_borrower(conn, D, "B2")
    clear_gate(conn)

    written = export_recipient(D, "audit")
    rows = read_csv(written.files[0].path)

    assert rows[0] == ["id_number", "mobile_phone", "name", "email", "borrower_key"]  # everything else omitted
    assert rows[1][:4] == ["310101199001011234", "139****1234", "张**", "z***@example.com"]
    assert rows[1][4] == hmac.new(KEY.encode(), b"B2", hashlib.sha256).hexdigest()
    manifest = json.loads((written.folder / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema_version"] == 3


def test_third_party_may_not_receive_the_full_id_number(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from arrears.export.config import RecipientConfigError, load_recipients

    config = {
        "recipients": {
            "agency": {
                "teams": ["agency"],
                "third_party": True,
                "suites": ["x"],
                "columns": [{"name": "national_id", "policy": "full"}],
            }
        }
    }
    path = tmp_path / "recipients.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(RecipientConfigError, match="third party and may not receive national_id in full"):
        load_recipients(path)
    shipped = load_recipients()  # the shipped defaults honour the rule
    for name in ("agency_acme", "agency_summit", "agency_pioneer"):  # one per agency, all from the template
        assert {c.spec.name: c.policy for c in shipped[name].columns}["national_id"] == "masked"


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_injection_is_neutralised_on_every_trigger(
    conn: psycopg.Connection, arrears_home: Path, trigger: str
) -> None:
    from arrears.export import export_recipient

    create_marts(conn)
    add_loan(conn, D, "L3", dpd=5, team="early")
    add_borrower(conn, D, "B3", full_name=f'{trigger}HYPERLINK("http://x","y")')
    clear_gate(conn)

    rows = read_csv(export_recipient(D, "early").files[0].path)

    name = rows[1][2]
    assert name == f'\'{trigger}HYPERLINK("http://x","y")'
    assert not name.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_sub_teams_match_literally_and_masked_cells_are_neutralised_too(
    conn: psycopg.Connection, arrears_home: Path, hash_key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from arrears.export import export_recipient

    config = {
        "recipients": {
            "ops": {
                "teams": ["a_b"],  # `_` is a LIKE wildcard: it must match only itself
                "header_language": "en",
                "suites": ["fct_work_queue"],
                "columns": [
                    {"name": "team_id", "policy": "full"},
                    {"name": "full_name", "policy": "masked"},
                    {"name": "borrower_key", "policy": "hashed"},
                ],
            }
        },
    }
    use_recipients(config, tmp_path, monkeypatch)
    create_marts(conn)
    for number, team in enumerate(["a_b", "a_b:acme", "axb", "axb:acme", "a_bc", "a_b_x:1"], start=1):
        add_loan(conn, D, f"L{number}", dpd=5, team=team, rank=number, channels=["call"])
        add_borrower(conn, D, f"B{number}", line=number, full_name="=SUM(A1)")
    clear_gate(conn)

    written = export_recipient(D, "ops")
    rows = read_csv(written.files[0].path)

    assert [row[0] for row in rows[1:]] == ["a_b", "a_b:acme"]
    assert rows[1][1] == "'=*******"  # the mask keeps the trigger, so the masked cell is neutralised
    assert rows[1][2] == hmac.new(KEY.encode(), b"B1", hashlib.sha256).hexdigest()  # hex: never prefixed
    manifest = json.loads((written.folder / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["control_totals"]["rows_per_team"] == {"a_b": 1, "a_b:acme": 1}


def test_borrower_version_known_at_the_date_is_exported(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.export import export_recipient

    create_marts(conn)
    add_loan(conn, D, "L4", dpd=5, team="early")
    add_borrower(conn, D - dt.timedelta(days=2), "B4", full_name="旧名")
    add_borrower(conn, D, "B4", line=2, full_name="新名")
    add_borrower(
        conn,
        D + dt.timedelta(days=1),
        "B4",
        line=3,
        full_name="未来名",
        updated_at=dt.datetime(2024, 3, 6, 9, tzinfo=dt.UTC),
    )
    clear_gate(conn)

    assert read_csv(export_recipient(D, "early").files[0].path)[1][2] == "新名"


def test_reexport_is_byte_identical_and_manifest_written_last(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.export import export_recipient

    create_marts(conn)
    for number, team in enumerate(["early", "early", "mid", "early"], start=1):
        add_loan(conn, D, f"L{number}", dpd=5 if team == "early" else 40, team=team, rank=5 - number)
        add_borrower(conn, D, f"B{number}", line=number)
    for number in (1, 2, 4):  # two numbers each, one a locate-only third party
        add_contact_number(conn, D, f"L{number}", f"B{number}", f"CP{number}a", "own_mobile", f"1380000000{number}")
        add_contact_number(conn, D, f"L{number}", f"B{number}", f"CP{number}b", "employer", f"0215555000{number}")
    clear_gate(conn)

    first = export_recipient(D, "early")
    data = first.files[0].path.read_bytes()
    numbers = first.files[1].path.read_bytes()
    manifest_path = first.folder / "_manifest.json"
    manifest = manifest_path.read_bytes()
    second = export_recipient(D, "early")

    assert second.files[0].path.read_bytes() == data
    assert second.files[1].path.read_bytes() == numbers
    assert manifest_path.read_bytes() == manifest
    document = json.loads(manifest)
    assert document["files"] == [
        {"file": "early_2024-03-05.csv", "rows": 3, "sha256": hashlib.sha256(data).hexdigest()},
        {"file": "early_2024-03-05_numbers.csv", "rows": 6, "sha256": hashlib.sha256(numbers).hexdigest()},
    ]
    # The numbers follow the rows' priority order; the own number before the locate-only one.
    lines = read_csv(first.files[1].path)
    assert lines[0] == ["借据号", "号码编号", "号码类型", "关系", "电话号码", "仅限查找本人"]
    assert [(line[0], line[2], line[4], line[5]) for line in lines[1:3]] == [
        ("L4", "own_mobile", "13800000004", "false"),
        ("L4", "employer", "02155550004", "true"),
    ]
    assert document["control_totals"]["rows_per_team"] == {"early": 3}
    assert document["control_totals"]["overdue_amount"] == "3000.00"
    assert document["dq_run_id"] == "dq-2024-03-05-test"
    assert [row[1] for row in read_csv(first.files[0].path)[1:]] == ["L4", "L2", "L1"]  # priority order
    assert manifest_path.stat().st_mtime_ns >= first.files[0].path.stat().st_mtime_ns
    recorded = conn.execute("select rows, sha256 from audit.exports where recipient = 'early' order by file").fetchall()
    assert recorded == [(3, hashlib.sha256(data).hexdigest()), (6, hashlib.sha256(numbers).hexdigest())]


def test_parquet_format(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    from arrears.export import export_recipient

    use_recipients(
        {
            "recipients": {
                "bi": {
                    "teams": ["early"],
                    "format": "parquet",
                    "header_language": "en",
                    "suites": ["fct_work_queue"],
                    "columns": [
                        {"name": "loan_id", "policy": "full"},
                        {"name": "overdue_amount", "policy": "full"},
                    ],
                }
            }
        },
        tmp_path,
        monkeypatch,
    )
    create_marts(conn)
    add_loan(conn, D, "L1", dpd=5, team="early", overdue="10.25")
    clear_gate(conn)

    table = pq.read_table(export_recipient(D, "bi").files[0].path)

    assert table.column_names == ["loan_id", "overdue_amount"]
    assert table.to_pylist()[0]["loan_id"] == "L1"
    assert str(table.to_pylist()[0]["overdue_amount"]) == "10.25"


def test_no_check_run_or_a_failed_suite_blocks_the_export(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.errors import QualityGateFailed
    from arrears.export import export_recipient

    create_marts(conn)
    add_loan(conn, D, "L1", dpd=5, team="early")
    with pytest.raises(QualityGateFailed, match="no check run"):
        export_recipient(D, "early")
    clear_gate(conn, failing={"export_early": "early_stage_only"})
    with pytest.raises(QualityGateFailed, match="export_early.early_stage_only"):
        export_recipient(D, "early")
    assert not (arrears_home / "exports" / "early" / "2024-03-05").exists()


KILLER = """
import datetime as dt, os, signal, sys
import arrears.export.files as files
original = files.HashingWriter.write
def write_then_die(self, data):
    original(self, data)
    self._handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)  # killed mid-file, after bytes reached the disk
files.HashingWriter.write = write_then_die
from arrears.export import export_recipient
export_recipient(dt.date(2024, 3, 5), "early")
"""


def test_a_kill_during_export_leaves_no_partial_file(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.export import export_recipient

    create_marts(conn)
    add_loan(conn, D, "L1", dpd=5, team="early")
    clear_gate(conn)
    folder = arrears_home / "exports" / "early" / "2024-03-05"

    killed = subprocess.run([sys.executable, "-c", KILLER], env=dict(os.environ), capture_output=True, timeout=300)

    assert killed.returncode == -signal.SIGKILL
    visible = [p.name for p in folder.iterdir() if not p.name.startswith(".")]
    assert visible == []  # neither the data file nor a manifest: readers see nothing
    assert [p.name for p in folder.iterdir() if p.name.endswith(".partial")]  # the bytes were being written

    export_recipient(D, "early")  # the rerun cleans up and publishes
    assert sorted(p.name for p in folder.iterdir()) == [
        "_manifest.json",
        "early_2024-03-05.csv",
        "early_2024-03-05_numbers.csv",
    ]
