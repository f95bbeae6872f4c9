"""The report's settings (`report.yml`) and words (`labels.yml`), both beside this module."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import yaml

from arrears.errors import ArrearsError

CONFIG_FILE = Path(__file__).with_name("report.yml")
LABELS_FILE = Path(__file__).with_name("labels.yml")
LANGUAGE_VARIABLE = "ARREARS_REPORT_LANGUAGE"


class ReportConfigError(ArrearsError):
    """report.yml or labels.yml cannot be used (unknown language, missing label)."""


@dataclass(frozen=True)
class SectionText:
    """The heading and the one-paragraph explanation of a report section."""

    title: str
    caption: str


@dataclass(frozen=True)
class Labels:
    """Every word of the page in one language; templates take `{name}` values."""

    language: str
    entries: dict[str, Any]

    def _entry(self, key: str) -> Any:
        node: Any = self.entries
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ReportConfigError(f"labels.yml: {self.language} has no label {key!r}")
            node = node[part]
        return node

    def text(self, key: str, **values: Any) -> str:
        """A label as plain text (for chart titles and JSON), values filled in as they are."""
        return str(self._entry(key)).format(**values)

    def html(self, key: str, raw: dict[str, str] | None = None, **values: Any) -> str:
        """A label for the page: the template's own markup kept, every filled-in value escaped (`raw`: markup)."""
        escaped = {name: escape(str(value)) for name, value in values.items()}
        return str(self._entry(key)).format(**escaped, **(raw or {}))

    def words(self, key: str) -> list[str]:
        """A list label (table headers)."""
        return [str(word) for word in self._entry(key)]

    def value(self, kind: str, code: str) -> str:
        """The word for a code from the data (a stage, a team); the code itself when there is none."""
        names = self.entries.get("values", {}).get(kind, {}) or {}
        if code in names:
            return str(names[code])
        prefix = code.split(":", 1)[0]  # agency:acme -> the agency's word plus its name
        return f"{names[prefix]}:{code.split(':', 1)[1]}" if ":" in code and prefix in names else code

    def section(self, key: str) -> SectionText:
        """Title and caption of one section."""
        return SectionText(self.text(f"sections.{key}.title"), self.text(f"sections.{key}.caption"))


@dataclass(frozen=True)
class ReportConfig:
    """Display order, colours, bins and language of the run report."""

    stages: tuple[str, ...]
    buckets: tuple[str, ...]
    stage_colors: dict[str, str]
    series_colors: tuple[str, ...]
    dpd_bins: tuple[tuple[int, int | None], ...]
    vintage_cohorts: int
    promise_window_days: int
    trend_nights: int
    trend_recent_nights: int
    trend_stages: tuple[str, ...]
    airflow_url: str
    language: str
    labels: Labels

    def text(self, key: str) -> SectionText:
        """Title and caption of one section, in the report's language."""
        return self.labels.section(key)


def ordered(values: set[str] | list[str], preferred: tuple[str, ...]) -> list[str]:
    """Values in the configured order first, then any others alphabetically (new codes still show up)."""
    present = set(values)
    return [value for value in preferred if value in present] + sorted(present - set(preferred))


def _bin(entry: Any) -> tuple[int, int | None]:
    low, high = entry
    return int(low), None if high is None else int(high)


@cache
def _read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_labels(language: str, path: Path = LABELS_FILE) -> Labels:
    """The labels of one language; a clear error naming the languages there are."""
    every = _read_yaml(path)
    if language not in every:
        raise ReportConfigError(f"report language {language!r} is not in labels.yml (there: {', '.join(every)})")
    return Labels(language, every[language])


def load_config(path: Path = CONFIG_FILE, language: str | None = None) -> ReportConfig:
    """Parse report.yml; the language is `language`, else $ARREARS_REPORT_LANGUAGE, else report.yml's."""
    data = _read_yaml(path)
    chosen = language or os.environ.get(LANGUAGE_VARIABLE) or str(data["language"])
    series_colors = tuple(data["series_colors"])
    if int(data["vintage_cohorts"]) > len(series_colors):
        raise ReportConfigError("report.yml: vintage_cohorts is larger than the number of series_colors")
    return ReportConfig(
        stages=tuple(data["stages"]),
        buckets=tuple(data["buckets"]),
        stage_colors=dict(data["stage_colors"]),
        series_colors=series_colors,
        dpd_bins=tuple(_bin(entry) for entry in data["dpd_bins"]),
        vintage_cohorts=int(data["vintage_cohorts"]),
        promise_window_days=int(data["promise_window_days"]),
        trend_nights=int(data["trend_nights"]),
        trend_recent_nights=int(data["trend_recent_nights"]),
        trend_stages=tuple(data["trend_stages"]),
        airflow_url=str(data["airflow_url"]).rstrip("/"),
        language=chosen,
        labels=load_labels(chosen),
    )
