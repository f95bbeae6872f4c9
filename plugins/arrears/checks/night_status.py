"""Whether a night may be published: its delivery in audit.batches, its mark in audit.night_status.

A night is 'missing' when the gate or an export was asked to pass a date without a loaded delivery
(the marts would be yesterday's data under today's date), and 'retracted' when `arrears retract`
took its files back. A successful ingest clears 'missing'; a fully passing check run clears
'retracted'.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from arrears.errors import QualityGateFailed
from arrears.warehouse import connect

LOADED = "loaded"  # audit.batches.status of a delivery the night may be built on
MISSING = "missing"
RETRACTED = "retracted"


@dataclass(frozen=True)
class NightMark:
    """A row of audit.night_status."""

    status: str
    detail: str
    marked_at: dt.datetime


def undelivered_reason(business_date: dt.date) -> str | None:
    """Why the date has no delivery to build on (one line), or None when its delivery is loaded."""
    with connect() as conn:
        row = conn.execute("select status from audit.batches where business_date = %s", (business_date,)).fetchone()
    if row is None:
        return f"no delivery loaded for {business_date}"
    if row[0] != LOADED:
        return f"the delivery of {business_date} is not loaded (status {row[0]})"
    return None


def refusal_message(business_date: dt.date, reason: str) -> str:
    """The one line every refusal of an undelivered night prints."""
    return (
        f"{reason}: the gate refuses to pass a night built on stale data;"
        f" ingest it first (arrears ingest --date {business_date})"
    )


def night_mark(business_date: dt.date, conn: psycopg.Connection | None = None) -> NightMark | None:
    """The date's mark, or None for an ordinary night."""
    query = "select status, detail, marked_at from audit.night_status where business_date = %s"
    if conn is not None:
        row = conn.execute(query, (business_date,)).fetchone()
    else:
        with connect() as own:
            row = own.execute(query, (business_date,)).fetchone()
    return NightMark(*row) if row else None


def mark_missing(business_date: dt.date, detail: str) -> None:
    """Mark the night missing; a retraction already recorded stays (its reason matters more to recipients)."""
    with connect() as conn:
        conn.execute(
            """insert into audit.night_status (business_date, status, detail) values (%s, %s, %s)
               on conflict (business_date) do update set detail = excluded.detail, marked_at = now()
               where audit.night_status.status = %s""",
            (business_date, MISSING, detail, MISSING),
        )


def mark_retracted(conn: psycopg.Connection, business_date: dt.date, reason: str) -> None:
    """Mark the night retracted with its reason (replaces a 'missing' mark)."""
    conn.execute(
        """insert into audit.night_status (business_date, status, detail) values (%s, %s, %s)
           on conflict (business_date) do update set status = excluded.status, detail = excluded.detail,
               marked_at = now()""",
        (business_date, RETRACTED, reason),
    )


def clear_mark(conn: psycopg.Connection, business_date: dt.date, status: str) -> None:
    """Remove the date's mark if it is `status` (in the caller's transaction)."""
    conn.execute("delete from audit.night_status where business_date = %s and status = %s", (business_date, status))


def clear_retraction(business_date: dt.date) -> None:
    """A fresh, fully passing gate: the date may be published again."""
    with connect() as conn:
        clear_mark(conn, business_date, RETRACTED)


def require_publishable(business_date: dt.date, for_whom: str) -> None:
    """Refuse (QualityGateFailed) a date without a loaded delivery, marking it missing, or a retracted date."""
    reason = undelivered_reason(business_date)
    if reason is not None:
        mark_missing(business_date, reason)
        raise QualityGateFailed(f"{for_whom} {business_date} refused: {refusal_message(business_date, reason)}")
    mark = night_mark(business_date)
    if mark is not None and mark.status == RETRACTED:
        raise QualityGateFailed(
            f"{for_whom} {business_date} refused: the date was retracted ({mark.detail}); ingest, build and"
            f" check it again (arrears check --date {business_date}) before publishing it"
        )
