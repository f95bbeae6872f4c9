"""Gate policy end to end with real GX: a failed suite blocks exactly its recipients; a rerun publishes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from tests.support.marts import add_borrower, add_loan, create_marts

D = dt.date(2024, 3, 5)


def test_a_failing_legal_rule_blocks_only_legal_then_a_rerun_publishes(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.checks import run_checks
    from arrears.errors import QualityGateFailed
    from arrears.export import export_all, export_recipient, recipient_names

    monkeypatch.setenv("ARREARS_HASH_KEY", "k")
    create_marts(conn)
    add_loan(conn, D, "L1", dpd=0, team="predue")
    add_loan(conn, D, "L2", dpd=5, team="early")
    add_loan(conn, D, "L3", dpd=45, team="mid")
    add_loan(conn, D, "L4", dpd=75, team="field", overdue="4000.00")
    add_loan(conn, D, "L5", dpd=130, team="agency:acme")
    # Legal, but outstanding principal 2000 < legal_min_principal and no case, restriction or hold.
    add_loan(conn, D, "L6", dpd=130, team="legal", outstanding="2000.00")
    for number in range(1, 7):
        add_borrower(conn, D, f"B{number}", line=number)

    outcome = run_checks(D)
    assert outcome.failed_suites == ["export_legal"], outcome.summary()
    assert "export_legal.legal_rule" in outcome.summary()

    with pytest.raises(QualityGateFailed) as blocked:
        export_all(D)
    message = str(blocked.value)
    assert "exported: predue, predue_app, early, mid, field, agency_acme, agency_summit, agency_pioneer;" in message
    assert "export legal 2024-03-05 blocked by failed expectations: export_legal.legal_rule" in message
    published = {p.name for p in (arrears_home / "exports").iterdir()}
    assert published == set(recipient_names()) - {"legal"}

    # The fix upstream: the legal rule now holds (principal above the threshold); rerun the checks.
    conn.execute("update marts.fct_loan_delinquency_daily set outstanding_principal = 15000 where loan_id = 'L6'")
    assert run_checks(D).success
    written = export_recipient(D, "legal")
    assert written.files[0].rows == 1
