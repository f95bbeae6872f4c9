"""GX's `unexpected_rows_expectation`, computed with fewer passes over the batch.

GX Core's UnexpectedRowsExpectation depends on two metrics over the same query: its row count
(`select count(*) from (query)`) and its rows (the query again, fetched). Each runs the whole query on
the batch, so every check of the gate read tonight's rows twice. Two equivalent expectations (same
`unexpected_rows_query`, validator, renderers and result: the count as the observed value, up to 200
offending rows in the details) compute it more cheaply:

- `UnexpectedRowsOnceExpectation`: the count and the first rows from one statement (`count(*) over ()`).
- `UnexpectedRowsSharedPassExpectation`, for a row predicate on the batch (`select <columns> from
  {batch} where <condition>`, no subquery): every such check of a suite shares one metric, so GX runs one
  statement for all of them — one scan of tonight's rows flagging each row with the checks it fails —
  and each expectation takes its own rows from it.

The suites keep GX's own type name; arrears.checks.gx_run builds these classes for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from great_expectations.compatibility.sqlalchemy import sqlalchemy as sa
from great_expectations.constants import MAX_RESULT_RECORDS
from great_expectations.core.expectation_validation_result import ExpectationValidationResult
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import ExecutionEngine, SqlAlchemyExecutionEngine
from great_expectations.expectations.core.unexpected_rows_expectation import UnexpectedRowsExpectation
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.query_metric_provider import QueryMetricProvider

COUNTED_ROWS = "unexpected_rows_query.counted_rows"
SHARED_PASS = "unexpected_rows_query.shared_pass"
_TOTAL = "unexpected_rows_total_"  # the window count's column, dropped from the rows reported
_FLAG = "unexpected_rows_check_"  # the shared pass's column i: 1 when the row fails check i
_ROW_PREDICATE = re.compile(
    r"^\s*select\s+(?P<columns>\*|\w+(?:\s*,\s*\w+)*)\s+from\s+\{batch\}\s+where\s+(?P<where>.+?)\s*$",
    re.IGNORECASE | re.DOTALL,
)
# A condition with any of these is not a predicate on one row (a subquery, a join, a window, ...);
# `is [not] distinct from` is a comparison.
_NOT_ONE_ROW = re.compile(r"\b(select|from|join|group|order|limit|union|having|over)\b|[{};]|--", re.IGNORECASE)
_DISTINCT_FROM = re.compile(r"\bdistinct\s+from\b", re.IGNORECASE)


@dataclass(frozen=True)
class RowPredicate:
    """`select <columns> from {batch} where <where>`: columns None is `*`."""

    columns: tuple[str, ...] | None
    where: str


def row_predicate(query: str) -> RowPredicate | None:
    """The query as a predicate on one batch row, or None when it is anything else."""
    match = _ROW_PREDICATE.match(query)
    if match is None or _NOT_ONE_ROW.search(_DISTINCT_FROM.sub(" ", match["where"])):
        return None
    columns = match["columns"].strip()
    names = None if columns == "*" else tuple(name.strip().lower() for name in columns.split(","))
    return RowPredicate(columns=names, where=match["where"])


def stripped(query: str) -> str:
    """The query as UnexpectedRowsExpectation keeps it (its validator strips the end)."""
    return query.rstrip("; \t\r\n\v\f")


class UnexpectedRowsQueryCountedRows(QueryMetricProvider):
    """The query's row count and its first rows, from one execution: {"count": n, "rows": [...]}."""

    metric_name = COUNTED_ROWS
    value_keys = ("unexpected_rows_query",)
    query_param_name: ClassVar[str] = "unexpected_rows_query"

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(
        cls,
        execution_engine: SqlAlchemyExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict[str, Any],
        runtime_configuration: dict,
    ) -> dict[str, Any]:
        batch_selectable, _, _ = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
        )
        query = cls._get_substituted_batch_subquery_from_query_and_batch_selectable(
            query=cls._get_query_from_metric_value_kwargs(metric_value_kwargs),
            batch_selectable=batch_selectable,
            execution_engine=execution_engine,
        )
        counted = (
            f"select unexpected.*, count(*) over () as {_TOTAL} from ({query}) as unexpected limit {MAX_RESULT_RECORDS}"
        )
        rows = [row._asdict() for row in execution_engine.execute_query(sa.text(counted)).fetchall()]
        count = int(rows[0][_TOTAL]) if rows else 0
        for row in rows:
            row.pop(_TOTAL, None)
        return {"count": count, "rows": rows}


class UnexpectedRowsOnceExpectation(UnexpectedRowsExpectation):
    """UnexpectedRowsExpectation computed from one execution of its query (see the module docstring)."""

    metric_dependencies: ClassVar[tuple[str, ...]] = (COUNTED_ROWS,)

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: ExecutionEngine | None = None,
    ) -> ExpectationValidationResult | dict:
        counted = metrics[COUNTED_ROWS]
        return super()._validate(
            {"unexpected_rows_query.table": counted["rows"], "unexpected_rows_query.row_count": counted["count"]},
            runtime_configuration,
            execution_engine,
        )


class UnexpectedRowsQuerySharedPass(QueryMetricProvider):
    """Several row predicates in one scan of the batch: {query: {"count": n, "rows": [...]}} per query."""

    metric_name = SHARED_PASS
    value_keys = ("shared_pass_queries",)

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(
        cls,
        execution_engine: SqlAlchemyExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict[str, Any],
        runtime_configuration: dict,
    ) -> dict[str, dict[str, Any]]:
        queries = list(metric_value_kwargs["shared_pass_queries"])
        predicates = [row_predicate(query) for query in queries]
        if any(predicate is None for predicate in predicates):
            raise ValueError("shared_pass_queries: every query must be a row predicate on {batch}")
        checks = [predicate for predicate in predicates if predicate is not None]
        flags = ", ".join(
            f"case when ({check.where}) then 1 else 0 end as {_FLAG}{number}" for number, check in enumerate(checks)
        )
        failing_any = " or ".join(f"({check.where})" for check in checks)
        batch_selectable, _, _ = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
        )
        query = cls._get_substituted_batch_subquery_from_query_and_batch_selectable(
            query=f"select *, {flags} from {{batch}} where {failing_any}",
            batch_selectable=batch_selectable,
            execution_engine=execution_engine,
        )
        found: dict[str, dict[str, Any]] = {query: {"count": 0, "rows": []} for query in queries}
        for row in execution_engine.execute_query(sa.text(query)):
            values = row._asdict()
            for i, (check_query, check) in enumerate(zip(queries, checks, strict=True)):
                if not values[f"{_FLAG}{i}"]:
                    continue
                result = found[check_query]
                result["count"] += 1
                if len(result["rows"]) < MAX_RESULT_RECORDS:
                    result["rows"].append(_project(values, check.columns))
        return found


def _project(values: dict[str, Any], columns: tuple[str, ...] | None) -> dict[str, Any]:
    """A check's own columns of a flagged row (every batch column for `*`)."""
    if columns is None:
        return {name: value for name, value in values.items() if not name.startswith(_FLAG)}
    return {name: values[name] for name in columns}


class UnexpectedRowsSharedPassExpectation(UnexpectedRowsExpectation):
    """UnexpectedRowsExpectation of a row predicate, computed in the suite's shared pass (module docstring).

    `shared_pass_queries` lists every query of the pass (the same list for each of them, so GX resolves
    the metric once per validation); this expectation's own is `unexpected_rows_query`, one of them.
    """

    shared_pass_queries: list[str]

    metric_dependencies: ClassVar[tuple[str, ...]] = (SHARED_PASS,)
    success_keys: ClassVar[tuple[str, ...]] = ("unexpected_rows_query", "shared_pass_queries")

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: ExecutionEngine | None = None,
    ) -> ExpectationValidationResult | dict:
        own = metrics[SHARED_PASS][self.unexpected_rows_query]
        return super()._validate(
            {"unexpected_rows_query.table": own["rows"], "unexpected_rows_query.row_count": own["count"]},
            runtime_configuration,
            execution_engine,
        )
