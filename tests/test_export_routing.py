"""Recipients by channel (business rules §5): each worked row goes to exactly one recipient of its team.

The routing predicates are evaluated by PostgreSQL on every combination of channels for every team,
and compared with the rule as the spec words it, written here independently of arrears.routing.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pytest
import yaml

from arrears.routing import (
    CHANNELS,
    RoutedRecipient,
    Routing,
    RoutingConfigError,
    load_routing,
    recipient_rows_sql,
    routed_nowhere_sql,
    routing_from_config,
)
from arrears.routing.rules import RECIPIENTS_FILE
from tests.support.exports import D, clear_gate, read_csv, use_recipients
from tests.support.marts import add_borrower, add_loan, create_marts


def _spec_recipient(team: str, channels: Sequence[str], routing: Routing) -> str | None:
    """§5 as written: the first of the team's recipients, in the team's channel order, whose channel the row allows."""
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


def _routed_in_postgres(
    conn: psycopg.Connection, routing: Routing, rows: list[tuple[str, list[str]]]
) -> list[tuple[list[str], bool]]:
    """For each (team, channels): the recipients whose predicate holds, and whether it counts as routed nowhere."""
    names = [r.name for r in routing.recipients]
    results = []
    for team, channels in rows:
        predicates = [recipient_rows_sql(routing, name) for name in names] + [routed_nowhere_sql(routing)]
        select = ", ".join(f"coalesce({p}, false)" for p in predicates)
        row = conn.execute(
            f"select {select} from (select %s::text as team_id, %s::text[] as allowed_channels) as q",
            (team, channels),
        ).fetchone()
        assert row is not None
        results.append(([name for name, hit in zip(names, row[:-1], strict=True) if hit], bool(row[-1])))
    return results


def _every_channel_set(channels: Sequence[str]) -> list[list[str]]:
    return [list(combo) for size in range(len(channels) + 1) for combo in itertools.combinations(channels, size)]


def test_shipped_recipients_route_every_channel_set_to_at_most_one_recipient_as_the_rule_says(
    conn: psycopg.Connection,
) -> None:
    routing = load_routing()
    teams = ["predue", "early", "mid", "field", "agency", "agency:acme", "legal", "unknown_team"]
    rows = [(team, channels) for team in teams for channels in _every_channel_set(CHANNELS)]
    evaluated = _routed_in_postgres(conn, routing, rows)
    for (team, channels), (hits, nowhere) in zip(rows, evaluated, strict=True):
        expected = _spec_recipient(team, channels, routing)
        assert hits == ([expected] if expected else []), (team, channels)
        assert nowhere == (expected is None), (team, channels)


# The rule's examples, as a reader of §5 would check them (team, channels the row allows, its recipient).
EXAMPLES = [
    ("predue", ["sms", "app_push"], "predue"),  # the SMS gateway while sms is allowed
    ("predue", ["sms"], "predue"),
    ("predue", ["app_push"], "predue_app"),  # SMS barred: the app-push recipient
    ("predue", [], None),  # no channel: nowhere (counted in the run report)
    ("early", ["sms"], "early"),
    ("mid", ["email"], "mid"),
    ("field", ["visit"], "field"),
    ("agency:acme", ["letter"], "agency_acme"),  # the agency's own recipient (one per agency, docs/agencies.md)
    ("agency", ["email"], None),  # a channel no agency recipient serves
    ("legal", [], "legal"),  # legal keeps its court cases when every channel is barred
    ("legal", ["letter"], "legal"),
    (None, [], None),  # held: not a worked row, not counted as routed nowhere
]


def test_shipped_routing_examples(conn: psycopg.Connection) -> None:
    routing = load_routing()
    names = [r.name for r in routing.recipients]
    select = ", ".join(f"coalesce({recipient_rows_sql(routing, name)}, false)" for name in names)
    for team, channels, recipient in EXAMPLES:
        row = conn.execute(
            f"select {select}, {routed_nowhere_sql(routing)}"
            " from (select %s::text as team_id, %s::text[] as allowed_channels) as q",
            (team, channels),
        ).fetchone()
        assert row is not None
        hits = [name for name, hit in zip(names, row[:-1], strict=True) if hit]
        assert hits == ([recipient] if recipient else []), (team, channels)
        assert row[-1] == (team is not None and recipient is None), (team, channels)


def test_channel_order_decides_between_two_recipients_of_a_team_and_an_agency_of_its_own(
    conn: psycopg.Connection,
) -> None:
    config = {
        "channel_order": {"t": ["sms", "call"], "agency": ["call", "letter"]},
        "recipients": {
            "dialer": {"teams": ["t"], "channels": ["call"]},
            "gateway": {"teams": ["t"], "channels": ["sms"]},
            "agencies": {"teams": ["agency"], "channels": ["call", "letter"]},
        },
    }
    generated = [RoutedRecipient("agency:acme", ("agency:acme",), ("call",))]  # made in code, from agency data
    routing = routing_from_config(config, generated)
    rows = [
        ("t", ["call", "sms"]),  # sms ranks first for team t
        ("t", ["call"]),
        ("agency:acme", ["call", "letter"]),  # acme's own recipient, by call
        ("agency:acme", ["letter"]),  # acme's recipient does not serve letter: nowhere, not the generic agency
        ("agency:other", ["letter"]),
    ]
    expected = [["gateway"], ["dialer"], ["agency:acme"], [], ["agencies"]]
    assert [hits for hits, _ in _routed_in_postgres(conn, routing, rows)] == expected
    for (team, channels), hits in zip(rows, expected, strict=True):
        assert _spec_recipient(team, channels, routing) == (hits[0] if hits else None)


def test_a_recipient_serving_a_channel_its_team_does_not_rank_is_refused() -> None:
    config = {"channel_order": {"t": ["call"]}, "recipients": {"gw": {"teams": ["t"], "channels": ["sms"]}}}
    with pytest.raises(RoutingConfigError, match="gw serves sms, which channel_order.t does not list"):
        routing_from_config(config)
    with pytest.raises(RoutingConfigError, match="unknown channel"):
        routing_from_config({"recipients": {"gw": {"teams": ["t"], "channels": ["fax"]}}})


def test_the_gate_blocks_a_recipient_whose_file_would_carry_a_row_allowing_none_of_its_channels(
    conn: psycopg.Connection, arrears_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.checks import run_suites
    from arrears.errors import QualityGateFailed
    from arrears.export import export_recipient

    monkeypatch.setenv("ARREARS_HASH_KEY", "k")
    create_marts(conn)
    add_loan(conn, D, "L1", dpd=0, team="predue", channels=["app_push"])  # the borrower barred SMS
    add_loan(conn, D, "L2", dpd=0, team="predue")
    for number in (1, 2):
        add_borrower(conn, D, f"B{number}", line=number)
    clear_gate(conn)  # every other suite passed

    # A manager's mistake: the SMS gateway is said to serve app_push too, so it would get L1.
    shipped = yaml.safe_load(RECIPIENTS_FILE.read_text(encoding="utf-8"))
    shipped["recipients"]["predue"]["channels"] = ["sms", "app_push"]
    use_recipients(shipped, tmp_path, monkeypatch)
    outcome = run_suites(D, ["export_predue"])
    assert outcome.failed_suites == ["export_predue"], outcome.summary()
    (failure,) = [result for result in outcome.results if not result.success]
    assert failure.expectation == "file_rows_allow_recipient_channels"
    assert "L1" in str(failure.observed_value) and "L2" not in str(failure.observed_value)
    with pytest.raises(QualityGateFailed, match="export_predue.file_rows_allow_recipient_channels"):
        export_recipient(D, "predue")
    assert not (arrears_home / "exports" / "predue").exists()

    # The shipped routing: L2 to the SMS gateway, L1 to the app-push recipient, and the gate passes.
    monkeypatch.delenv("ARREARS_RECIPIENTS_FILE")
    assert run_suites(D, ["export_predue"]).success
    assert export_recipient(D, "predue").files[0].rows == 1
    app = export_recipient(D, "predue_app")
    assert [line[0] for line in read_csv(app.files[0].path)] == ["loan_id", "L1"]


def test_the_run_report_counts_worked_rows_that_reach_no_recipient(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    from arrears.report.config import load_config
    from arrears.report.figures import exports
    from arrears.report.page import RENDERERS

    create_marts(conn)
    add_loan(conn, D, "L1", dpd=130, team="agency:acme", channels=["email"])  # no agency recipient sends email
    add_loan(conn, D, "L2", dpd=130, team="agency", channels=["call"])  # not placed yet: no agency sees it
    add_loan(conn, D, "L3", dpd=5, team="early")
    add_loan(conn, D, "L4", dpd=5, team=None, channels=[])  # held: not a worked row
    conn.execute(
        "insert into audit.exports (recipient, business_date, file, rows, sha256, dq_run_id)"
        " values ('early', %s, 'early_2024-03-05.csv', 1, 'ab', 'r1'),"
        " ('early', %s, 'early_2024-03-05_numbers.csv', 2, 'cd', 'r1')",
        (D, D),
    )
    config = load_config(language="en")

    figures = exports(conn, D, config)

    assert figures["routed_nowhere"] == {"agency": 1, "agency:acme": 1}
    assert figures["rows_exported"] == 1  # the numbers file's lines are not queue rows
    html = RENDERERS["exports"](figures, config)
    assert "Worked rows sent to no recipient (no recipient serves their channels): 2 (agency 1, agency:acme 1)." in html
