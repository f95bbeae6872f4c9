"""The outside collection agencies and their terms (business rules §9): dbt_project/seeds/agencies.csv.

One file a collections manager edits. dbt places late accounts with these agencies
(marts.fct_agency_placements); the same file gives each agency its database role
(warehouse.roles), its own work-queue recipient and SFTP connection (export.config), and the
simulator's agencies. See docs/agencies.md and decision 024.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from arrears.errors import ArrearsError
from arrears.settings import DBT_PROJECT_DIR

AGENCIES_FILE = DBT_PROJECT_DIR / "seeds" / "agencies.csv"
DEFAULT_HOLDING_DAYS = 90
COLUMNS = ("agency_id", "share", "capacity", "holding_days", "active")

_ID = re.compile(r"^[a-z][a-z0-9_]{0,32}$")


@dataclass(frozen=True)
class Agency:
    """One agency's terms."""

    agency_id: str
    share: float
    capacity: int
    holding_days: int
    active: bool

    @property
    def team_id(self) -> str:
        """The work-queue team_id of the loans placed with it: agency:<agency_id>."""
        return f"agency:{self.agency_id}"


def _number(where: str, column: str, text: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise ArrearsError(f"{where}: {column} {text!r} is not a number") from None
    if value < 0:
        raise ArrearsError(f"{where}: {column} {text!r} is negative")
    return value


def _agency(where: str, row: dict[str, str]) -> Agency:
    agency_id = (row.get("agency_id") or "").strip()
    if not _ID.match(agency_id):
        raise ArrearsError(f"{where}: agency_id {agency_id!r} is not an id (lowercase letters, digits, _)")
    active = (row.get("active") or "").strip().lower()
    if active not in ("true", "false"):
        raise ArrearsError(f"{where}: active must be true or false, not {active!r}")
    holding = (row.get("holding_days") or "").strip()
    holding_days = int(_number(where, "holding_days", holding, int)) if holding else DEFAULT_HOLDING_DAYS
    if holding_days == 0:
        raise ArrearsError(f"{where}: holding_days must be at least 1")
    return Agency(
        agency_id=agency_id,
        share=float(_number(where, "share", (row.get("share") or "").strip(), float)),
        capacity=int(_number(where, "capacity", (row.get("capacity") or "").strip(), int)),
        holding_days=holding_days,
        active=active == "true",
    )


def load_agencies(path: Path = AGENCIES_FILE) -> list[Agency]:
    """Every agency of the file, in file order; a one-line ArrearsError for a bad file."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
            if missing:
                raise ArrearsError(f"{path}: missing column(s) {', '.join(missing)}")
            agencies = [_agency(f"{path.name} line {number}", row) for number, row in enumerate(reader, start=2)]
    except OSError as err:
        raise ArrearsError(f"cannot read {path}: {err}") from err
    ids = [agency.agency_id for agency in agencies]
    duplicates = sorted({agency_id for agency_id in ids if ids.count(agency_id) > 1})
    if duplicates:
        raise ArrearsError(f"{path.name}: agencies listed twice: {', '.join(duplicates)}")
    return agencies
