"""The experiments a collections manager defines (config/experiments.yml), parsed and validated.

Every mistake is one line naming the experiment and arm. An arm may only narrow or reorder what §5
allows its team: its channels must be a subset of the team's routed channels (seed work_queue_routing),
its pre-due days at most the rule's `predue_days`; the warehouse test
`work_queue_arms_never_widen_channels` checks the published rows again.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from arrears.errors import ArrearsError
from arrears.settings import CONFIG_DIR, DBT_PROJECT_DIR

EXPERIMENTS_FILE = CONFIG_DIR / "experiments.yml"
# Priority orderings an arm may choose (macro experiment_priority_keys); a new ordering, such as the
# collection score, is one more value here and one more branch in that macro.
PRIORITY_ORDERINGS = ("rule_order", "highest_overdue", "next_bucket_first")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_EXPERIMENT_KEYS = {"id", "team", "salt", "starts_on", "ends_on", "arms", "description"}
_ARM_KEYS = {"id", "share", "champion", "priority", "channels", "predue_days", "description"}


@dataclass(frozen=True)
class Arm:
    """One arm: its share of the team's loans and the strategy it applies."""

    id: str
    share: float
    champion: bool
    priority: str
    channels: tuple[str, ...] | None  # None: the §5 channels in their order
    predue_days: int | None  # None: the rule's predue_days


@dataclass(frozen=True)
class Experiment:
    """One experiment on one team, in force from starts_on through ends_on (open when None)."""

    id: str
    team: str
    salt: str
    starts_on: dt.date
    ends_on: dt.date | None
    arms: tuple[Arm, ...]

    @property
    def champion(self) -> Arm:
        return next(arm for arm in self.arms if arm.champion)


def experiments_file() -> Path:
    """config/experiments.yml, or $ARREARS_EXPERIMENTS_FILE (a site's own, or a test's)."""
    return Path(os.environ.get("ARREARS_EXPERIMENTS_FILE") or EXPERIMENTS_FILE)


def load_experiments(path: Path | None = None) -> list[Experiment]:
    """Parse and validate the experiments file; ArrearsError (one line) on any mistake."""
    path = path or experiments_file()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ArrearsError(f"experiments file {path}: cannot read it ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ArrearsError(f"experiments file {path}{where}: not valid YAML") from None
    return parse_experiments(data, str(path))


def parse_experiments(data: Any, source: str = "experiments") -> list[Experiment]:
    """Validate the parsed YAML document (`experiments:` a list); returns the experiments."""
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("experiments") or [], list):
        raise ArrearsError(f"{source}: expected a mapping with a list `experiments:`")
    routed = _routed_channels()
    experiments = [
        _experiment(item, position, source, routed) for position, item in enumerate(data["experiments"] or [])
    ]
    _no_duplicates(experiments, source)
    return experiments


def _experiment(item: Any, position: int, source: str, routed: dict[str, tuple[str, ...]]) -> Experiment:
    where = f"{source}: experiment #{position + 1}"
    if not isinstance(item, dict):
        raise ArrearsError(f"{where}: expected a mapping")
    experiment_id = _identifier(item.get("id"), f"{where}: id")
    where = f"{source}: experiment {experiment_id}"
    _known_keys(item, _EXPERIMENT_KEYS, where)
    team = item.get("team")
    if team not in routed:
        raise ArrearsError(f"{where}: team {team!r} is not a routed team (one of {', '.join(sorted(routed))})")
    salt = item.get("salt")
    if not isinstance(salt, str) or not salt.strip():
        raise ArrearsError(f"{where}: salt must be a non-empty text (it fixes who is in which arm)")
    starts_on = _date(item.get("starts_on"), f"{where}: starts_on", required=True)
    ends_on = _date(item.get("ends_on"), f"{where}: ends_on", required=False)
    if starts_on and ends_on and ends_on < starts_on:
        raise ArrearsError(f"{where}: ends_on {ends_on} is before starts_on {starts_on}")
    arms_data = item.get("arms")
    if not isinstance(arms_data, list) or len(arms_data) < 2:
        raise ArrearsError(f"{where}: needs a list `arms:` of at least 2 arms (a champion and a challenger)")
    arms = tuple(_arm(arm, index, where, team, routed[team]) for index, arm in enumerate(arms_data))
    if len({arm.id for arm in arms}) != len(arms):
        raise ArrearsError(f"{where}: two arms share an id")
    champions = [arm.id for arm in arms if arm.champion]
    if len(champions) != 1:
        raise ArrearsError(f"{where}: exactly one arm must be `champion: true` (found {len(champions)})")
    total = sum(arm.share for arm in arms)
    if abs(total - 1.0) > 1e-9:
        raise ArrearsError(f"{where}: arm shares add up to {total:g}, not 1")
    assert starts_on is not None
    return Experiment(experiment_id, team, salt, starts_on, ends_on, arms)


def _arm(item: Any, index: int, where: str, team: str, team_channels: tuple[str, ...]) -> Arm:
    if not isinstance(item, dict):
        raise ArrearsError(f"{where}: arm #{index + 1}: expected a mapping")
    arm_id = _identifier(item.get("id"), f"{where}: arm #{index + 1}: id")
    where = f"{where}, arm {arm_id}"
    _known_keys(item, _ARM_KEYS, where)
    share = item.get("share")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
        raise ArrearsError(f"{where}: share must be a number between 0 and 1 (exclusive), got {share!r}")
    champion = item.get("champion", False)
    if not isinstance(champion, bool):
        raise ArrearsError(f"{where}: champion must be true or false")
    priority = item.get("priority", "rule_order")
    if priority not in PRIORITY_ORDERINGS:
        raise ArrearsError(f"{where}: priority {priority!r} is not one of {', '.join(PRIORITY_ORDERINGS)}")
    channels = _channels(item.get("channels"), where, team, team_channels)
    predue_days = _predue_days(item.get("predue_days"), where, team)
    return Arm(arm_id, float(share), champion, priority, channels, predue_days)


def _channels(value: Any, where: str, team: str, team_channels: tuple[str, ...]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise ArrearsError(f"{where}: channels must be a non-empty list of channel names, in the order to use them")
    if len(set(value)) != len(value):
        raise ArrearsError(f"{where}: channels names a channel twice")
    widened = [channel for channel in value if channel not in team_channels]
    if widened:
        raise ArrearsError(
            f"{where}: channels {', '.join(widened)} not allowed for team {team} by §5 "
            f"({', '.join(team_channels)}): an arm may narrow or reorder, never widen"
        )
    return tuple(value)


def _predue_days(value: Any, where: str, team: str) -> int | None:
    if value is None:
        return None
    if team != "predue":
        raise ArrearsError(f"{where}: predue_days applies only to an experiment on team predue")
    limit = _rule_predue_days()
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise ArrearsError(
            f"{where}: predue_days must be a whole number from 1 to {limit} (the rule's predue_days): "
            "an arm may shorten the reminder window, never lengthen it"
        )
    return value


def _no_duplicates(experiments: list[Experiment], source: str) -> None:
    seen: dict[str, Experiment] = {}
    for experiment in experiments:
        if experiment.id in seen:
            raise ArrearsError(f"{source}: two experiments are called {experiment.id}")
        seen[experiment.id] = experiment
    for first in experiments:
        for second in experiments:
            if first.id < second.id and first.team == second.team and _overlap(first, second):
                raise ArrearsError(
                    f"{source}: experiments {first.id} and {second.id} both run on team {first.team} at the same time"
                )


def _overlap(first: Experiment, second: Experiment) -> bool:
    never = dt.date.max
    return first.starts_on <= (second.ends_on or never) and second.starts_on <= (first.ends_on or never)


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ArrearsError(f"{where} must be lower-case letters, digits and _ (starting with a letter), got {value!r}")
    return value


def _known_keys(item: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ArrearsError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(allowed))})")


def _date(value: Any, where: str, required: bool) -> dt.date | None:
    if value is None:
        if required:
            raise ArrearsError(f"{where} is required (YYYY-MM-DD)")
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ArrearsError(f"{where} must be a date YYYY-MM-DD, got {value!r}") from None


def _routed_channels() -> dict[str, tuple[str, ...]]:
    """Each team's channels in the §5 routing table (the widest an arm may use), in the table's order."""
    teams: dict[str, list[str]] = {}
    with (DBT_PROJECT_DIR / "seeds" / "work_queue_routing.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["team_id"]:
                channels = teams.setdefault(row["team_id"], [])
                channels += [c for c in row["channels"].split("|") if c and c not in channels]
    return {team: tuple(channels) for team, channels in teams.items()}


def _rule_predue_days() -> int:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return int(project["vars"]["predue_days"])
