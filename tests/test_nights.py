"""A night without a delivery is refused and marked missing; a published date can be retracted; `arrears audit`.

Stand-in marts (tests/test_checks_support.py) with the real warehouse, real GX for the passing gate,
and the CLI entry point for exit codes and messages.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg
import pytest

from arrears.cli import main
from tests.support.exports import clear_gate
from tests.support.marts import add_borrower, add_loan, create_marts

D = dt.date(2024, 3, 5)
REFUSAL = (
    "no delivery loaded for 2024-03-05: the gate refuses to pass a night built on stale data;"
    " ingest it first (arrears ingest --date 2024-03-05)"
)


@pytest.fixture()
def hash_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARREARS_HASH_KEY", "k")


def _stale_night(conn: psycopg.Connection) -> None:
    """Marts hold rows for D (built from earlier deliveries) but D's own delivery never arrived."""
    create_marts(conn)
    add_loan(conn, D, "L1", dpd=5, team="early")
    add_borrower(conn, D, "B1")
    conn.execute("delete from audit.batches where business_date = %s", (D,))


def _full_night(conn: psycopg.Connection) -> None:
    """One loan per team, every suite passes (as in test_checks_blocks_exports after its fix)."""
    create_marts(conn)
    loans = [(0, "predue"), (5, "early"), (45, "mid"), (75, "field"), (130, "agency:acme"), (130, "legal")]
    for number, (dpd, team) in enumerate(loans, start=1):
        # The field and legal rules: field overdue above its floor, legal principal above its minimum.
        overdue = "4000.00" if team == "field" else "1000.00"
        outstanding = "15000.00" if team == "legal" else "20000.00"
        add_loan(conn, D, f"L{number}", dpd=dpd, team=team, overdue=overdue, outstanding=outstanding)
        add_borrower(conn, D, f"B{number}", line=number)


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_check_and_every_export_refuse_a_date_without_delivery_and_mark_it_missing(
    conn: psycopg.Connection, arrears_home: Path, hash_key: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from arrears.checks import suite_names
    from arrears.errors import QualityGateFailed
    from arrears.export import export_recipient, recipient_names

    _stale_night(conn)
    clear_gate(conn)  # a passing run recorded before the delivery went missing must not open the gate

    assert main(["check", "--date", "2024-03-05"]) == 5
    captured = capsys.readouterr()
    assert _one_line(captured.err) == f"check 2024-03-05 refused: {REFUSAL}"
    assert captured.out == ""
    # The refusal is a check run like any other: every suite failed on delivery_loaded, the latest run.
    latest = conn.execute(
        "select suite, expectation, success from audit.dq_results where business_date = %s"
        " and run_id = (select max(run_id) from audit.dq_results where business_date = %s and run_id like 'dq-%%Z')",
        (D, D),
    ).fetchall()
    assert sorted(latest) == sorted((suite, "delivery_loaded", False) for suite in suite_names())
    assert conn.execute("select status, detail from audit.night_status where business_date = %s", (D,)).fetchall() == [
        ("missing", "no delivery loaded for 2024-03-05")
    ]

    assert main(["export", "--date", "2024-03-05"]) == 5
    assert _one_line(capsys.readouterr().err) == f"arrears: error: export 2024-03-05 refused: {REFUSAL}"
    for name in recipient_names():  # the DAG's per-recipient task takes the same gate
        with pytest.raises(QualityGateFailed, match="no delivery loaded for 2024-03-05"):
            export_recipient(D, name)
    assert not (arrears_home / "exports").exists()
    assert conn.execute("select count(*) from audit.exports").fetchone() == (0,)

    assert main(["audit", "--date", "2024-03-05"]) == 0
    screen = capsys.readouterr().out.splitlines()
    assert screen[0].startswith("night 2024-03-05: MISSING: no delivery loaded for 2024-03-05 (marked ")
    assert "delivery   none loaded" in screen
    assert any(line.startswith("checks     REFUSED (no loaded delivery)") for line in screen)
    assert "exports    none" in screen and "deliveries none" in screen

    assert main(["audit"]) == 0
    (night,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("2024-03-05")]
    assert "none" in night and "refused" in night and "MISSING: no delivery loaded" in night


def test_a_delivery_over_the_quarantine_limit_is_not_a_loaded_one(
    conn: psycopg.Connection, arrears_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _stale_night(conn)
    conn.execute(
        "insert into audit.batches (business_date, status, manifest, rows_loaded, rows_quarantined)"
        " values (%s, 'quarantine_limit_exceeded', '{}', 10, 9)",
        (D,),
    )
    assert main(["check", "--date", "2024-03-05"]) == 5
    assert "the delivery of 2024-03-05 is not loaded (status quarantine_limit_exceeded)" in capsys.readouterr().err
    assert main(["audit", "--date", "2024-03-05"]) == 0
    assert "delivery   quarantine_limit_exceeded " in capsys.readouterr().out


def test_a_later_successful_ingest_clears_the_missing_mark(
    conn: psycopg.Connection, arrears_home: Path, tmp_path: Path
) -> None:
    from arrears.checks import run_checks
    from arrears.checks.night_status import night_mark
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery

    assert run_checks(D).refused
    assert night_mark(D) is not None
    generate(loans=20, start=D, days=1, seed=1, out=tmp_path / "landing", inject_faults=0.0)
    ingest_delivery(D, tmp_path / "landing")
    assert night_mark(D) is None


def _visible(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if not path.name.startswith("."))


def test_retract_withdraws_the_files_and_blocks_exports_until_a_new_gate_passes(
    conn: psycopg.Connection, arrears_home: Path, hash_key: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from arrears.checks import run_checks
    from arrears.export import export_all, recipient_names
    from arrears.export.files import sha256_of

    _full_night(conn)
    first = run_checks(D)
    assert first.success, first.summary()
    published = {item.recipient: item for item in export_all(D)}
    assert sorted(published) == sorted(recipient_names())
    before = {name: json.loads((item.folder / "_manifest.json").read_text()) for name, item in published.items()}

    assert main(["retract", "--date", "2024-03-05", "--reason", "wrong source file"]) == 0
    assert capsys.readouterr().out.startswith("retract 2024-03-05: 9 recipient folder(s) withdrawn (wrong source file)")
    for name, item in published.items():
        assert _visible(item.folder) == ["_RETRACTED.json"]  # no manifest: no reader or deliver trusts the folder
        notice = json.loads((item.folder / "_RETRACTED.json").read_text())
        assert notice["reason"] == "wrong source file" and notice["status"] == "retracted"
        assert notice["withdrawn_files"] == before[name]["files"]
        assert notice["withdrawn_dq_run_id"] == before[name]["dq_run_id"]
        (evidence,) = (item.folder / ".retracted").iterdir()  # nothing deleted: the evidence is kept
        data = item.files[0]
        assert sha256_of(evidence / data.path.name) == data.sha256
        assert json.loads((evidence / "_manifest.json").read_text()) == before[name]
    assert conn.execute("select status, detail from audit.night_status where business_date = %s", (D,)).fetchall() == [
        ("retracted", "wrong source file")
    ]

    # Re-exporting the same verdict is refused: the retraction needs a fresh passing gate.
    assert main(["export", "--date", "2024-03-05"]) == 5
    assert "the date was retracted (wrong source file)" in _one_line(capsys.readouterr().err)
    assert all(_visible(item.folder) == ["_RETRACTED.json"] for item in published.values())

    # Idempotent: a second retract changes nothing.
    snapshot = sorted(str(path.relative_to(arrears_home)) for path in (arrears_home / "exports").rglob("*"))
    assert main(["retract", "--date", "2024-03-05", "--reason", "again"]) == 0
    assert "already retracted (wrong source file); nothing changed" in capsys.readouterr().out
    assert sorted(str(path.relative_to(arrears_home)) for path in (arrears_home / "exports").rglob("*")) == snapshot

    assert main(["audit", "--date", "2024-03-05"]) == 0
    screen = capsys.readouterr().out
    assert screen.startswith("night 2024-03-05: RETRACTED: wrong source file")
    assert "checks     passed: " in screen
    (early,) = [line for line in screen.splitlines() if line.startswith("export     early: early_2024-03-05.csv")]
    assert f" 1 rows sha256 {published['early'].files[0].sha256[:12]} " in early
    assert early.endswith("[no longer in its folder]")
    assert "withdrawn  early/2024-03-05/.retracted/" in screen

    # A fresh passing gate clears the retraction; the date publishes again and the notice goes.
    assert run_checks(D).success
    assert conn.execute("select count(*) from audit.night_status").fetchone() == (0,)
    assert main(["export", "--date", "2024-03-05"]) == 0
    capsys.readouterr()
    for item in published.values():
        assert _visible(item.folder) == sorted([*(file.path.name for file in item.files), "_manifest.json"])


def test_bad_input_is_one_line_and_non_zero(
    conn: psycopg.Connection, arrears_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["retract", "--date", "2024-03-09", "--reason", "oops"]) == 1
    assert _one_line(capsys.readouterr().err) == (
        "arrears: error: nothing to retract for 2024-03-09: no export was published for that date"
        " (no folder under exports/ and no file in audit.exports)"
    )
    assert conn.execute("select count(*) from audit.night_status").fetchone() == (0,)
    assert main(["audit", "--date", "2024-03-09"]) == 1
    assert _one_line(capsys.readouterr().err).startswith("arrears: error: nothing is known about 2024-03-09:")
    assert main(["audit"]) == 0
    assert capsys.readouterr().out.startswith("no nights yet")
    assert main(["retract", "--date", "2024-03-05", "--reason", "   "]) == 1
    assert "needs a --reason" in _one_line(capsys.readouterr().err)
    with pytest.raises(SystemExit) as bad_date:
        main(["retract", "--date", "2024-13-01", "--reason", "x"])
    assert bad_date.value.code == 2
    assert "not a date" in _one_line(capsys.readouterr().err.splitlines()[-1])


def test_the_next_deliver_pushes_the_notice_to_recipients_that_had_the_files_and_republishes_whole(
    conn: psycopg.Connection, arrears_home: Path, hash_key: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.checks.night_status import clear_retraction
    from arrears.deliver import deliver_recipient
    from arrears.export import export_recipient
    from arrears.nights.retract import retract
    from tests.support.sftp_server import sftp_server

    _stale_night(conn)
    add_loan(conn, D, "L2", dpd=45, team="mid")
    clear_gate(conn)
    with sftp_server(tmp_path / "sftp") as server:
        monkeypatch.setenv("AIRFLOW_CONN_ARREARS_SFTP_EARLY", server.uri("/inbox"))
        monkeypatch.setenv("AIRFLOW_CONN_ARREARS_SFTP_MID", server.uri("/mid"))
        export_recipient(D, "early")
        export_recipient(D, "mid")
        sent = deliver_recipient(D, "early").sent
        assert sent == ["early_2024-03-05.csv", "early_2024-03-05_numbers.csv", "_manifest.json"]
        remote = server.root / "inbox" / "2024-03-05"

        retract(D, "loaded the wrong day")
        notice = deliver_recipient(D, "early")
        assert notice.sent == ["_RETRACTED.json"]
        assert json.loads((remote / "_RETRACTED.json").read_text())["reason"] == "loaded the wrong day"
        assert deliver_recipient(D, "early").sent == []  # sent once
        # mid never received the date: nothing to withdraw on its server.
        assert "retracted before any file was delivered" in deliver_recipient(D, "mid").summary()
        assert not (server.root / "mid").exists()

        clear_retraction(D)  # what a fresh passing `arrears check` does
        export_recipient(D, "early")  # the same bytes as before the retraction
        again = deliver_recipient(D, "early")
        assert again.sent == [
            "early_2024-03-05.csv",
            "early_2024-03-05_numbers.csv",
            "_manifest.json",
        ]  # whole again: files before the notice are void
        assert again.redelivered == []
