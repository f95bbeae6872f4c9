"""One recipient's failure never stops the others: `arrears export` and `arrears deliver` try every recipient.

Real faults, not mocks, and ones that hold when the tests run as root (where chmod does not block): a
file where a recipient's export folder should be, a folder where its data file should land, and an
SFTP server on which the recipient's remote folder is a file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import run_cli
from tests.support.exports import clear_gate
from tests.support.marts import add_borrower, add_loan, create_marts
from tests.support.sftp_server import sftp_server

D = dt.date(2024, 3, 5)
TEAMS = {"predue": 0, "early": 5, "mid": 45, "field": 75, "agency:acme": 130, "legal": 130}


def _one_loan_per_recipient(conn: psycopg.Connection) -> None:
    create_marts(conn)
    for number, (team, dpd) in enumerate(TEAMS.items(), start=1):
        add_loan(conn, D, f"L{number}", dpd=dpd, team=team, overdue="4000.00", outstanding="15000.00")
        add_borrower(conn, D, f"B{number}", line=number)
    clear_gate(conn)


def _lines(output: str) -> dict[str, str]:
    """{recipient: its result line} from the command's output."""
    return {line.split()[1]: line for line in output.splitlines() if line.startswith(("export ", "deliver "))}


def test_export_writes_the_others_when_two_recipients_fail_and_exits_non_zero(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_HASH_KEY", "k")
    _one_loan_per_recipient(conn)
    exports = arrears_home / "exports"
    exports.mkdir()
    (exports / "field").write_text("not a folder\n", encoding="utf-8")  # the folder cannot be made
    (exports / "mid" / "2024-03-05" / "mid_2024-03-05.csv").mkdir(parents=True)  # the file cannot land

    result = run_cli("export", "--date", "2024-03-05")

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = _lines(result.stdout)
    # each recipient reported, one per agency of the agencies file
    assert list(lines) == [
        "predue",
        "predue_app",
        "early",
        "mid",
        "field",
        "agency_acme",
        "agency_summit",
        "agency_pioneer",
        "legal",
    ]
    assert lines["field"].startswith("export field 2024-03-05: failed: ")
    assert "Error" in lines["field"] and str(exports / "field") in lines["field"]
    assert lines["mid"].startswith("export mid 2024-03-05: failed: IsADirectoryError")
    for name in ("predue", "early", "agency_acme", "legal"):
        assert " 1 rows sha256 " in lines[name], lines[name]
    for name in ("agency_summit", "agency_pioneer"):  # nothing placed with them: an empty file
        assert " 0 rows sha256 " in lines[name], lines[name]
    assert result.stderr.strip().splitlines()[-1] == (
        "arrears: error: export 2024-03-05: 2 of 9 recipients failed: mid, field"
    )
    # The broken recipients published nothing: no manifest, no audit row, no temporary left behind.
    assert sorted(p.name for p in (exports / "mid" / "2024-03-05").iterdir()) == ["mid_2024-03-05.csv"]
    assert (exports / "field").is_file()
    recorded = conn.execute("select recipient from audit.exports order by recipient").fetchall()
    assert [row[0] for row in recorded] == [
        "agency_acme",
        "agency_acme",
        "agency_pioneer",
        "agency_pioneer",
        "agency_summit",
        "agency_summit",
        "early",
        "early",
        "legal",
        "predue",
        "predue_app",
    ]  # a dialer's numbers file is recorded beside its rows file
    for name in ("predue", "early", "agency_acme", "legal"):
        assert (exports / name / "2024-03-05" / "_manifest.json").exists()


def test_export_all_names_what_was_written_and_each_failure(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.errors import ArrearsError, QualityGateFailed
    from arrears.export import export_all

    monkeypatch.setenv("ARREARS_HASH_KEY", "k")
    _one_loan_per_recipient(conn)
    (arrears_home / "exports").mkdir()
    (arrears_home / "exports" / "field").write_text("", encoding="utf-8")

    with pytest.raises(ArrearsError) as failed:
        export_all(D)

    assert not isinstance(failed.value, QualityGateFailed)  # a disk fault is not a gate refusal
    assert str(failed.value).startswith(
        "exported: predue, predue_app, early, mid, agency_acme, agency_summit, agency_pioneer, legal; "
        "export field 2024-03-05: failed:"
    )


def test_deliver_tries_every_recipient_and_reports_each(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from arrears.export import ExportWritten, export_each

    monkeypatch.setenv("ARREARS_HASH_KEY", "k")
    for name in ("PREDUE", "FIELD", "AGENCY_SUMMIT", "AGENCY_PIONEER"):
        monkeypatch.delenv(f"AIRFLOW_CONN_ARREARS_SFTP_{name}", raising=False)
    _one_loan_per_recipient(conn)
    assert all(isinstance(item, ExportWritten) for item in export_each(D))
    with sftp_server(tmp_path / "sftp") as server:
        (server.root / "blocked").write_text("a file where mid's folder should be\n", encoding="utf-8")
        monkeypatch.setenv("AIRFLOW_CONN_ARREARS_SFTP_EARLY", server.uri("/inbox") + "&retries=0")
        monkeypatch.setenv("AIRFLOW_CONN_ARREARS_SFTP_MID", server.uri("/blocked") + "&retries=0")
        monkeypatch.setenv("AIRFLOW_CONN_ARREARS_SFTP_LEGAL", server.uri("/~/legal") + "&retries=0")
        # Each agency is its own recipient with its own connection (derived from the agencies file).
        monkeypatch.setenv("AIRFLOW_CONN_ARREARS_SFTP_AGENCY_ACME", server.uri("/~/acme") + "&retries=0")

        result = run_cli("deliver", "--date", "2024-03-05")

        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        lines = _lines(result.stdout)
        assert list(lines) == [
            "predue",
            "predue_app",
            "early",
            "mid",
            "field",
            "agency_acme",
            "agency_summit",
            "agency_pioneer",
            "legal",
        ]
        assert "skipped (no SFTP connection: set AIRFLOW_CONN_ARREARS_SFTP_AGENCY_SUMMIT)" in lines["agency_summit"]
        assert sorted(p.name for p in (server.root / "acme" / "2024-03-05").iterdir()) == [
            "_manifest.json",
            "agency_acme_2024-03-05.csv",
            "agency_acme_2024-03-05_numbers.csv",
        ]
        assert "skipped (no SFTP connection: set AIRFLOW_CONN_ARREARS_SFTP_PREDUE)" in lines["predue"]
        assert lines["early"].endswith(f"3 sent, 0 already delivered -> sftp://collector@127.0.0.1:{server.port}/inbox")
        mid = lines["mid"]
        assert mid.startswith("deliver mid 2024-03-05: failed: remote folder /blocked/2024-03-05: ")  # the refused path
        assert mid.endswith(f"-> sftp://collector@127.0.0.1:{server.port}/blocked")
        assert "/blocked is absolute, from the server's root" in mid and "write /~/blocked" in mid
        # legal comes after the failed mid and is still delivered, below the login folder (`/~/legal`)
        assert "2 sent" in lines["legal"]
        assert sorted(p.name for p in (server.root / "legal" / "2024-03-05").iterdir()) == [
            "_manifest.json",
            "legal_2024-03-05.xlsx",
        ]
        assert (server.root / "inbox" / "2024-03-05" / "early_2024-03-05.csv").exists()
        assert (server.root / "inbox" / "2024-03-05" / "early_2024-03-05_numbers.csv").exists()  # the dialer's numbers
        assert result.stderr.strip().splitlines()[-1] == (
            "arrears: error: deliver 2024-03-05: 1 of 9 recipients failed: mid"
        )
    ledger = conn.execute("select distinct recipient from audit.deliveries order by 1").fetchall()
    assert ledger == [("agency_acme",), ("early",), ("legal",)]


def test_a_gate_refusal_is_one_recipients_failed_line_with_the_gates_exit_code(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.cli import main
    from arrears.export import ExportFailed, ExportWritten, export_each

    monkeypatch.setenv("ARREARS_HASH_KEY", "k")
    create_marts(conn)
    for number, (team, dpd) in enumerate(TEAMS.items(), start=1):
        add_loan(conn, D, f"L{number}", dpd=dpd, team=team)
    clear_gate(conn, failing={"export_legal": "legal_rule"})

    results = export_each(D)

    failed = [item for item in results if isinstance(item, ExportFailed)]
    assert [item.recipient for item in failed] == ["legal"]
    assert failed[0].blocked_by_gate and failed[0].exit_code == 5
    expected = "export legal 2024-03-05: failed: blocked by failed expectations: export_legal.legal_rule"
    expected += " (None)"  # the observed value of the recorded failure
    assert failed[0].summary() == expected
    assert sum(isinstance(item, ExportWritten) for item in results) == 8  # predue..field and three agencies
    assert main(["export", "--date", "2024-03-05"]) == 5  # only the gate refused: the gate's exit code
