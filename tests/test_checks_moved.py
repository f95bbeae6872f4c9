"""Checks that left GX's column expectations still block the exports they blocked before.

A stage outside the rules is now caught by `stage_agrees_with_dpd` (`stage_known` was dropped as a re-proof,
decision 004); a queue row without a borrower and a negative balance by SQL expectations instead of GX column
expectations. Each must fail its suite and stop every recipient that lists it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.support.marts import add_borrower, add_loan, create_marts

D = dt.date(2024, 3, 5)
SUITES = ["fct_loan_delinquency_daily", "fct_work_queue", "export_predue", "export_early"]


def _clean_night(conn: psycopg.Connection) -> None:
    create_marts(conn)
    add_loan(conn, D, "L1", dpd=0, team="predue")
    add_loan(conn, D, "L2", dpd=5, team="early")
    for number in (1, 2):
        add_borrower(conn, D, f"B{number}", line=number)


def _queue_row_without_borrower(conn: psycopg.Connection) -> None:
    conn.execute("update marts.fct_work_queue set borrower_id = null where loan_id = 'L2'")


def _unknown_stage(conn: psycopg.Connection) -> None:
    conn.execute("update marts.fct_loan_delinquency_daily set stage = 'dormant' where loan_id = 'L1'")


def _negative_balance(conn: psycopg.Connection) -> None:
    conn.execute("update marts.fct_loan_delinquency_daily set outstanding_principal = -1 where loan_id = 'L2'")


@pytest.mark.parametrize(
    ("spoil", "failed"),
    [
        (_queue_row_without_borrower, "fct_work_queue.borrower_id_not_null"),
        (_unknown_stage, "fct_loan_delinquency_daily.stage_agrees_with_dpd"),
        (_negative_balance, "fct_loan_delinquency_daily.outstanding_not_negative"),
    ],
)
def test_a_moved_check_still_blocks_every_export_that_lists_its_suite(
    conn: psycopg.Connection,
    arrears_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    spoil: Callable[[psycopg.Connection], None],
    failed: str,
) -> None:
    from arrears.checks import run_suites
    from arrears.errors import QualityGateFailed
    from arrears.export import export_recipient

    monkeypatch.setenv("ARREARS_HASH_KEY", "k")
    _clean_night(conn)
    assert run_suites(D, SUITES).success
    assert export_recipient(D, "early").files[0].rows == 1

    spoil(conn)
    outcome = run_suites(D, SUITES)
    assert failed in {f"{r.suite}.{r.expectation}" for r in outcome.results if not r.success}, outcome.summary()
    for recipient in ("predue", "early"):
        with pytest.raises(QualityGateFailed, match=failed.replace(".", r"\.")):
            export_recipient(D, recipient)
