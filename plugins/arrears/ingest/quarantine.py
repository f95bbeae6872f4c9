"""`arrears quarantine --date D`: the rows a delivery could not load, and why."""

from __future__ import annotations

import datetime as dt

RAW_ROW_WIDTH = 120


def quarantined_rows(business_date: dt.date, limit: int) -> list[tuple[str, str, int, str, str, str]]:
    """(entity, file, line, reason, detail, raw row) of a date's quarantine, in file order."""
    from arrears.warehouse import connect

    with connect(autocommit=True) as conn:
        rows = conn.execute(
            """select entity, file, line_no, reason, coalesce(detail, ''), coalesce(raw_row, '')
            from audit.quarantine
            where business_date = %s
            order by entity, file, line_no
            limit %s""",
            (business_date, limit),
        ).fetchall()
    return [(str(a), str(b), int(c), str(d), str(e), str(f)) for a, b, c, d, e, f in rows]


def _shorten(text: str, width: int) -> str:
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."


def print_quarantine(business_date: dt.date, limit: int) -> None:
    """Print up to `limit` quarantined rows of a date: entity, file, line, reason, detail, raw row (truncated)."""
    from arrears.warehouse import connect

    rows = quarantined_rows(business_date, limit)
    with connect(autocommit=True) as conn:
        total_row = conn.execute(
            "select count(*) from audit.quarantine where business_date = %s", (business_date,)
        ).fetchone()
    total = int(total_row[0]) if total_row else 0
    if not rows:
        print(f"{business_date}: no quarantined rows")
        return
    shown = f"first {len(rows)} of {total}" if total > len(rows) else f"{total}"
    print(f"{business_date}: {shown} quarantined rows")
    for entity, file, line, reason, detail, raw in rows:
        print(f"{entity}  {file}:{line}  {reason}  {_shorten(detail, 100)}")
        print(f"    {_shorten(raw, RAW_ROW_WIDTH)}")
