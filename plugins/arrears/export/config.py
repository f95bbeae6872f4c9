"""The recipients (config/recipients.yml) and the column catalogue (export/columns.yml), validated once."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from arrears.errors import ArrearsError
from arrears.routing import (
    CHANNELS,
    RoutedRecipient,
    Routing,
    RoutingConfigError,
    expand_per_agency,
    recipients_file,
    routing_from_config,
)

COLUMNS_FILE = Path(__file__).resolve().parent / "columns.yml"

POLICIES = ("full", "masked", "hashed")
LANGUAGES = ("en", "zh-CN")
FORMATS = ("csv", "parquet", "xlsx")
COLUMN_TYPES = ("text", "number", "date")
MASK_KINDS = ("national_id", "phone", "name", "email", "address")


class RecipientConfigError(ArrearsError):
    """recipients.yml or columns.yml says something the exporter cannot honour."""


@dataclass(frozen=True)
class ColumnSpec:
    """One exportable column of the catalogue."""

    name: str
    sql: str
    type: str
    labels: dict[str, str]
    mask: str | None
    sensitive: bool
    coded: bool = False  # its values are reason codes, labelled in the file's language (reason_labels.yml)


@dataclass(frozen=True)
class ExportColumn:
    """A catalogue column as one recipient receives it."""

    spec: ColumnSpec
    policy: str

    def header(self, language: str) -> str:
        """The column's header in the recipient's language."""
        return self.spec.labels[language]


@dataclass(frozen=True)
class Recipient:
    """One recipient: whose rows, which columns under which policy, in which file format."""

    name: str
    description: str
    teams: tuple[str, ...]
    third_party: bool
    header_language: str
    format: str
    suites: tuple[str, ...]
    columns: tuple[ExportColumn, ...]
    schema_version: int
    channels: tuple[str, ...] = CHANNELS  # the channels it serves (routing: arrears.routing)
    rows_without_channel: bool = False  # also takes its team's rows left with no channel (legal)
    numbers_file: bool = False  # a second file: the numbers the dialer may use for each row

    @property
    def routed(self) -> RoutedRecipient:
        """What routing needs of this recipient."""
        return RoutedRecipient(self.name, self.teams, self.channels, self.rows_without_channel)

    @property
    def hashed_columns(self) -> list[str]:
        """Names of the columns this recipient receives as keyed hashes."""
        return [column.spec.name for column in self.columns if column.policy == "hashed"]


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise RecipientConfigError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict):
        raise RecipientConfigError(f"{path}: expected a mapping at the top level")
    return data


def _column_spec(name: str, raw: dict[str, Any]) -> ColumnSpec:
    labels = raw.get("labels") or {}
    missing = [language for language in LANGUAGES if language not in labels]
    if missing:
        raise RecipientConfigError(f"columns.yml: {name} has no label for {', '.join(missing)}")
    if raw.get("type") not in COLUMN_TYPES:
        raise RecipientConfigError(f"columns.yml: {name} type must be one of {', '.join(COLUMN_TYPES)}")
    if raw.get("mask") is not None and raw["mask"] not in MASK_KINDS:
        raise RecipientConfigError(f"columns.yml: {name} mask must be one of {', '.join(MASK_KINDS)}")
    return ColumnSpec(
        name=name,
        sql=str(raw["sql"]),
        type=str(raw["type"]),
        labels={language: str(labels[language]) for language in LANGUAGES},
        mask=raw.get("mask"),
        sensitive=bool(raw.get("sensitive", False)),
        coded=bool(raw.get("coded", False)),
    )


@functools.cache
def column_catalogue(path: Path = COLUMNS_FILE) -> dict[str, ColumnSpec]:
    """Every column an export may carry, by name."""
    raw = _read_yaml(path).get("columns") or {}
    return {name: _column_spec(name, spec) for name, spec in raw.items()}


def _export_column(recipient: str, raw: dict[str, Any], third_party: bool) -> ExportColumn:
    catalogue = column_catalogue()
    name = raw.get("name")
    if name not in catalogue:
        raise RecipientConfigError(f"recipients.yml: {recipient}: unknown column {name!r} (see export/columns.yml)")
    spec = catalogue[name]
    policy = raw.get("policy")
    if policy not in POLICIES:
        raise RecipientConfigError(f"recipients.yml: {recipient}.{name}: policy must be one of {', '.join(POLICIES)}")
    if policy == "masked" and spec.mask is None:
        raise RecipientConfigError(f"recipients.yml: {recipient}.{name}: this column has no masked form")
    # Data minimisation (PIPL): an outside company never gets a sensitive identifier in clear.
    if third_party and spec.sensitive and policy == "full":
        raise RecipientConfigError(
            f"recipients.yml: {recipient} is a third party and may not receive {name} in full (use masked or hashed)"
        )
    return ExportColumn(spec=spec, policy=policy)


def _recipient(name: str, raw: dict[str, Any], schema_version: int) -> Recipient:
    third_party = bool(raw.get("third_party", False))
    language = raw.get("header_language", "zh-CN")
    file_format = raw.get("format", "csv")
    if language not in LANGUAGES:
        raise RecipientConfigError(f"recipients.yml: {name}: header_language must be one of {', '.join(LANGUAGES)}")
    if file_format not in FORMATS:
        raise RecipientConfigError(f"recipients.yml: {name}: format must be one of {', '.join(FORMATS)}")
    columns = tuple(_export_column(name, column, third_party) for column in raw.get("columns") or [])
    if not columns:
        raise RecipientConfigError(f"recipients.yml: {name}: no columns")
    if not raw.get("teams"):
        raise RecipientConfigError(f"recipients.yml: {name}: no teams")
    if not raw.get("suites"):
        # Nothing leaves the platform unchecked: a recipient must name the suites that clear its file.
        raise RecipientConfigError(f"recipients.yml: {name}: no suites (name the checks that must pass)")
    if raw.get("numbers_file") and file_format != "csv":
        raise RecipientConfigError(f"recipients.yml: {name}: numbers_file needs format csv (a dialer loads it)")
    return Recipient(
        name=name,
        description=str(raw.get("description", "")),
        teams=tuple(str(team) for team in raw["teams"]),
        third_party=third_party,
        header_language=language,
        format=file_format,
        suites=tuple(str(suite) for suite in raw.get("suites") or []),
        columns=columns,
        schema_version=schema_version,
        channels=tuple(str(channel) for channel in raw.get("channels") or CHANNELS),
        rows_without_channel=bool(raw.get("rows_without_channel", False)),
        numbers_file=bool(raw.get("numbers_file", False)),
    )


def load_recipients(path: Path | None = None) -> dict[str, Recipient]:
    """Every configured recipient, by name, in file order; raises RecipientConfigError on a bad file."""
    data = _read_yaml(path or recipients_file())
    schema_version = int(data.get("schema_version", 1))
    try:
        routing_from_config(data)  # the channels and channel order are valid before anything is exported
    except RoutingConfigError as err:
        raise RecipientConfigError(str(err)) from err
    # A `per_agency` template becomes one recipient per active agency (routing/agency_recipients.py).
    raw_recipients = expand_per_agency(data.get("recipients") or {})
    return {name: _recipient(name, raw, schema_version) for name, raw in raw_recipients.items()}


def routing_of(recipients: dict[str, Recipient], path: Path | None = None) -> Routing:
    """The routing of these recipients, with the file's channel order."""
    data = _read_yaml(path or recipients_file())
    order = routing_from_config({"channel_order": data.get("channel_order") or {}}).channel_order
    return Routing(tuple(r.routed for r in recipients.values()), order)


def recipient(name: str, path: Path | None = None) -> Recipient:
    """One recipient by name; a clear error for an unknown one."""
    recipients = load_recipients(path)
    if name not in recipients:
        raise RecipientConfigError(f"unknown recipient {name!r} (configured: {', '.join(recipients)})")
    return recipients[name]
