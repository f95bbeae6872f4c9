"""Business rules §5's recipient routing, written from the rule for the tests (not from the warehouse's macro).

The stand-in queue rows get their `recipient` from it, as the build would have routed them; the routing
tests compare dbt's macro with it on every channel set of every team.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import psycopg

from arrears.routing import Routing, load_routing


def spec_recipient(team: str | None, channels: Sequence[str], routing: Routing | None = None) -> str | None:
    """The first of the team's recipients, in the team's channel order, whose channel the row allows;
    a row with no channel goes to the team's rows_without_channel recipient; else None."""
    if team is None:
        return None
    routing = routing or load_routing()
    own = [r for r in routing.recipients if team in r.teams]
    if not own and ":" in team:
        own = [r for r in routing.recipients if team.split(":")[0] in r.teams]
    base = team.split(":")[0]
    order = routing.channel_order.get(team) or routing.channel_order.get(base)
    if order is None:
        order = tuple(dict.fromkeys(channel for r in own for channel in r.channels))
    for channel in order:
        if channel in channels:
            for recipient in own:
                if channel in recipient.channels:
                    return recipient.name
    if not channels:
        return next((r.name for r in own if r.rows_without_channel), None)
    return None


def reroute(conn: psycopg.Connection, day: dt.date) -> None:
    """Route the stand-in queue rows of `day` again with the recipients configured now (as a rebuild would)."""
    routing = load_routing()
    rows = conn.execute(
        "select loan_id, team_id, allowed_channels from marts.fct_work_queue where business_date = %s", (day,)
    ).fetchall()
    with conn.cursor() as cursor:
        cursor.executemany(
            "update marts.fct_work_queue set recipient = %s where business_date = %s and loan_id = %s",
            [(spec_recipient(team, channels or [], routing), day, loan_id) for loan_id, team, channels in rows],
        )
