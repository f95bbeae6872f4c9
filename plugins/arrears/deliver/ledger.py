"""audit.deliveries (created by arrears.warehouse.schema): what was pushed where, so a retry never sends twice."""

from __future__ import annotations

import datetime as dt

from arrears.warehouse import connect

NOTICE_NAME = "_RETRACTED.json"  # arrears.nights.retract writes it in a retracted date's export folders


def delivered_versions(recipient: str, business_date: dt.date) -> dict[str, set[str]]:
    """For each file name already delivered for the date, the SHA-256s that were sent.

    Files sent before the date's latest retraction notice count as withdrawn: a re-published date goes out whole.
    """
    with connect() as conn:
        rows = conn.execute(
            """select file, sha256 from audit.deliveries
               where recipient = %(r)s and business_date = %(d)s
                 and (file = %(notice)s or delivered_at > coalesce(
                     (select max(delivered_at) from audit.deliveries
                      where recipient = %(r)s and business_date = %(d)s and file = %(notice)s), '-infinity'))""",
            {"r": recipient, "d": business_date, "notice": NOTICE_NAME},
        ).fetchall()
    versions: dict[str, set[str]] = {}
    for file, sha256 in rows:
        versions.setdefault(file, set()).add(sha256)
    return versions


def record_delivery(
    recipient: str, business_date: dt.date, file: str, sha256: str, target: str, redelivery: bool
) -> None:
    """Record one file as delivered (after the server confirmed the rename)."""
    with connect() as conn:
        conn.execute(
            """insert into audit.deliveries (recipient, business_date, file, sha256, target, redelivery)
               values (%s, %s, %s, %s, %s, %s) on conflict do nothing""",
            (recipient, business_date, file, sha256, target, redelivery),
        )
