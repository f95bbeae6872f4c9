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
        language: _check(
            path,
            language,
            ReasonLabels(
                labels={str(code): str(label) for code, label in labels.items()},
                separator=str(separators.get(language, CODE_SEPARATOR)),
            ),
        )
        for language, labels in languages.items()
    }


def labelled_sql(expression: str, labels: ReasonLabels) -> str:
    """SQL that rewrites a row's codes (`early,ptp_hold`) as labels joined by the language's separator.

    Each code is replaced as `,code,` inside the value framed by commas, so a code never matches part
    of another (`cease_communication` in `cease_communication_legal`); a code without a label stays.
    A chain of replace() on a short string per row: no extra scan of the queue and no join.
    """
    chain = f"({CODE_SEPARATOR!r} || {expression} || {CODE_SEPARATOR!r})"
    for position in range(len(labels.labels)):
        chain = f"replace({chain}, %(reason_code_{position})s, %(reason_label_{position})s)"
    return f"replace(btrim({chain}, {CODE_SEPARATOR!r}), {CODE_SEPARATOR!r}, %(reason_separator)s)"


def label_parameters(labels: ReasonLabels | None) -> dict[str, str]:
    """The parameters labelled_sql() refers to (none for a language that carries the codes)."""
    if labels is None:
        return {}
    parameters = {"reason_separator": labels.separator}
    for position, (code, label) in enumerate(labels.labels.items()):
        parameters[f"reason_code_{position}"] = f"{CODE_SEPARATOR}{code}{CODE_SEPARATOR}"
        parameters[f"reason_label_{position}"] = f"{CODE_SEPARATOR}{label}{CODE_SEPARATOR}"
    return parameters


def _check(path: Path, language: str, labels: ReasonLabels) -> ReasonLabels:
    for code, label in labels.labels.items():
        if CODE_SEPARATOR in code or CODE_SEPARATOR in label or not code or not label:
            raise ReasonLabelsError(f"{path}: {language}.{code}: codes and labels are non-empty and contain no ','")
    return labels


def reason_labels(language: str, path: Path = REASON_LABELS_FILE) -> ReasonLabels | None:
    """The labels for a file language, or None when that language carries the codes themselves."""
    return _read(path).get(language)
