"""The quality gate on real GX + PostgreSQL: results stored, business checks catching bad days, exports gated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg

from tests.support.marts import add_loan, add_raw, create_marts

D = dt.date(2024, 3, 5)
YESTERDAY = D - dt.timedelta(days=1)
CORE = ["fct_loan_delinquency_daily", "fct_work_queue"]


def _failed(outcome: object) -> set[str]:
    return {f"{r.suite}.{r.expectation}" for r in outcome.results if not r.success}  # type: ignore[attr-defined]


def _balanced_two_days(conn: psycopg.Connection) -> None:
    """L1 pays 500 of principal today; L2 is unchanged. The book reconciles."""
    create_marts(conn)
    add_loan(conn, YESTERDAY, "L1", dpd=4, team="early", outstanding="20000.00", net_paid="10000.00")
    add_loan(conn, YESTERDAY, "L2", dpd=40, team="mid", outstanding="5000.00", principal="8000.00", net_paid="3000.00")
    add_loan(conn, D, "L1", dpd=5, team="early", outstanding="19500.00", net_paid="10600.00")
    add_loan(conn, D, "L2", dpd=41, team="mid", outstanding="5000.00", principal="8000.00", net_paid="3000.00")


def test_clean_day_passes_stores_every_result_and_builds_data_docs(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    from arrears.checks import run_suites
    from arrears.checks.suites import load_suites

    _balanced_two_days(conn)
    outcome = run_suites(D, CORE)

    assert outcome.success, outcome.summary()
    expected = sum(len(load_suites()[name].expectations) for name in CORE)
    stored = conn.execute(
        "select count(*), bool_and(success), count(distinct run_id) from audit.dq_results where business_date = %s",
        (D,),
    ).fetchone()
    assert stored == (expected, True, 1)
    assert (arrears_home / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()
    assert "2/2 suites passed" in outcome.summary()
    assert "data docs: file://" in outcome.summary()


def test_reconciliation_catches_a_loan_vanishing_with_its_balance(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.checks import run_suites

    _balanced_two_days(conn)
    conn.execute("delete from marts.fct_loan_delinquency_daily where business_date = %s and loan_id = 'L2'", (D,))
    conn.execute("delete from marts.fct_work_queue where business_date = %s and loan_id = 'L2'", (D,))

    outcome = run_suites(D, ["fct_loan_delinquency_daily"])

    assert _failed(outcome) == {"fct_loan_delinquency_daily.principal_reconciles"}
    observed = conn.execute(
        "select observed_value from audit.dq_results where expectation = 'principal_reconciles'"
    ).fetchone()
    assert observed is not None and '"difference": "5000.00"' in observed[0]
    assert "failed fct_loan_delinquency_daily.principal_reconciles" in outcome.summary()


def test_reconciliation_counts_disbursements_from_the_loans_delivery(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    from arrears.checks import run_suites

    _balanced_two_days(conn)
    add_loan(
        conn,
        D,
        "L3",
        dpd=0,
        team=None,
        outstanding="6000.00",
        principal="6000.00",
        net_paid="0",
        queued=False,
        stage="current",
    )
    assert "fct_loan_delinquency_daily.principal_reconciles" in _failed(run_suites(D, ["fct_loan_delinquency_daily"]))

    add_raw(
        conn,
        "raw.loans",
        D,
        1,
        loan_id="L3",
        borrower_id="B3",
        product_code="CASH",
        principal="6000.00",
        term_months=6,
        disbursed_on=D,
        status="active",
        updated_at=dt.datetime(2024, 3, 5, tzinfo=dt.UTC),
    )
    assert _failed(run_suites(D, ["fct_loan_delinquency_daily"])) == set()


def test_outstanding_falling_without_money_received_fails(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.checks import run_suites

    _balanced_two_days(conn)
    conn.execute(
        "update marts.fct_loan_delinquency_daily set net_paid = 10000.00 where business_date = %s and loan_id = 'L1'",
        (D,),
    )

    assert _failed(run_suites(D, ["fct_loan_delinquency_daily"])) == {
        "fct_loan_delinquency_daily.principal_drop_backed_by_payments"
    }


def test_a_reversal_raising_the_principal_passes_but_a_drop_on_a_reversal_day_fails(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    from arrears.checks import run_suites

    _balanced_two_days(conn)
    # A bounced payment of 500 taken back today: 400 of it had paid principal, which is owed again.
    conn.execute(
        "update marts.fct_loan_delinquency_daily set net_paid = 9500.00, outstanding_principal = 20400.00 "
        "where business_date = %s and loan_id = 'L1'",
        (D,),
    )
    assert _failed(run_suites(D, ["fct_loan_delinquency_daily"])) == set()

    # Money went out, so the principal cannot have fallen (the book still reconciles: repaid = 100).
    conn.execute(
        "update marts.fct_loan_delinquency_daily set outstanding_principal = 19900.00 "
        "where business_date = %s and loan_id = 'L1'",
        (D,),
    )
    assert _failed(run_suites(D, ["fct_loan_delinquency_daily"])) == {
        "fct_loan_delinquency_daily.principal_drop_backed_by_payments"
    }


def test_bucket_and_stage_must_agree_with_dpd(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.checks import run_suites

    _balanced_two_days(conn)
    conn.execute("update marts.fct_loan_delinquency_daily set bucket = 'M2', stage = 'mid' where loan_id = 'L1'")

    failed = _failed(run_suites(D, ["fct_loan_delinquency_daily"]))
    assert {
        "fct_loan_delinquency_daily.bucket_agrees_with_dpd",
        "fct_loan_delinquency_daily.stage_agrees_with_dpd",
    } <= failed


def test_checks_sharing_one_pass_each_report_their_own_rows(conn: psycopg.Connection, arrears_home: Path) -> None:
    """The snapshot's row checks are computed in one pass over tonight's rows (decision 004): a row failing two
    of them fails both, each with its own count and its own columns, and the others still pass."""
    from arrears.checks import run_suites

    _balanced_two_days(conn)
    conn.execute(
        "update marts.fct_loan_delinquency_daily set overdue_amount = -5 where business_date = %s and loan_id = 'L1'",
        (D,),
    )

    outcome = run_suites(D, ["fct_loan_delinquency_daily"])

    assert _failed(outcome) == {
        "fct_loan_delinquency_daily.overdue_not_negative",
        "fct_loan_delinquency_daily.overdue_parts_add_up",
    }
    observed = {r.expectation: r.observed_value for r in outcome.results if not r.success}
    assert observed["overdue_not_negative"].startswith("1 unexpected")
    assert '"loan_id": "L1"' in observed["overdue_not_negative"]
    assert '"overdue_amount": "-5.00"' in observed["overdue_not_negative"]
    assert "overdue_principal" not in observed["overdue_not_negative"]  # that check's columns only
    assert '"overdue_principal": "1000.00"' in observed["overdue_parts_add_up"]


def test_queue_business_checks(conn: psycopg.Connection, arrears_home: Path) -> None:
    """A delinquent loan left out, a call during an open promise, and a barred channel are each caught."""
    from arrears.checks import run_suites

    _balanced_two_days(conn)
    add_loan(conn, D, "L4", dpd=3, team="early", queued=False)  # delinquent, no queue row
    conn.execute(
        "insert into marts.fct_promises_to_pay (action_id, loan_id, promised_on, promised_date, promised_amount,"
        " status, kept_on) values ('A1', 'L1', %s, %s, 500.00, 'open', null)",
        (D - dt.timedelta(days=1), D + dt.timedelta(days=1)),
    )
    add_raw(
        conn,
        "raw.restrictions",
        D,
        1,
        restriction_id="R1",
        borrower_id="B2",
        kind="do_not_contact",
        channel="email",
        effective_from=D - dt.timedelta(days=10),
        updated_at=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
    )

    failed = _failed(run_suites(D, ["fct_work_queue"]))

    assert failed == {
        "fct_work_queue.every_due_loan_in_one_row",
        "fct_work_queue.no_call_during_open_promise",
        "fct_work_queue.no_barred_channel",
    }


def _book_started(conn: psycopg.Connection, first_night: dt.date) -> None:
    """The book's first snapshot night (the volume band's warm-up counts from it)."""
    add_loan(conn, first_night, "FIRST", dpd=0, team=None, queued=False, stage="current")


def test_row_volume_outside_the_band_fails(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.checks import run_suites
    from arrears.checks.suites import check_settings

    create_marts(conn)
    warmup = int(check_settings()["volume_band"]["warmup_nights"])
    _book_started(conn, D - dt.timedelta(days=warmup + 3))  # D-3 .. D-1 are the first nights past the warm-up
    for back in range(1, 4):
        for number in range(40):
            add_loan(conn, D - dt.timedelta(days=back), f"L{number}", dpd=3, team="early")
        for number in range(3):
            add_loan(conn, D - dt.timedelta(days=back), f"F{number}", dpd=50, team="field")
    add_loan(conn, D, "L0", dpd=3, team="early")  # 1 row against a trailing average of 40: an extract broke

    failed = _failed(run_suites(D, ["fct_work_queue", "export_early", "export_field"]))

    assert {"fct_work_queue.row_volume_within_band", "export_early.team_volume_within_band"} <= failed
    # 3 field visits a day falling to 0 is chance, not a broken extract: below min_average_rows the band is off.
    assert "export_field.team_volume_within_band" not in failed


def test_volume_band_is_not_applied_in_a_books_first_weeks(conn: psycopg.Connection, arrears_home: Path) -> None:
    """A new book's queues shrink while contact history builds up: its first warmup_nights nights are
    neither checked nor averaged. Here the warm-up ends one night too late for the 3 nights of history
    the band needs, so the same collapse as above passes."""
    from arrears.checks import run_suites
    from arrears.checks.suites import check_settings

    create_marts(conn)
    band = check_settings()["volume_band"]
    warmup, needed = int(band["warmup_nights"]), int(band["min_history_days"])
    assert warmup >= 14  # a field visit waits 14 days without a right-party contact (business rules §5)
    _book_started(conn, D - dt.timedelta(days=warmup + needed - 1))  # D-3 is the warm-up's last night
    for back in range(1, 4):
        for number in range(40):
            add_loan(conn, D - dt.timedelta(days=back), f"L{number}", dpd=3, team="early")
    add_loan(conn, D, "L0", dpd=3, team="early")

    failed = _failed(run_suites(D, ["fct_work_queue", "export_early"]))

    assert "fct_work_queue.row_volume_within_band" not in failed
    assert "export_early.team_volume_within_band" not in failed


def test_a_missing_mart_fails_its_suite_alone_and_names_it(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.checks import run_suites

    _balanced_two_days(conn)
    conn.execute("drop table marts.agg_vintage_curves")

    outcome = run_suites(D, ["agg_vintage_curves", "fct_work_queue"])

    assert outcome.failed_suites == ["agg_vintage_curves"]
    assert not outcome.success
