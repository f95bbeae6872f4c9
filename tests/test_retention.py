"""Retention purges exactly the expired personal data and export folders, and logs each purge."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from arrears.contract.ddl import ensure_partition
from arrears.errors import ArrearsError
from arrears.retention import RetentionPolicy, load_retention_policy, purge
from arrears.retention.purge import years_before

AS_OF = dt.date(2026, 3, 1)
POLICY = RetentionPolicy(closed_loan_years=5, export_days=90)  # cutoffs 2021-03-01 and 2025-12-01

# (loan_id, borrower_id, status, closed_on, updated_at, business_date): every version delivered.
LOAN_VERSIONS = [
    ("L1", "B1", "closed", "2019-01-10", "2019-01-10 09:00", "2019-01-10"),  # long closed
    ("L2a", "B2", "closed", "2018-05-01", "2018-05-01 09:00", "2018-05-01"),  # one old loan closed...
    ("L2b", "B2", "closed", "2024-06-01", "2024-06-01 09:00", "2024-06-01"),  # ...the other recently
    ("L3", "B3", "active", None, "2015-01-01 09:00", "2015-01-01"),  # older version active...
    ("L3", "B3", "closed", "2019-07-01", "2019-07-01 09:00", "2019-07-01"),  # ...latest closed long ago
    ("L4", "B4", "closed", "2019-07-01", "2019-07-01 09:00", "2019-07-01"),  # older version closed...
    ("L4", "B4", "active", None, "2020-01-01 09:00", "2020-01-01"),  # ...latest: reopened
    ("L5", "B5", "closed", "2021-03-01", "2021-03-01 09:00", "2021-03-01"),  # exactly 5 years: kept
    ("L6", "B6", "closed", "2021-02-28", "2021-02-28 09:00", "2021-02-28"),  # a day more: purged
    ("L7", "B7", "closed", None, "2019-01-01 09:00", "2019-01-01"),  # closed without a date: kept
    ("L8", "B8", "written_off", None, "2015-01-01 09:00", "2015-01-01"),  # written off: kept
    ("L10", "B10", "closed", "2019-01-01", "2019-01-01 09:00", "2019-01-01"),  # same updated_at twice:
    ("L10", "B10", "active", None, "2019-01-01 09:00", "2019-01-02"),  # the later business date wins
]
BORROWERS = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10"]  # B9 has no loan: kept
EXPIRED = {"B1", "B3", "B6"}

EXPORT_FOLDERS = {
    "early/2025-11-01": 2,  # expired
    "early/2025-11-30": 1,  # expired (cutoff 2025-12-01)
    "early/2025-12-01": 1,  # exactly 90 days: kept
    "early/2026-02-28": 3,  # recent: kept
    "legal/2024-01-15": 1,  # expired
    "early/notes": 1,  # not a dated export folder: never touched
}
EXPIRED_FOLDERS = {"early/2025-11-01", "early/2025-11-30", "legal/2024-01-15"}


def load_portfolio(conn: psycopg.Connection) -> None:
    """Loans as the loader lands them; two versions of each borrower and one or two phone numbers."""
    for business_date in {dt.date.fromisoformat(version[-1]) for version in LOAN_VERSIONS}:
        ensure_partition(conn, "loans", business_date)
    for entity in ("borrowers", "contact_points"):
        ensure_partition(conn, entity, dt.date(2026, 1, 1))
    with conn.cursor() as cursor:
        cursor.executemany(
            """insert into raw.loans (loan_id, borrower_id, status, closed_on, updated_at,
                                      _business_date, _file, _line, _loaded_at)
               values (%s, %s, %s, %s, %s, %s, 'loans.csv', 1, now())""",
            LOAN_VERSIONS,
        )
        for number, borrower in enumerate(BORROWERS):
            for version in (1, 2):
                cursor.execute(
                    """insert into pii.borrowers (borrower_id, full_name, mobile_phone, updated_at,
                                                  _business_date, _file, _line, _loaded_at)
                       values (%s, %s, %s, now(), '2026-01-01', 'borrowers.csv', %s, now())""",
                    (borrower, f"Name {borrower} v{version}", f"1380000{number:04d}", version),
                )
            for kind in ("own_mobile", "emergency_contact")[: 1 + number % 2]:
                cursor.execute(
                    """insert into pii.contact_points (contact_point_id, borrower_id, kind, phone, updated_at,
                                                       _business_date, _file, _line, _loaded_at)
                       values (%s, %s, %s, '13900000000', now(), '2026-01-01', 'contact_points.csv', 1, now())""",
                    (f"{borrower}-{kind}", borrower, kind),
                )


def rows_by_borrower(conn: psycopg.Connection, table: str) -> dict[str, int]:
    return dict(conn.execute(f"select borrower_id, count(*) from {table} group by 1").fetchall())  # type: ignore[arg-type]


def write_exports(home: Path) -> None:
    for folder, files in EXPORT_FOLDERS.items():
        path = home / "exports" / folder
        path.mkdir(parents=True)
        for number in range(files):
            (path / f"work_queue_{number}.csv").write_text("loan_id,phone\nL1,13800000000\n", encoding="utf-8")
    (home / "exports" / "early" / "README.txt").write_text("not a folder", encoding="utf-8")


def existing_folders(home: Path) -> set[str]:
    return {f"{path.parent.name}/{path.name}" for path in (home / "exports").glob("*/*") if path.is_dir()}


def test_purge_deletes_exactly_the_expired_personal_data_and_logs_it(conn: psycopg.Connection) -> None:
    load_portfolio(conn)
    borrowers_before = rows_by_borrower(conn, "pii.borrowers")
    contacts_before = rows_by_borrower(conn, "pii.contact_points")

    result = purge(AS_OF, policy=POLICY)

    assert set(result.borrowers) == EXPIRED
    kept = {borrower: rows for borrower, rows in borrowers_before.items() if borrower not in EXPIRED}
    assert rows_by_borrower(conn, "pii.borrowers") == kept
    assert rows_by_borrower(conn, "pii.contact_points") == {
        borrower: rows for borrower, rows in contacts_before.items() if borrower not in EXPIRED
    }
    assert result.borrower_rows == sum(borrowers_before[b] for b in EXPIRED) == 6
    assert result.contact_point_rows == sum(contacts_before[b] for b in EXPIRED)
    # The loans themselves are not personal data: the marts' history stays rebuildable.
    assert conn.execute("select count(*) from raw.loans").fetchone() == (len(LOAN_VERSIONS),)

    log = conn.execute(
        "select kind, subject, rows, files, rule from audit.retention_log where kind like 'pii.%' order by 1, 2"
    ).fetchall()
    expected_log = [("pii.borrowers", b, borrowers_before[b]) for b in sorted(EXPIRED)] + [
        ("pii.contact_points", b, contacts_before[b]) for b in sorted(EXPIRED)
    ]
    assert [(kind, subject, rows) for kind, subject, rows, _, _ in log] == expected_log
    assert all(files == 0 and "2021-03-01" in rule for _, _, _, files, rule in log)


def test_purge_deletes_exactly_the_expired_export_folders_and_logs_them(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    write_exports(arrears_home)

    result = purge(AS_OF, policy=POLICY)

    assert set(result.export_folders) == EXPIRED_FOLDERS
    assert result.export_files == sum(EXPORT_FOLDERS[folder] for folder in EXPIRED_FOLDERS)
    assert existing_folders(arrears_home) == set(EXPORT_FOLDERS) - EXPIRED_FOLDERS
    assert (arrears_home / "exports" / "early" / "README.txt").exists()
    assert not list((arrears_home / "exports").glob("*/.purging-*"))
    log = conn.execute(
        "select subject, rows, files from audit.retention_log where kind = 'export_folder' order by 1"
    ).fetchall()
    assert log == [(folder, 0, EXPORT_FOLDERS[folder]) for folder in sorted(EXPIRED_FOLDERS)]


def test_a_second_purge_finds_nothing_and_logs_nothing(conn: psycopg.Connection, arrears_home: Path) -> None:
    load_portfolio(conn)
    write_exports(arrears_home)
    purge(AS_OF, policy=POLICY)
    logged = conn.execute("select count(*) from audit.retention_log").fetchone()

    again = purge(AS_OF, policy=POLICY)

    assert (again.borrowers, again.export_folders, again.borrower_rows, again.export_files) == ((), (), 0, 0)
    assert conn.execute("select count(*) from audit.retention_log").fetchone() == logged


def test_dry_run_reports_the_same_purge_and_changes_nothing(conn: psycopg.Connection, arrears_home: Path) -> None:
    load_portfolio(conn)
    write_exports(arrears_home)
    before = rows_by_borrower(conn, "pii.borrowers")

    preview = purge(AS_OF, policy=POLICY, dry_run=True)

    assert set(preview.borrowers) == EXPIRED and set(preview.export_folders) == EXPIRED_FOLDERS
    assert "would purge" in preview.summary()
    assert rows_by_borrower(conn, "pii.borrowers") == before
    assert existing_folders(arrears_home) == set(EXPORT_FOLDERS)
    assert conn.execute("select count(*) from audit.retention_log").fetchone() == (0,)
    real = purge(AS_OF, policy=POLICY)
    assert (real.borrowers, real.export_folders) == (preview.borrowers, preview.export_folders)


def test_a_folder_left_half_purged_by_a_crash_is_finished_by_the_next_run(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    leftover = arrears_home / "exports" / "early" / ".purging-2025-01-01"
    leftover.mkdir(parents=True)
    (leftover / "work_queue.csv").write_text("x\n", encoding="utf-8")
    purge(AS_OF, policy=POLICY)
    assert not leftover.exists()


def test_compliance_can_read_the_retention_log(conn: psycopg.Connection) -> None:
    purge(AS_OF, policy=POLICY)
    with conn.transaction(force_rollback=True):
        conn.execute("set local role arrears_compliance")
        assert conn.execute("select count(*) from audit.retention_log").fetchone() == (0,)


def test_years_before_handles_the_leap_day() -> None:
    assert years_before(dt.date(2024, 2, 29), 5) == dt.date(2019, 2, 28)
    assert years_before(dt.date(2026, 3, 1), 5) == dt.date(2021, 3, 1)


def test_shipped_retention_config_loads_and_bad_values_are_clear_errors(tmp_path: Path) -> None:
    shipped = load_retention_policy()
    assert shipped.closed_loan_years > 0 and shipped.export_days > 0
    path = tmp_path / "retention.yml"
    for text in ("closed_loan_years: 0\nexport_days: 90\n", "closed_loan_years: 5\n", "export_days: yes\n"):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ArrearsError, match="must be a whole number > 0"):
            load_retention_policy(path)
