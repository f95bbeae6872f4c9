"""The expectation suites in expectations/*.yml and the settings (config/checks.yml) substituted into them.

A suite file names the batch it validates (an SQL query, so GX pushes every expectation down to
PostgreSQL) and lists its expectations in GX's own vocabulary (`type`, `kwargs`), each with a
stable `name` that audit.dq_results and the gate's error messages use. `$business_date` and the
checks.yml values are substituted before GX sees the SQL.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from arrears.errors import ArrearsError
from arrears.routing import RECIPIENT_ROWS_PREFIX, load_routing, routing_template_values
from arrears.settings import CONFIG_DIR, EXPECTATIONS_DIR

CHECKS_FILE = CONFIG_DIR / "checks.yml"


class SuiteConfigError(ArrearsError):
    """A suite file or checks.yml that cannot be used."""


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation as written in a suite file."""

    name: str
    type: str
    kwargs: dict[str, Any]
    notes: str = ""


@dataclass(frozen=True)
class Suite:
    """A named set of expectations on one batch (an SQL query)."""

    name: str
    description: str
    batch_query: str
    expectations: tuple[ExpectationSpec, ...] = field(default_factory=tuple)


def _expectation(suite: str, raw: dict[str, Any]) -> ExpectationSpec:
    for key in ("name", "type"):
        if not raw.get(key):
            raise SuiteConfigError(f"expectations/{suite}.yml: an expectation has no {key}")
    return ExpectationSpec(
        name=str(raw["name"]),
        type=str(raw["type"]),
        kwargs=dict(raw.get("kwargs") or {}),
        notes=str(raw.get("notes", "")),
    )


def load_suite(path: Path) -> Suite:
    """Read one suite file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise SuiteConfigError(f"cannot read suite {path}: {err}") from err
    name = raw.get("name") or path.stem
    if name != path.stem:
        raise SuiteConfigError(f"{path}: name {name!r} must match the file name")
    expectations = tuple(_expectation(name, item) for item in raw.get("expectations") or [])
    names = [expectation.name for expectation in expectations]
    if len(set(names)) != len(names):
        raise SuiteConfigError(f"{path}: expectation names must be unique within the suite")
    return Suite(
        name=name, description=str(raw.get("description", "")), batch_query=raw["batch"], expectations=expectations
    )


def load_suites(folder: Path = EXPECTATIONS_DIR) -> dict[str, Suite]:
    """Every suite under expectations/, by name, sorted."""
    return {suite.name: suite for suite in map(load_suite, sorted(folder.glob("*.yml")))}


def check_settings(path: Path = CHECKS_FILE) -> dict[str, Any]:
    """checks.yml as a mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise SuiteConfigError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict):
        raise SuiteConfigError(f"{path}: expected a mapping")
    return data


class _TemplateValues(dict[str, str]):
    """The $names of the suites; a recipient the recipients file does not configure has no rows (`false`)."""

    def __missing__(self, key: str) -> str:
        if key.startswith(RECIPIENT_ROWS_PREFIX):
            return "false"
        raise KeyError(key)


def template_values(business_date: dt.date, settings: dict[str, Any] | None = None) -> dict[str, str]:
    """The $names a suite's SQL may use, as SQL literals."""
    settings = settings if settings is not None else check_settings()
    band = settings["volume_band"]
    return _TemplateValues(
        {
            "business_date": f"date '{business_date.isoformat()}'",
            "volume_lower": str(float(band["lower"])),
            "volume_upper": str(float(band["upper"])),
            "trailing_days": str(int(band["trailing_days"])),
            "min_history_days": str(int(band["min_history_days"])),
            "volume_min_average_rows": str(int(band["min_average_rows"])),
            "warmup_nights": str(int(band.get("warmup_nights", 0))),
            "legal_min_principal": str(float(settings["legal_min_principal"])),
            "field_min_overdue": str(float(settings["field_min_overdue"])),
            "ptp_grace_days": str(int(settings["ptp_grace_days"])),
        }
        | routing_template_values(load_routing())
    )  # $recipient_rows_<name>, $routed_nowhere: the export's routing


def _substitute(value: Any, values: dict[str, str], where: str) -> Any:
    if isinstance(value, str):
        try:
            return string.Template(value).substitute(values)
        except (KeyError, ValueError) as err:
            raise SuiteConfigError(f"{where}: unknown or malformed $name {err}") from err
    if isinstance(value, list):
        return [_substitute(item, values, where) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, values, where) for key, item in value.items()}
    return value


def render_suite(suite: Suite, values: dict[str, str]) -> Suite:
    """The suite with every $name replaced by its value for this run."""
    return Suite(
        name=suite.name,
        description=suite.description,
        batch_query=_substitute(suite.batch_query, values, f"{suite.name}.batch"),
        expectations=tuple(
            ExpectationSpec(
                name=item.name,
                type=item.type,
                kwargs=_substitute(item.kwargs, values, f"{suite.name}.{item.name}"),
                notes=item.notes,
            )
            for item in suite.expectations
        ),
    )
