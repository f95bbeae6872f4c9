"""Recipient routing as SQL predicates over a work-queue row (`team_id`, `allowed_channels`).

A row's team is served by the recipients that list it: those naming the team exactly (`agency:acme`)
or, when none does, those naming its base team (`agency` serves every `agency:<name>` left over).
Among them, the team's channel order decides: each channel belongs to the first recipient (file
order) that serves it, and the row goes to the owner of the first owned channel the row allows.
A row that allows no owned channel goes nowhere (counted by `routed_nowhere_sql`), except that a
recipient marked `rows_without_channel` takes its team's rows left with no channel at all (the
legal team's court cases go on without contact).
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

    def owners(self, team: str) -> list[tuple[str, str]]:
        """(channel, recipient) in the team's channel order, for each channel one of its recipients serves."""
        owned = []
        for channel in self.order_for(team):
            owner = next((r.name for r in self.candidates(team) if channel in r.channels), None)
            if owner is not None:
                owned.append((channel, owner))
        return owned


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _channels_array(channels: Sequence[str]) -> str:
    return "array[" + ", ".join(_literal(channel) for channel in channels) + "]::text[]"


def _team_match_sql(team: str, routing: Routing) -> str:
    """The rows of `team`: itself and, for a base team, its sub-teams that no recipient names exactly."""
    if ":" in team:
        return f"team_id = {_literal(team)}"
    named = sorted({t for r in routing.recipients for t in r.teams if t.startswith(team + ":")})
    prefix = f"starts_with(team_id, {_literal(team + ':')})"
    if named:
        prefix += f" and team_id <> all({_channels_array(named)})"
    return f"(team_id = {_literal(team)} or ({prefix}))"


def _channel_sql(team: str, recipient: str, routing: Routing) -> str | None:
    """The rows of `team` that go to `recipient` by their channels, or None when it owns none."""
    # Runs of consecutive channels it owns, each with the other recipients' channels ranked before it:
    # one array overlap per run, which the planner estimates from the column's element statistics.
    runs: list[tuple[list[str], list[str]]] = []
    earlier_others: list[str] = []
    for channel, owner in routing.owners(team):
        if owner != recipient:
            earlier_others.append(channel)
        elif runs and runs[-1][1] == earlier_others:
            runs[-1][0].append(channel)
        else:
            runs.append(([channel], list(earlier_others)))
    terms = []
    for own, before in runs:
        term = f"allowed_channels && {_channels_array(own)}"
        if before:
            term += f" and not (allowed_channels && {_channels_array(before)})"
        terms.append(f"({term})")
    takes_empty = next((r.name for r in routing.candidates(team) if r.rows_without_channel), None)
    if takes_empty == recipient:
        terms.append("(coalesce(cardinality(allowed_channels), 0) = 0)")
    return " or ".join(terms) if terms else None


def recipient_rows_sql(routing: Routing, recipient: str) -> str:
    """SQL predicate: the queue row goes to `recipient` (columns `team_id`, `allowed_channels`)."""
    target = next((r for r in routing.recipients if r.name == recipient), None)
    if target is None:
        raise RoutingConfigError(f"unknown recipient {recipient!r}")
    parts = []
    for team in target.teams:
        channels = _channel_sql(team, recipient, routing)
        if channels is not None:
            parts.append(f"({_team_match_sql(team, routing)} and ({channels}))")
    return "(" + (" or ".join(parts) if parts else "false") + ")"


def routed_nowhere_sql(routing: Routing) -> str:
    """SQL predicate: a worked row (with a team) that no recipient receives."""
    received = " or ".join(recipient_rows_sql(routing, r.name) for r in routing.recipients) or "false"
    return f"(team_id is not null and not coalesce({received}, false))"


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
