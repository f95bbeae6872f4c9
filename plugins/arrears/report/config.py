"""The report's layout settings, read from `report.yml` beside this module."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CONFIG_FILE = Path(__file__).with_name("report.yml")


@dataclass(frozen=True)
class SectionText:
    """The heading and the one-paragraph explanation of a report section."""

    title: str
    caption: str


@dataclass(frozen=True)
class ReportConfig:
    """Display order, colours, bins and wording of the run report."""

    stages: tuple[str, ...]
    buckets: tuple[str, ...]
    stage_colors: dict[str, str]
    dpd_bins: tuple[tuple[int, int | None], ...]
    vintage_cohorts: int
    promise_window_days: int
    airflow_url: str
    sections: dict[str, SectionText]

    def text(self, key: str) -> SectionText:
        """Title and caption of one section."""
        return self.sections[key]


def ordered(values: set[str] | list[str], preferred: tuple[str, ...]) -> list[str]:
    """Values in the configured order first, then any others alphabetically (new codes still show up)."""
    present = set(values)
    return [value for value in preferred if value in present] + sorted(present - set(preferred))


def _bin(entry: Any) -> tuple[int, int | None]:
    low, high = entry
    return int(low), None if high is None else int(high)


@cache
def load_config(path: Path = CONFIG_FILE) -> ReportConfig:
    """Parse report.yml (cached: it does not change during a run)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return ReportConfig(
        stages=tuple(data["stages"]),
        buckets=tuple(data["buckets"]),
        stage_colors=dict(data["stage_colors"]),
        dpd_bins=tuple(_bin(entry) for entry in data["dpd_bins"]),
        vintage_cohorts=int(data["vintage_cohorts"]),
        promise_window_days=int(data["promise_window_days"]),
        airflow_url=str(data["airflow_url"]).rstrip("/"),
        sections={key: SectionText(value["title"], value["caption"]) for key, value in data["sections"].items()},
    )
