"""The last dbt build of this home, read from dbt's own `run_results.json`: every node's status and seconds.

The nightly runs ONE `dbt build` per business date (decision 007): per-model visibility comes from
this file, not from one Airflow task per model. dbt rewrites the file on every command, so it holds
the LAST command of the home only; callers check that it is a build for the date they report on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from arrears.settings import Paths

# dbt statuses as the report counts them; anything else (skipped, no-op) is "skipped".
PASSED = frozenset({"success", "pass"})
WARNED = frozenset({"warn"})
FAILED = frozenset({"error", "fail", "runtime error"})
OUTCOMES = ("passed", "warned", "failed", "skipped")
# Build order: what dbt materialises first, then what checks it.
RESOURCE_TYPES = ("seed", "model", "snapshot", "test", "unit_test")
# Nodes that build nothing (exposures are always no-op; the on-run-start hook): shown only when they fail.
NOT_BUILT = frozenset({"exposure", "operation"})
MESSAGE_MAX = 300  # a failing test's message can hold compiled SQL; the dbt log has the rest


class RunResultsUnreadable(Exception):
    """run_results.json exists but is not the JSON dbt writes (truncated, another tool's file)."""


@dataclass(frozen=True)
class DbtNodeResult:
    """One node of a dbt command: a seed, model, snapshot, data test or unit test."""

    unique_id: str
    resource_type: str
    name: str
    status: str
    seconds: float
    message: str

    @property
    def outcome(self) -> str:
        """passed, warned, failed or skipped."""
        if self.status in PASSED:
            return "passed"
        if self.status in WARNED:
            return "warned"
        if self.status in FAILED:
            return "failed"
        return "skipped"


@dataclass(frozen=True)
class DbtCommandResults:
    """What run_results.json says about the last dbt command of a home."""

    command: str
    business_date: str | None
    select: list[str]
    generated_at: str
    elapsed_seconds: float
    invocation_id: str
    nodes: list[DbtNodeResult]


def run_results_path(home: Paths) -> Path:
    """Where dbt leaves the results of its last command in this home (the runner's --target-path)."""
    return home.dbt_target / "run_results.json"


def node_name(unique_id: str) -> tuple[str, str]:
    """(resource type, display name) from a unique id, the way dbt's log names the node.

    `model.arrears.stg_loans` -> ('model', 'stg_loans'); a data test drops dbt's hash suffix;
    a unit test is shown as `<model>::<test>`.
    """
    parts = unique_id.split(".")
    resource_type = parts[0]
    if resource_type == "test" and len(parts) >= 3:
        return resource_type, parts[2]
    if resource_type == "unit_test" and len(parts) >= 4:
        return resource_type, f"{parts[2]}::{'.'.join(parts[3:])}"
    return resource_type, ".".join(parts[2:]) or unique_id


def _first_line(message: Any) -> str:
    text = (str(message or "").strip().splitlines() or [""])[0]
    return text if len(text) <= MESSAGE_MAX else text[:MESSAGE_MAX] + "..."


def _business_date(args: dict[str, Any], metadata: dict[str, Any]) -> str | None:
    """The business date the command ran with: the runner's environment variable (dbt copies it into the
    metadata's env), else a --vars business_date (dbt stores --vars as a dict, or as the YAML text given)."""
    from_runner = (metadata.get("env") or {}).get("ARREARS_BUSINESS_DATE")
    if from_runner:
        return str(from_runner)
    variables = args.get("vars") or {}
    if isinstance(variables, str):
        try:
            variables = yaml.safe_load(variables) or {}
        except yaml.YAMLError:
            return None
    value = variables.get("business_date") if isinstance(variables, dict) else None
    return None if value is None else str(value)


def _sort_key(node: DbtNodeResult) -> tuple[int, str]:
    order = RESOURCE_TYPES.index(node.resource_type) if node.resource_type in RESOURCE_TYPES else len(RESOURCE_TYPES)
    return order, node.name


def read_run_results(path: Path) -> DbtCommandResults | None:
    """Parse run_results.json; None when there is no file (dbt has not run in this home yet).

    Nodes come in build order (seeds, models, snapshots, tests, unit tests), then by name.
    Raises RunResultsUnreadable when the file is not dbt's JSON.
    """
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        args = data.get("args") or {}
        metadata = data.get("metadata") or {}
        nodes = []
        for result in data["results"]:
            resource_type, name = node_name(str(result["unique_id"]))
            if resource_type in NOT_BUILT and str(result.get("status") or "") not in FAILED:
                continue
            nodes.append(
                DbtNodeResult(
                    unique_id=str(result["unique_id"]),
                    resource_type=resource_type,
                    name=name,
                    status=str(result.get("status") or ""),
                    seconds=round(float(result.get("execution_time") or 0.0), 3),
                    message=_first_line(result.get("message")),
                )
            )
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise RunResultsUnreadable(f"{path.name} is not dbt's run results ({type(err).__name__}: {err})") from err
    select = args.get("select") or []
    return DbtCommandResults(
        command=str(args.get("which") or "unknown"),
        business_date=_business_date(args, metadata),
        select=[str(item) for item in (select if isinstance(select, list) else [select])],
        generated_at=str(metadata.get("generated_at") or ""),
        elapsed_seconds=round(float(data.get("elapsed_time") or 0.0), 1),
        invocation_id=str(metadata.get("invocation_id") or ""),
        nodes=sorted(nodes, key=_sort_key),
    )
