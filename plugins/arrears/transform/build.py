"""`arrears build --date D`: run `dbt build` (seeds, models, tests) for one business date."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from arrears.errors import ArrearsError
from arrears.experiments import experiment_arms_var, load_experiments
from arrears.routing import load_routing, routing_var
from arrears.transform.invoke import dbt_invoke

# dbt's statuses, grouped the way the run report counts them.
_PASSED = {"success", "pass"}
_FAILED = {"error", "fail", "runtime error"}
_TEST_TYPES = {"test", "unit_test"}
# Nodes that build nothing: exposures (always no-op) and the on-run-start hook, reported only when it fails.
_NOT_BUILT = {"exposure", "operation"}


@dataclass(frozen=True)
class NodeStatus:
    """One dbt node of a build: a model, seed, snapshot, data test or unit test."""

    business_date: date
    name: str
    resource_type: str
    status: str
    seconds: float
    message: str = ""

    @property
    def passed(self) -> bool:
        """True for success/pass; warnings count as passed (they are reported, not fatal)."""
        return self.status in _PASSED or self.status == "warn"

    @property
    def failed(self) -> bool:
        """True when the node errored or its test failed."""
        return self.status in _FAILED


@dataclass
class BuildResult:
    """What one `arrears build` did: every node of every business date built, and how long it took."""

    business_dates: list[date]
    full_refresh: bool
    nodes: list[NodeStatus] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self, kind: str) -> dict[str, int]:
        """passed/failed/skipped counts for kind 'models' (models and seeds) or 'tests' (data and unit tests)."""
        selected = [n for n in self.nodes if (n.resource_type in _TEST_TYPES) == (kind == "tests")]
        return {
            "passed": sum(n.passed for n in selected),
            "failed": sum(n.failed for n in selected),
            "skipped": sum(not n.passed and not n.failed for n in selected),
        }

    @property
    def failed_nodes(self) -> list[NodeStatus]:
        """The nodes that errored or failed, in build order."""
        return [n for n in self.nodes if n.failed]

    def summary(self) -> str:
        """One line for the CLI and the run report."""
        models, tests = self.counts("models"), self.counts("tests")
        first, last = self.business_dates[0], self.business_dates[-1]
        dates = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
        refresh = " (full refresh)" if self.full_refresh else ""
        return (
            f"built {dates}{refresh}: models {models['passed']} passed, {models['failed']} failed, "
            f"{models['skipped']} skipped; tests {tests['passed']} passed, {tests['failed']} failed, "
            f"{tests['skipped']} skipped; {self.seconds:.1f} s"
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the run report: the summary and each node's status."""
        return {
            "business_dates": [d.isoformat() for d in self.business_dates],
            "full_refresh": self.full_refresh,
            "seconds": round(self.seconds, 3),
            "summary": self.summary(),
            "nodes": [
                {
                    "business_date": n.business_date.isoformat(),
                    "name": n.name,
                    "resource_type": n.resource_type,
                    "status": n.status,
                    "seconds": round(n.seconds, 3),
                }
                for n in self.nodes
            ],
        }


class BuildFailed(ArrearsError):
    """dbt ran, but a model errored or a test failed; `result` holds every node's status."""

    def __init__(self, message: str, result: BuildResult) -> None:
        super().__init__(message)
        self.result = result


def _ensure_schema() -> None:
    """Create the warehouse schemas and raw tables if missing: dbt reads raw.* and pii.*."""
    from arrears.warehouse import connect
    from arrears.warehouse.schema import ensure_schema

    with connect(autocommit=True) as conn:
        ensure_schema(conn)


def _secure_built_relations() -> None:
    """Re-apply ownership, grants and the work queue's row security to what dbt just (re)created.

    dbt may run as another user and re-creates tables on a full refresh; a new table carries none
    of the old one's grants or policies (docs/decisions/005-least-privilege.md).
    """
    from arrears.warehouse import connect
    from arrears.warehouse.roles import apply_access_policies

    with connect(autocommit=True) as conn:
        apply_access_policies(conn)


def business_dates_to_rebuild(business_date: date) -> list[date]:
    """Every calendar day from the first delivered business date up to business_date (a full refresh).

    The snapshots are point in time, so a full refresh must replay each night in order; the
    first delivered date is the earliest `_business_date` in raw.loans (business_date alone if none).
    """
    from arrears.warehouse import connect

    with connect(autocommit=True) as conn:
        row = conn.execute("select min(_business_date) from raw.loans").fetchone()
    first = row[0] if row and row[0] is not None else business_date
    first = min(first, business_date)
    return [first + timedelta(days=offset) for offset in range((business_date - first).days + 1)]


def _node_statuses(business_date: date, dbt_result: Any) -> list[NodeStatus]:
    """dbt's per-node results as NodeStatus rows."""
    run_results = getattr(dbt_result, "result", None)
    statuses = []
    for node_result in getattr(run_results, "results", None) or []:
        node = node_result.node
        if str(node.resource_type) in _NOT_BUILT and str(node_result.status) not in _FAILED:
            continue
        statuses.append(
            NodeStatus(
                business_date=business_date,
                name=node.name,
                resource_type=str(node.resource_type),
                status=str(node_result.status),
                seconds=float(node_result.execution_time or 0.0),
                message=(str(node_result.message or "").strip().splitlines() or [""])[0],
            )
        )
    return statuses


def _build_one_date(
    business_date: date, full_refresh: bool, select: list[str] | None, unit_tests: bool, data_tests: bool = True
) -> list[NodeStatus]:
    """`dbt build` for one business date; returns its nodes' statuses."""
    experiments = experiment_arms_var(load_experiments())  # a mistake in a file stops here, in one line
    routing = routing_var(load_routing())
    # The same every night unless the files change, so dbt's partial parse holds (the date is not a var).
    args = ["build", "--vars", json.dumps({"experiment_arms": experiments, "recipient_routing": routing})]
    if full_refresh:
        args.append("--full-refresh")
    # Unit tests check the SQL, not the night's data: CI runs them, the nightly need not.
    excluded = ([] if unit_tests else ["unit_test"]) + ([] if data_tests else ["test"])
    if excluded:
        args += ["--exclude-resource-type", *excluded]
    if select:
        # cautious: only tests whose every parent is selected (a test joining an unbuilt model would error).
        args += ["--select", *select, "--indirect-selection", "cautious"]
    return _node_statuses(business_date, dbt_invoke(args, business_date=business_date))


def build(
    business_date: date,
    full_refresh: bool = False,
    select: list[str] | None = None,
    unit_tests: bool = False,
    data_tests: bool = True,
) -> BuildResult:
    """Build every dbt model (and run its tests) for business_date.

    Incremental models replace only business_date's rows. With full_refresh, every
    incremental model is rebuilt from scratch by replaying each night from the first
    delivered business date up to business_date, in order (snapshots are point in time,
    so history can only be rebuilt night by night). `select` narrows the build to dbt selectors;
    `unit_tests` also runs the dbt unit tests (CI does; the nightly skips them); `data_tests=False` skips the
    data tests (a test building nights it checks otherwise). Raises BuildFailed, naming the failed
    nodes on one line, when any model errors or test fails; the remaining nights are not built.
    """
    from arrears.spark.session import engine

    if engine() == "spark":
        return _build_on_spark(business_date, full_refresh, select, unit_tests, data_tests)
    from arrears.warehouse.locks import NIGHTLY_LOCK, exclusive

    started = time.perf_counter()
    _ensure_schema()
    # One build at a time per warehouse, sharing the nightly's and backfill's lock (re-entered when they
    # already hold it): two builds of one night would each create the same dbt relations.
    with exclusive(NIGHTLY_LOCK):
        dates = business_dates_to_rebuild(business_date) if full_refresh else [business_date]
        result = BuildResult(business_dates=dates, full_refresh=full_refresh)
        for position, night in enumerate(dates):
            result.nodes += _build_one_date(
                night,
                full_refresh=full_refresh and position == 0,
                select=select,
                unit_tests=unit_tests,
                data_tests=data_tests,
            )
            result.seconds = time.perf_counter() - started
            if result.failed_nodes:
                failed = ", ".join(f"{n.resource_type} {n.name} ({n.status})" for n in result.failed_nodes)
                raise BuildFailed(f"dbt build for {night.isoformat()} failed: {failed}", result)
        _secure_built_relations()
    result.seconds = time.perf_counter() - started
    return result


def _build_on_spark(
    business_date: date, full_refresh: bool, select: list[str] | None, unit_tests: bool, data_tests: bool
) -> BuildResult:
    """`build` on Spark (docs/decisions/029): the Spark schemas instead of PostgreSQL's, the nightly lock as a
    file lock of the home, and no grants or row security (a cluster's are Ranger's: docs/security.md).
    A full refresh replays the nights from the first delivered date, as on PostgreSQL."""
    from arrears.spark.session import spark_dir
    from arrears.warehouse.locks import NIGHTLY_LOCK, file_exclusive

    with file_exclusive(spark_dir(), NIGHTLY_LOCK):
        return _build_dates_on_spark(business_date, full_refresh, select, unit_tests, data_tests)


def _build_dates_on_spark(
    business_date: date, full_refresh: bool, select: list[str] | None, unit_tests: bool, data_tests: bool
) -> BuildResult:
    from arrears.spark.schema import init_spark_schema
    from arrears.spark.session import spark_session

    started = time.perf_counter()
    spark = spark_session()
    init_spark_schema(spark)
    dates = [business_date]
    if full_refresh:
        first = spark.sql("select min(_business_date) from raw.loans").collect()[0][0] or business_date
        first = min(first, business_date)
        dates = [first + timedelta(days=offset) for offset in range((business_date - first).days + 1)]
    result = BuildResult(business_dates=dates, full_refresh=full_refresh)
    for position, night in enumerate(dates):
        result.nodes += _build_one_date(
            night,
            full_refresh=full_refresh and position == 0,
            select=select,
            unit_tests=unit_tests,
            data_tests=data_tests,
        )
        result.seconds = time.perf_counter() - started
        if result.failed_nodes:
            failed = ", ".join(f"{n.resource_type} {n.name} ({n.status})" for n in result.failed_nodes)
            raise BuildFailed(f"dbt build for {night.isoformat()} failed: {failed}", result)
    return result
