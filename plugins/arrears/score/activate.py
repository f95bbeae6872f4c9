"""`arrears score activate VERSION`: put a trained scorecard to work from the next night not yet built.

Recorded with who and when (audit.scorecard_activations). The first business date it scores is after
every date already built, so a rebuilt night keeps the version it was scored with.
"""

from __future__ import annotations

import datetime as dt
import getpass

from arrears.errors import ArrearsError


def activate(version: str, effective_from: dt.date | None = None, activated_by: str | None = None) -> str:
    from arrears.warehouse import connect

    who = activated_by or getpass.getuser()
    with connect() as conn, conn.transaction():
        if conn.execute("select 1 from audit.scorecard_versions where version = %s", (version,)).fetchone() is None:
            raise ArrearsError(f"no scorecard version {version!r}: `arrears score train` lists the version it wrote")
        row = conn.execute(
            "select max(business_date) from intermediate.int_loan_delinquency_daily"
            if _has_snapshot(conn)
            else "select null::date"
        ).fetchone()
        last_built = row[0] if row else None
        earliest = last_built + dt.timedelta(days=1) if last_built else None
        start = effective_from or earliest or dt.date.today()
        if earliest and start < earliest:
            raise ArrearsError(
                f"cannot activate from {start}: nights up to {last_built} are built and keep their scores; "
                f"activate from {earliest} or later"
            )
        conn.execute(
            "insert into audit.scorecard_activations (version, effective_from, activated_by) values (%s, %s, %s)",
            (version, start, who),
        )
    return f"scorecard {version} active from business date {start} (by {who})"


def _has_snapshot(conn: object) -> bool:
    row = conn.execute("select to_regclass('intermediate.int_loan_delinquency_daily') is not null").fetchone()  # type: ignore[attr-defined]
    return bool(row[0])
