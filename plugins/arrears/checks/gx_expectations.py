"""GX's `unexpected_rows_expectation`, with its SQL run once instead of twice.

GX Core's UnexpectedRowsExpectation depends on two metrics over the same query: its row count
(`select count(*) from (query)`) and its rows (the query again, fetched). Each runs the whole query on
the batch, so every check of the gate read tonight's rows twice. `UnexpectedRowsOnceExpectation` is the
same expectation (same kwargs, validator, renderers and result: the count as the observed value, up to
200 offending rows in the details) computed from one metric that returns the count and the first rows
in one statement (`count(*) over ()`). The suites keep GX's own type name; arrears.checks.gx_run builds
this class for it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.compatibility.sqlalchemy import sqlalchemy as sa
from great_expectations.constants import MAX_RESULT_RECORDS
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import ExecutionEngine, SqlAlchemyExecutionEngine
from great_expectations.expectations.core.unexpected_rows_expectation import UnexpectedRowsExpectation
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.query_metric_provider import QueryMetricProvider

COUNTED_ROWS = "unexpected_rows_query.counted_rows"
_TOTAL = "unexpected_rows_total_"  # the window count's column, dropped from the rows reported


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
    ) -> dict[str, Any]:
        counted = metrics[COUNTED_ROWS]
        return super()._validate(
            {"unexpected_rows_query.table": counted["rows"], "unexpected_rows_query.row_count": counted["count"]},
            runtime_configuration,
            execution_engine,
        )
