"""Recipient routing: recipients.yml read and checked, handed to dbt, and the predicates over its result.

The rule itself (business rules §5) is computed in the warehouse when the night is built: dbt's macro
work_queue_recipient turns var recipient_routing (`routing_var`) into fct_work_queue.recipient, and its
unit tests cover every routing rule. Here: reading and refusing a bad file (a recipient serving a
channel its team's channel_order does not rank), and the predicates the exports, the gate and the run
report select the routed rows with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from arrears.errors import ArrearsError
from arrears.routing.agency_recipients import expand_per_agency
from arrears.settings import CONFIG_DIR

RECIPIENTS_FILE = CONFIG_DIR / "recipients.yml"
RECIPIENT_ROWS_PREFIX = "recipient_rows_"  # the suites' $recipient_rows_<name>
CHANNELS = ("call", "sms", "email", "app_push", "letter", "visit", "legal_notice")


class RoutingConfigError(ArrearsError):
    """recipients.yml routes rows in a way that cannot be honoured."""


@dataclass(frozen=True)
class RoutedRecipient:
    """What routing needs of a recipient: its name, its teams, the channels it serves."""

    name: str
    teams: tuple[str, ...]
    channels: tuple[str, ...] = CHANNELS
    rows_without_channel: bool = False


@dataclass(frozen=True)
class Routing:
    """Every recipient (in precedence order) and each team's channel order."""

    recipients: tuple[RoutedRecipient, ...]
    channel_order: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # A `per_agency` template's name -> the recipients made from it (agency -> agency_acme, ...).
    templates: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def candidates(self, team: str) -> list[RoutedRecipient]:
        """The recipients that list `team` itself, in precedence order."""
        return [recipient for recipient in self.recipients if team in recipient.teams]

    def order_for(self, team: str) -> tuple[str, ...]:
        """The team's channel order: its own, its base team's, else its recipients' channels in file order."""
        base = team.split(":", 1)[0]
        if team in self.channel_order:
            return self.channel_order[team]
        if base in self.channel_order:
            return self.channel_order[base]
        served = [channel for recipient in self.candidates(team) for channel in recipient.channels]
        return tuple(dict.fromkeys(served))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def routing_var(routing: Routing) -> dict[str, Any]:
    """The routing as dbt's var recipient_routing: fct_work_queue.recipient is computed from it when the
    night is built (macro work_queue_recipient, where every routing rule lives and is unit-tested)."""
    return {
        "recipients": [
            {
                "name": r.name,
                "teams": list(r.teams),
                "channels": list(r.channels),
                "rows_without_channel": r.rows_without_channel,
            }
            for r in routing.recipients
        ],
        "channel_order": {team: list(order) for team, order in routing.channel_order.items()},
    }


def recipient_rows_sql(routing: Routing, recipient: str) -> str:
    """SQL predicate: the queue row goes to `recipient` (its `recipient` column, routed by the build)."""
    if not any(r.name == recipient for r in routing.recipients):
        raise RoutingConfigError(f"unknown recipient {recipient!r}")
    return f"(recipient = {_literal(recipient)})"


def routed_nowhere_sql(routing: Routing) -> str:
    """SQL predicate: a worked row (with a team) that no recipient receives."""
    return "(team_id is not null and recipient is null)"


def template_name(recipient: str) -> str:
    """The suites' $name of a recipient's row predicate: recipient_rows_<name> (non-word characters as _)."""
    return RECIPIENT_ROWS_PREFIX + re.sub(r"\W", "_", recipient)


def routing_template_values(routing: Routing) -> dict[str, str]:
    """$recipient_rows_<name> for each recipient (a template's: the rows of every recipient made from it)
    and $routed_nowhere, for the expectation suites."""
    values = {template_name(r.name): recipient_rows_sql(routing, r.name) for r in routing.recipients}
    for template, made in routing.templates.items():
        values[template_name(template)] = (
            "(" + (" or ".join(recipient_rows_sql(routing, name) for name in made) or "false") + ")"
        )
    return values | {"routed_nowhere": routed_nowhere_sql(routing)}


def recipients_file() -> Path:
    """config/recipients.yml, or $ARREARS_RECIPIENTS_FILE (a site's own recipients, or a test's)."""
    return Path(os.environ.get("ARREARS_RECIPIENTS_FILE") or RECIPIENTS_FILE)


def _channels(where: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise RoutingConfigError(f"recipients.yml: {where}: expected a list of channels ({', '.join(CHANNELS)})")
    unknown = [str(channel) for channel in raw if channel not in CHANNELS]
    if unknown:
        raise RoutingConfigError(
            f"recipients.yml: {where}: unknown channel(s) {', '.join(unknown)} (known: {', '.join(CHANNELS)})"
        )
    return tuple(str(channel) for channel in raw)


def routing_from_config(data: Mapping[str, Any], generated: Sequence[RoutedRecipient] = ()) -> Routing:
    """The routing of a parsed recipients.yml, plus recipients generated in code (after the file's)."""
    raw_recipients = data.get("recipients") or {}
    expanded = expand_per_agency(raw_recipients)
    templates = {
        str(name): tuple(made for made in expanded if made.startswith(f"{name}_") and made not in raw_recipients)
        for name, raw in raw_recipients.items()
        if isinstance(raw, dict) and raw.get("per_agency")
    }
    recipients = []
    for name, raw in expanded.items():
        channels = _channels(f"{name}.channels", raw["channels"]) if "channels" in raw else CHANNELS
        teams = tuple(str(team) for team in raw.get("teams") or [])
        recipients.append(RoutedRecipient(str(name), teams, channels, bool(raw.get("rows_without_channel", False))))
    order = {
        str(team): _channels(f"channel_order.{team}", raw) for team, raw in (data.get("channel_order") or {}).items()
    }
    routing = Routing(tuple(recipients) + tuple(generated), order, templates)
    for recipient in routing.recipients:
        for team in recipient.teams:
            missing = [channel for channel in recipient.channels if channel not in routing.order_for(team)]
            if missing and recipient.channels != CHANNELS:
                raise RoutingConfigError(
                    f"recipients.yml: {recipient.name} serves {', '.join(missing)}, which channel_order.{team} "
                    "does not list: add it where it ranks, or its rows could never reach the recipient"
                )
    return routing


def load_routing(path: Path | None = None, generated: Sequence[RoutedRecipient] = ()) -> Routing:
    """The routing of recipients.yml (or $ARREARS_RECIPIENTS_FILE); a clear error for a bad file."""
    source = path or recipients_file()
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise RoutingConfigError(f"cannot read {source}: {err}") from err
    if not isinstance(data, dict):
        raise RoutingConfigError(f"{source}: expected a mapping at the top level")
    return routing_from_config(data, generated)
