"""`arrears quarantine --date D`: the rows a delivery could not load, and why."""

from __future__ import annotations

import datetime as dt

RAW_ROW_WIDTH = 120


# The listing and its total, in SQL both engines run (arrears.spark.landing reads Spark's audit.quarantine).
QUARANTINE_LISTING = """select entity, file, line_no, reason, coalesce(detail, ''), coalesce(raw_row, '')
    from audit.quarantine
    where business_date = {day}
    order by entity, file, line_no
    limit {limit}"""
QUARANTINE_TOTAL = "select count(*) from audit.quarantine where business_date = {day}"
QuarantineRow = tuple[str, str, int, str, str, str]


def as_listing(rows: list[tuple[object, ...]]) -> list[QuarantineRow]:
    """Rows of QUARANTINE_LISTING as (entity, file, line, reason, detail, raw row)."""
    return [(str(a), str(b), int(str(c)), str(d), str(e), str(f)) for a, b, c, d, e, f in rows]


def quarantined_rows(business_date: dt.date, limit: int) -> tuple[list[QuarantineRow], int]:
    """(entity, file, line, reason, detail, raw row) of a date's quarantine, in file order, and how many there are."""
    from arrears.warehouse import connect

    with connect(autocommit=True) as conn:
        rows = conn.execute(
            QUARANTINE_LISTING.format(day="%(day)s", limit="%(limit)s"), {"day": business_date, "limit": limit}
        ).fetchall()
        total = conn.execute(QUARANTINE_TOTAL.format(day="%(day)s"), {"day": business_date}).fetchone()
    return as_listing(rows), int(total[0]) if total else 0


def _shorten(text: str, width: int) -> str:
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."


def print_quarantine(business_date: dt.date, rows: list[QuarantineRow], total: int) -> None:
    """Print a date's quarantined rows (of `total`): entity, file, line, reason, detail, raw row (truncated)."""
    if not rows:
        print(f"{business_date}: no quarantined rows")
        return
    shown = f"first {len(rows)} of {total}" if total > len(rows) else f"{total}"
    print(f"{business_date}: {shown} quarantined rows")
    for entity, file, line, reason, detail, raw in rows:
        print(f"{entity}  {file}:{line}  {reason}  {_shorten(detail, 100)}")
        print(f"    {_shorten(raw, RAW_ROW_WIDTH)}")
