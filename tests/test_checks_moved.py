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


LEGAL_SUITES = ["fct_loan_delinquency_daily", "fct_work_queue", "fct_promises_to_pay", "export_legal"]


def _promise(conn: psycopg.Connection, action_id: str, as_of: dt.date, status: str, kept_on: dt.date | None) -> None:
    conn.execute(
        "insert into marts.fct_promises_to_pay (action_id, loan_id, promised_on, promised_date, promised_amount,"
        " window_ends_on, status, kept_on, as_of_date) values (%s, 'L2', %s, %s, 500.00, %s, %s, %s, %s)",
        (action_id, as_of - dt.timedelta(days=3), as_of, as_of + dt.timedelta(days=2), status, kept_on, as_of),
    )


def test_a_bad_promise_computed_tonight_still_blocks_the_legal_file(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The promises suite now reads only the promises whose status was computed tonight (as_of_date = D,
    decision 004): a promise of nothing, computed tonight, fails it and stops the legal recipient, which
    lists the suite; a row carried from an earlier night was checked on that night."""
    from arrears.checks import run_suites
    from arrears.errors import QualityGateFailed
    from arrears.export import export_recipient

    monkeypatch.setenv("ARREARS_HASH_KEY", "k")
    _clean_night(conn)
    _promise(conn, "earlier", D - dt.timedelta(days=1), "kept", D - dt.timedelta(days=2))
    _promise(conn, "tonight", D, "kept", D)
    assert run_suites(D, LEGAL_SUITES).success
    export_recipient(D, "legal")

    conn.execute("update marts.fct_promises_to_pay set promised_amount = 0 where action_id = 'tonight'")
    outcome = run_suites(D, LEGAL_SUITES)
    failed = {f"{r.suite}.{r.expectation}" for r in outcome.results if not r.success}
    assert failed == {"fct_promises_to_pay.promised_amount_positive"}, outcome.summary()
    with pytest.raises(QualityGateFailed, match=r"fct_promises_to_pay\.promised_amount_positive"):
        export_recipient(D, "legal")
