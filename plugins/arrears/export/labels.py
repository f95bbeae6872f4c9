"""The labels of the queue's reason codes per file language (export/reason_labels.yml), validated once."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from arrears.errors import ArrearsError

REASON_LABELS_FILE = Path(__file__).resolve().parent / "reason_labels.yml"
CODE_SEPARATOR = ","  # how the warehouse joins a row's reason codes


class ReasonLabelsError(ArrearsError):
    """reason_labels.yml is not a mapping of languages to {code: label}."""


@dataclass(frozen=True)
class ReasonLabels:
    """One language's labels: code -> label, and the separator that joins a row's labels."""

    labels: dict[str, str]
    separator: str


@functools.cache
def _read(path: Path) -> dict[str, ReasonLabels]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ReasonLabelsError(f"cannot read {path}: {err}") from err
    languages = data.get("labels") or {}
    separators = data.get("separators") or {}
    if not isinstance(languages, dict) or not all(isinstance(labels, dict) for labels in languages.values()):
        raise ReasonLabelsError(f"{path}: `labels` must map each language to {{code: label}}")
    return {
        language: ReasonLabels(
            labels={str(code): str(label) for code, label in labels.items()},
            separator=str(separators.get(language, CODE_SEPARATOR)),
        )
        for language, labels in languages.items()
    }


def reason_labels(language: str, path: Path = REASON_LABELS_FILE) -> ReasonLabels | None:
    """The labels for a file language, or None when that language carries the codes themselves."""
    return _read(path).get(language)
