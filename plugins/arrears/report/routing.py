"""Worked queue rows that reached no recipient (business rules §5): counted per team for the run report.

A row with a team whose allowed channels no recipient of that team serves (config/recipients.yml)
goes into no file; the report says how many, so a manager sees what the routing leaves behind.
The routing is the configuration's as the report runs (arrears.routing), the one the export applied.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg


def routed_nowhere(conn: psycopg.Connection, day: dt.date) -> dict[str, int]:
    """Team -> worked rows of D that no recipient receives (marts.fct_work_queue must exist)."""
    from arrears.routing import load_routing, routed_nowhere_sql

    predicate = routed_nowhere_sql(load_routing()).replace("%", "%%")
    rows = conn.execute(
        f"select team_id, count(*) from marts.fct_work_queue where business_date = %s and {predicate}"
        " group by team_id order by team_id",
        (day,),
    ).fetchall()
    return {str(team): int(count) for team, count in rows}
