"""Recipients by channel (business rules §5): each worked row goes to exactly one recipient of its team.

The rule is computed when the night is built (dbt's macro work_queue_recipient writes
fct_work_queue.recipient; its unit tests cover each rule on the dbt side). Here, the macro compiled by
dbt with the shipped recipients.yml is evaluated by the real PostgreSQL on every channel set of every
team, against the rule written independently in tests/support/routing_spec.py; a pre-due row left with
app_push only goes to predue_app; each agency of dbt_project/seeds/agencies.csv gets its own rows and no
other's, in its file; a row no recipient can take is in no file, is what the gate's $routed_nowhere
selects, and is counted.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pytest
import yaml

from arrears.agencies import Agency, load_agencies
from arrears.routing import (
    CHANNELS,
    RoutedRecipient,
    Routing,
    RoutingConfigError,
    load_routing,
    routing_from_config,
    routing_var,
)
from arrears.routing.rules import RECIPIENTS_FILE
from tests.support.exports import D, clear_gate, read_csv, use_recipients
from tests.support.marts import add_borrower, add_loan, create_marts
from tests.support.routing_spec import reroute, spec_recipient

# The agencies a manager configured (each active one is its own recipient), and a team no agency file names.
AGENCIES: list[Agency] = [agency for agency in load_agencies() if agency.active]
UNKNOWN_AGENCY_TEAM = "agency:" + "_".join(agency.agency_id for agency in AGENCIES) + "_gone"


def _compiled_recipient(routing: Routing) -> str:
    """The SQL dbt compiles fct_work_queue.recipient to for this routing (over q.team_id, q.allowed_channels)."""
    from arrears.transform import dbt_invoke

    inline = "select {{ work_queue_recipient('q.team_id', 'q.allowed_channels') }} as recipient"
    variables = json.dumps({"recipient_routing": routing_var(routing)})
    result = dbt_invoke(["compile", "--inline", inline, "--vars", variables])
    assert result.success, result.exception
    compiled = str(result.result.results[0].node.compiled_code)
    return compiled.split("select", 1)[1].rsplit("as recipient", 1)[0]


def _routed_in_postgres(
    conn: psycopg.Connection, routing: Routing, rows: Sequence[tuple[str | None, Sequence[str]]]
) -> list[str | None]:
    """For each (team, channels): the recipient dbt's routing gives it, evaluated by PostgreSQL."""
    expression = _compiled_recipient(routing).replace("%", "%%")
    teams = [team for team, _ in rows]
    channels = ["|".join(allowed) for _, allowed in rows]
    found = conn.execute(
        f"select {expression} from ("
        " select n, team_id, string_to_array(nullif(channels, ''), '|') as allowed_channels"
        " from unnest(%s::text[], %s::text[]) with ordinality as u(team_id, channels, n)"
        ") as q order by n",
        (teams, channels),
    ).fetchall()
    return [row[0] for row in found]


def _every_channel_set(channels: Sequence[str]) -> list[list[str]]:
    return [list(combo) for size in range(len(channels) + 1) for combo in itertools.combinations(channels, size)]


def test_shipped_recipients_route_every_channel_set_to_at_most_one_recipient_as_the_rule_says(
    conn: psycopg.Connection,
) -> None:
    routing = load_routing()
    agencies = [agency.team_id for agency in AGENCIES]
    teams = ["predue", "early", "mid", "field", "agency", *agencies, UNKNOWN_AGENCY_TEAM, "legal", "unknown_team"]
    rows = [(team, channels) for team in teams for channels in _every_channel_set(CHANNELS)]
    routed = _routed_in_postgres(conn, routing, rows)
    for (team, channels), recipient in zip(rows, routed, strict=True):
        assert recipient == spec_recipient(team, channels, routing), (team, channels)


# The rule's examples, as a reader of §5 would check them (team, channels the row allows, its recipient).
EXAMPLES = [
    ("predue", ["sms", "app_push"], "predue"),  # the SMS gateway while sms is allowed
    ("predue", ["sms"], "predue"),
    ("predue", ["app_push"], "predue_app"),  # SMS barred: the app-push recipient
    ("predue", [], None),  # no channel: nowhere (counted in the run report)
    ("early", ["sms"], "early"),
    ("mid", ["email"], "mid"),
    ("field", ["visit"], "field"),
    ("agency", ["call"], None),  # not placed with an agency yet: no agency sees it
    ("agency", ["email"], None),  # a channel no agency recipient serves
    (UNKNOWN_AGENCY_TEAM, ["call"], None),  # an agency the agencies file does not list
    ("legal", [], "legal"),  # legal keeps its court cases when every channel is barred
    ("legal", ["letter"], "legal"),
    (None, [], None),  # held: not a worked row, not counted as routed nowhere
] + [
    # Each agency's rows go to its own recipient (one per agency of the agencies file, docs/agencies.md).
    example
    for agency in AGENCIES
    for example in (
        (agency.team_id, ["call", "sms", "letter"], f"agency_{agency.agency_id}"),
        (agency.team_id, ["letter"], f"agency_{agency.agency_id}"),
        (agency.team_id, ["email"], None),
    )
]


def test_shipped_routing_examples(conn: psycopg.Connection) -> None:
    routed = _routed_in_postgres(conn, load_routing(), [(team, channels) for team, channels, _ in EXAMPLES])
    assert routed == [recipient for _, _, recipient in EXAMPLES]


def _loan_ids_in_file(recipient_name: str, path: Path) -> set[str]:
    """The loan ids of a recipient's rows file, found by the loan_id column's header in its language."""
    from arrears.export.config import recipient

    target = recipient(recipient_name)
    rows = read_csv(path)
    position = [column.spec.name for column in target.columns].index("loan_id")
    assert rows[0][position] == target.columns[position].header(target.header_language)
    return {row[position] for row in rows[1:]}


def test_each_agency_file_holds_exactly_the_rows_placed_with_that_agency(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.export import export_recipient, recipient_names

    monkeypatch.setenv("ARREARS_HASH_KEY", "k")
    create_marts(conn)
    placed: dict[str, set[str]] = {}
    for position, agency in enumerate(AGENCIES):
        for offset, channels in enumerate((["call", "sms", "letter"], ["letter"], ["sms"])):
            loan_id = f"L{10 * position + offset + 1}"
            add_loan(conn, D, loan_id, dpd=130, team=agency.team_id, channels=channels)
            placed.setdefault(f"agency_{agency.agency_id}", set()).add(loan_id)
    add_loan(conn, D, "L900", dpd=130, team="agency", channels=["call"])  # not placed yet
    add_loan(conn, D, "L901", dpd=130, team=UNKNOWN_AGENCY_TEAM, channels=["call"])  # not in the agencies file
    clear_gate(conn)

    agency_recipients = [name for name in recipient_names() if name.startswith("agency_")]
    assert sorted(agency_recipients) == sorted(placed)  # one recipient per active agency of the file, no other
    for name in agency_recipients:
        written = export_recipient(D, name)
        assert _loan_ids_in_file(name, written.files[0].path) == placed[name], name


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
    expected = ["gateway", "dialer", "agency:acme", None, "agencies"]
    assert _routed_in_postgres(conn, routing, rows) == expected
    assert [spec_recipient(team, channels, routing) for team, channels in rows] == expected


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

    # A manager's mistake: the SMS gateway is said to serve app_push too, so the night's build gives it L1.
    shipped = yaml.safe_load(RECIPIENTS_FILE.read_text(encoding="utf-8"))
    shipped["recipients"]["predue"]["channels"] = ["sms", "app_push"]
    use_recipients(shipped, tmp_path, monkeypatch)
    reroute(conn, D)
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
    reroute(conn, D)
    assert run_suites(D, ["export_predue"]).success
    assert export_recipient(D, "predue").files[0].rows == 1
    app = export_recipient(D, "predue_app")
    assert [line[0] for line in read_csv(app.files[0].path)] == ["loan_id", "L1"]


def test_a_row_no_recipient_can_take_is_in_no_file_caught_by_the_gate_and_counted(
    conn: psycopg.Connection, arrears_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.checks import run_suites
    from arrears.checks.suites import template_values
    from arrears.export import export_folder, export_recipient, recipient_names

    monkeypatch.setenv("ARREARS_HASH_KEY", "k")
    create_marts(conn)
    agency = AGENCIES[0].team_id
    add_loan(conn, D, "L1", dpd=130, team=agency, channels=["email"])  # no agency recipient sends email
    add_loan(conn, D, "L2", dpd=130, team="agency", channels=["call"])  # not placed yet: no agency sees it
    add_loan(conn, D, "L3", dpd=0, team="predue", channels=[])  # nothing left to send a reminder by
    add_loan(conn, D, "L4", dpd=5, team="early")
    add_loan(conn, D, "L5", dpd=5, team=None, channels=[])  # held: not a worked row

    # The gate renders the same routing: $routed_nowhere selects exactly the rows no recipient takes.
    nowhere = template_values(D)["routed_nowhere"].replace("%", "%%")
    caught = conn.execute(
        f"select loan_id from marts.fct_work_queue where business_date = %s and {nowhere} order by loan_id", (D,)
    ).fetchall()
    assert [row[0] for row in caught] == ["L1", "L2", "L3"]
    # No file carries them (every recipient exported, as if every suite had passed).
    clear_gate(conn)
    rows_per_file = {name: export_recipient(D, name).files[0].rows for name in recipient_names()}
    assert {name: rows for name, rows in rows_per_file.items() if rows} == {"early": 1}
    assert _loan_ids_in_file("early", export_folder("early", D) / f"early_{D.isoformat()}.csv") == {"L4"}

    # And a channel outside its team's own (the agency's email) fails the agency files' suite.
    outcome = run_suites(D, ["export_agency"])
    (failure,) = [result for result in outcome.results if not result.success]
    assert failure.expectation == "channels_allowed_for_team"
    assert "L1" in str(failure.observed_value) and "L2" not in str(failure.observed_value)


def test_the_run_report_counts_worked_rows_that_reach_no_recipient(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    from arrears.report.config import load_config
    from arrears.report.figures import exports
    from arrears.report.page import RENDERERS

    create_marts(conn)
    agency = AGENCIES[0].team_id
    add_loan(conn, D, "L1", dpd=130, team=agency, channels=["email"])  # no agency recipient sends email
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

    assert figures["routed_nowhere"] == {"agency": 1, agency: 1}
    assert figures["rows_exported"] == 1  # the numbers file's lines are not queue rows
    html = RENDERERS["exports"](figures, config)
    assert f"Worked rows sent to no recipient (no recipient serves their channels): 2 (agency 1, {agency} 1)." in html
