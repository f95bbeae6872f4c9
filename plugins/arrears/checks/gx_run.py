"""Run rendered suites with GX Core against the warehouse and build the Data Docs.

The GX project lives under $ARREARS_HOME/gx (generated on every run from expectations/, which is
the source of truth). Each suite's batch is a query asset on a PostgreSQL data source, so every
expectation is computed by PostgreSQL; nothing is pulled into pandas. The warehouse URL reaches
GX through an environment variable reference, so a password is never written to its YAML.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arrears.checks.suites import Suite
from arrears.settings import paths
from arrears.warehouse import warehouse_url

DATASOURCE = "warehouse"
URL_VARIABLE = "ARREARS_GX_WAREHOUSE_URL"
_OBSERVED_LIMIT = 500  # characters of observed value kept per result


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation's outcome, as stored in audit.dq_results."""

    suite: str
    expectation: str
    success: bool
    observed_value: str


@dataclass(frozen=True)
class GxRun:
    """What GX returned: every expectation result and the Data Docs address."""

    results: list[ExpectationResult]
    docs_url: str


def _observed(result: Any) -> str:
    """A short, readable observed value: the metric, or the failing rows, or the exception."""
    if result.exception_info and result.exception_info.get("raised_exception"):
        message = str(result.exception_info.get("exception_message") or "exception")
        return f"error: {message.strip().splitlines()[0]}"[:_OBSERVED_LIMIT]
    details = result.result or {}
    if "unexpected_count" in details and "observed_value" not in details:
        sample = details.get("partial_unexpected_list") or []
        text = f"{details['unexpected_count']} unexpected" + (f", e.g. {sample[:3]}" if sample else "")
    else:
        text = f"{details.get('observed_value')}"
        rows = (details.get("details") or {}).get("unexpected_rows")
        if rows:
            text += f" unexpected row(s), e.g. {json.dumps(rows[:2], default=str, ensure_ascii=False)}"
    return text[:_OBSERVED_LIMIT]


def gx_context() -> Any:
    """The file-backed GX project under $ARREARS_HOME/gx."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    gx_dir: Path = paths().gx_dir
    gx_dir.parent.mkdir(parents=True, exist_ok=True)
    # GX creates `<project_root_dir>/gx`, so the home is the root and $ARREARS_HOME/gx the project.
    context = gx.get_context(mode="file", project_root_dir=str(gx_dir.parent))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def run_with_gx(suites: list[Suite], run_name: str) -> GxRun:
    """Validate every suite (one GX validation each), rebuild the Data Docs, return every expectation result."""
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    os.environ[URL_VARIABLE] = warehouse_url()
    context = gx_context()
    datasource = context.data_sources.add_or_update_postgres(DATASOURCE, connection_string="${" + URL_VARIABLE + "}")
    definitions = []
    for suite in suites:
        if suite.name in datasource.get_asset_names():
            datasource.delete_asset(suite.name)
        batch = datasource.add_query_asset(suite.name, query=suite.batch_query).add_batch_definition_whole_table(
            "business_date"
        )
        gx_suite = ExpectationSuite(name=suite.name)
        for item in suite.expectations:
            # add_expectation (not add_expectation_configuration, which upserts by domain and would
            # collapse two SQL expectations on the same batch into one).
            configuration = ExpectationConfiguration(type=item.type, kwargs=item.kwargs, meta={"name": item.name})
            expectation = configuration.to_domain_obj()
            expectation.notes = item.notes or None
            gx_suite.add_expectation(expectation)
        gx_suite = context.suites.add_or_update(gx_suite)
        definitions.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
            )
        )
    results: list[ExpectationResult] = []
    run_id = RunIdentifier(run_name=run_name)
    for suite, definition in zip(suites, definitions, strict=True):
        # One validation per suite, so a suite whose batch cannot even be read (a missing mart)
        # fails alone, named, instead of aborting the whole run.
        try:
            # COMPLETE so a SQL expectation reports the offending rows, not only their count.
            validation = definition.run(run_id=run_id, result_format="COMPLETE")
        except Exception as err:  # noqa: BLE001 - any GX/SQL error is this suite's failure, reported
            first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
            results.append(
                ExpectationResult(suite.name, "batch_readable", False, f"error: {first_line}"[:_OBSERVED_LIMIT])
            )
            continue
        for result in validation.results:
            meta = result.expectation_config.meta or {}
            results.append(
                ExpectationResult(
                    suite=suite.name,
                    expectation=str(meta.get("name") or result.expectation_config.type),
                    success=bool(result.success),
                    observed_value=_observed(result),
                )
            )
    context.build_data_docs()
    sites = context.get_docs_sites_urls()
    return GxRun(results=results, docs_url=str(sites[0]["site_url"]) if sites else "")
