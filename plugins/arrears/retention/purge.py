"""`arrears purge`: delete what the retention policy no longer lets us keep, and log every deletion.

Two kinds of data expire (config/retention.yml):
- personal data (every version of pii.borrowers and pii.contact_points) of a borrower all of whose
  loans were closed more than `closed_loan_years` before today;
- export folders $ARREARS_HOME/exports/<recipient>/<YYYY-MM-DD>/ more than `export_days` old.

Each purge writes one audit.retention_log row per borrower and table, or per folder.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from arrears.retention.policy import RetentionPolicy, load_retention_policy
from arrears.settings import paths, source_timezone

if TYPE_CHECKING:
    import psycopg

RETENTION_LOG_DDL = """create table if not exists audit.retention_log (
    purged_at timestamptz not null,
    kind text not null,     -- what was deleted: pii.borrowers, pii.contact_points or export_folder
    subject text not null,  -- whose: the borrower_id, or <recipient>/<YYYY-MM-DD> for a folder
    rows bigint not null,   -- table rows deleted (every delivered version of the record)
    files bigint not null,  -- files deleted with a folder
    rule text not null      -- the policy that expired it, with its cutoff date
)"""

# Borrowers all of whose loans are closed before the cutoff, judged on the latest version of
# each loan (landing contract: latest updated_at wins; ties: the later business date, then the
# later line). A loan whose status or closed_on is missing keeps the borrower (coalesce: bool_and
# skips NULLs). A borrower with no loan at all is kept: nothing says the relationship ended.
PURGE_PERSONAL_DATA_SQL = """
with latest_loans as (
    select distinct on (loan_id)
        loan_id,
        borrower_id,
        status,
        closed_on
    from raw.loans
    order by loan_id asc, updated_at desc nulls last, _business_date desc, _file desc, _line desc
),

expired as (
    select borrower_id
    from latest_loans
    group by borrower_id
    having bool_and(coalesce(status = 'closed' and closed_on < %(cutoff)s, false))
),

purged_borrowers as (
    delete from pii.borrowers as b
    using expired as e
    where b.borrower_id = e.borrower_id
    returning b.borrower_id
),

purged_contact_points as (
    delete from pii.contact_points as c
    using expired as e
    where c.borrower_id = e.borrower_id
    returning c.borrower_id
),

purged as (
    select 'pii.borrowers' as kind, borrower_id from purged_borrowers
    union all
    select 'pii.contact_points' as kind, borrower_id from purged_contact_points
)

insert into audit.retention_log (purged_at, kind, subject, rows, files, rule)
select
    %(purged_at)s as purged_at,
    kind,
    borrower_id as subject,
    count(*) as rows,
    0 as files,
    %(rule)s as rule
from purged
group by kind, borrower_id
returning kind, subject, rows
"""

# A folder being deleted is first renamed to this prefix, so nobody ever sees it half-deleted.
PURGING_PREFIX = ".purging-"


@dataclass(frozen=True)
class PurgeResult:
    """What one purge deleted (or, with dry_run, would delete)."""

    as_of: dt.date
    borrowers: tuple[str, ...]
    borrower_rows: int
    contact_point_rows: int
    export_folders: tuple[str, ...]  # <recipient>/<YYYY-MM-DD>
    export_files: int
    dry_run: bool = False

    def summary(self) -> str:
        """One line for the CLI."""
        verb = "would purge" if self.dry_run else "purged"
        return (
            f"{verb} as of {self.as_of}: personal data of {len(self.borrowers)} borrowers "
            f"({self.borrower_rows} pii.borrowers rows, {self.contact_point_rows} pii.contact_points rows), "
            f"{len(self.export_folders)} export folders ({self.export_files} files)"
        )


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def today() -> dt.date:
    """Today in the source time zone, where loans are opened and closed."""
    return dt.datetime.now(ZoneInfo(source_timezone())).date()


def purge(now: dt.date | None = None, *, dry_run: bool = False, policy: RetentionPolicy | None = None) -> PurgeResult:
    """Purge expired personal data and export folders as of `now` (default today); log each purge.

    The personal data goes in one transaction with its log rows. Each folder is logged (and
    committed) before it is deleted, so a crash can leave a logged folder behind, to be deleted
    by the next run, but never a deleted folder without its log row.
    """
    from arrears.warehouse import connect

    as_of = now or today()
    rules = policy or load_retention_policy()
    purged_at = dt.datetime.now(dt.UTC)
    with connect(autocommit=True) as conn:
        conn.execute(RETENTION_LOG_DDL)
        with conn.transaction(force_rollback=dry_run):
            # One purge at a time per warehouse: two would both count the same rows.
            conn.execute("select pg_advisory_xact_lock(hashtext('arrears.retention'))")
            borrowers, borrower_rows, contact_rows = _purge_personal_data(conn, as_of, rules, purged_at)
        folders, files = _purge_export_folders(conn, as_of, rules, purged_at, dry_run)
    return PurgeResult(as_of, borrowers, borrower_rows, contact_rows, folders, files, dry_run)


def _purge_personal_data(
    conn: psycopg.Connection, as_of: dt.date, rules: RetentionPolicy, purged_at: dt.datetime
) -> tuple[tuple[str, ...], int, int]:
    cutoff = years_before(as_of, rules.closed_loan_years)
    rule = f"all loans closed before {cutoff} (closed_loan_years={rules.closed_loan_years})"
    rows = conn.execute(PURGE_PERSONAL_DATA_SQL, {"cutoff": cutoff, "purged_at": purged_at, "rule": rule}).fetchall()
    borrowers = tuple(sorted({subject for _, subject, _ in rows}))
    borrower_rows = sum(count for kind, _, count in rows if kind == "pii.borrowers")
    contact_rows = sum(count for kind, _, count in rows if kind == "pii.contact_points")
    return borrowers, borrower_rows, contact_rows


def expired_export_folders(exports: Path, cutoff: dt.date) -> list[Path]:
    """<recipient>/<YYYY-MM-DD> folders dated before `cutoff`; anything not named like a date is left alone."""
    if not exports.is_dir():
        return []
    expired = []
    for recipient in sorted(path for path in exports.iterdir() if path.is_dir() and not path.name.startswith(".")):
        for folder in sorted(path for path in recipient.iterdir() if path.is_dir()):
            try:
                folder_date = dt.date.fromisoformat(folder.name)
            except ValueError:
                continue
            if len(folder.name) == 10 and folder_date < cutoff:
                expired.append(folder)
    return expired


def _purge_export_folders(
    conn: psycopg.Connection, as_of: dt.date, rules: RetentionPolicy, purged_at: dt.datetime, dry_run: bool
) -> tuple[tuple[str, ...], int]:
    exports = paths().exports
    cutoff = as_of - dt.timedelta(days=rules.export_days)
    rule = f"exported before {cutoff} (export_days={rules.export_days})"
    subjects, total_files = [], 0
    if not dry_run:
        # Folders renamed but not deleted by a run that crashed: already logged, finish them.
        for leftover in exports.glob(f"*/{PURGING_PREFIX}*") if exports.is_dir() else []:
            shutil.rmtree(leftover)
    for folder in expired_export_folders(exports, cutoff):
        subject = f"{folder.parent.name}/{folder.name}"
        files = sum(1 for path in folder.rglob("*") if path.is_file())
        subjects.append(subject)
        total_files += files
        if dry_run:
            continue
        conn.execute(
            "insert into audit.retention_log (purged_at, kind, subject, rows, files, rule)"
            " values (%s, 'export_folder', %s, 0, %s, %s)",
            (purged_at, subject, files, rule),
        )
        doomed = folder.with_name(PURGING_PREFIX + folder.name)
        folder.rename(doomed)
        shutil.rmtree(doomed)
    return tuple(subjects), total_files
