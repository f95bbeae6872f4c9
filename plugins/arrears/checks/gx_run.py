"""Run rendered suites with GX Core against the warehouse and build the Data Docs.

The suites are built in memory on every run from expectations/ (the source of truth); the validation
results and the Data Docs are kept under $ARREARS_HOME/gx. Each suite's batch is a query asset on a
PostgreSQL data source, so every expectation is computed by PostgreSQL; nothing is pulled into pandas.
The warehouse URL reaches GX through an environment variable reference, so a password is never written to its YAML.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arrears.checks.suites import ExpectationSpec, Suite
from arrears.settings import paths
from arrears.warehouse import warehouse_url

DATASOURCE = "warehouse"
URL_VARIABLE = "ARREARS_GX_WAREHOUSE_URL"
_OBSERVED_LIMIT = 500  # characters of observed value kept per result
RESULTS_DIR = "uncommitted/validations"  # under $ARREARS_HOME/gx, as a file-backed GX project keeps them
DOCS_DIR = "uncommitted/data_docs/local_site"
BATCH = "business_date"  # the one batch definition of each suite's query asset
INDEX_LIMIT = 500  # validation results the Data Docs index links to: over a month of nightly runs
SUITE_WORKERS = 2  # suites validated at once: one per core of the build machine
SQL_EXPECTATION = "unexpected_rows_expectation"


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
    suite_seconds: dict[str, float] = field(default_factory=dict)  # wall-clock seconds of each suite's validation
    step_seconds: dict[str, float] = field(default_factory=dict)  # setup, validate, data_docs


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
    """A GX context whose definitions live in memory and whose results and Data Docs are files under
    $ARREARS_HOME/gx.

    The suites, the data source and the validation definitions are rebuilt from expectations/ on every
    run anyway; a file-backed project would rewrite and re-read its YAML for every asset and
    expectation registered (much of a run's time), so only what must outlive the run —
    the validation results and the Data Docs built from them — is kept on disk.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    import arrears.checks.gx_expectations  # noqa: F401 - registers the expectations _configurations builds

    gx_dir: Path = paths().gx_dir
    (gx_dir / "uncommitted").mkdir(parents=True, exist_ok=True)
    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False))
    config.stores["validation_results_store"] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(gx_dir / RESULTS_DIR)},
    }
    config.data_docs_sites = {
        "local_site": {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(gx_dir / DOCS_DIR)},
            # The index lists the latest results only; listing every result ever grows with the nights.
            # (from each result's JSON summary: arrears.checks.gx_docs).
            "site_index_builder": {
                "class_name": "ResultSummaryIndexBuilder",
                "module_name": "arrears.checks.gx_docs",
                "validation_results_limit": INDEX_LIMIT,
            },
        }
    }
    config.progress_bars = ProgressBarsConfig(globally=False)
    return gx.get_context(mode="ephemeral", project_config=config)


def _validate(suite: Suite, definition: Any, run_id: Any) -> tuple[list[ExpectationResult], float]:
    """One suite's validation and its seconds. A suite whose batch cannot even be read (a missing mart)
    fails alone, named, instead of aborting the whole run."""
    started = time.perf_counter()
    return _validation_results(suite, definition, run_id), time.perf_counter() - started


def _validation_results(suite: Suite, definition: Any, run_id: Any) -> list[ExpectationResult]:
    try:
        # COMPLETE so a SQL expectation reports the offending rows, not only their count.
        validation = definition.run(run_id=run_id, result_format="COMPLETE")
    except Exception as err:  # noqa: BLE001 - any GX/SQL error is this suite's failure, reported
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return [ExpectationResult(suite.name, "batch_readable", False, f"error: {first_line}"[:_OBSERVED_LIMIT])]
    return [
        ExpectationResult(
            suite=suite.name,
            expectation=str((result.expectation_config.meta or {}).get("name") or result.expectation_config.type),
            success=bool(result.success),
            observed_value=_observed(result),
        )
        for result in validation.results
    ]


def _configurations(suite: Suite) -> list[Any]:
    """Each expectation's GX configuration; an `unexpected_rows_expectation` is built as its cheaper
    equivalent (arrears.checks.gx_expectations): the suite's row predicates share one pass over the
    batch, every other SQL check runs its query once."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    from arrears.checks.gx_expectations import row_predicate, stripped

    def query(item: ExpectationSpec) -> str:
        return stripped(str(item.kwargs.get("unexpected_rows_query", "")))

    shared = [query(item) for item in suite.expectations if item.type == SQL_EXPECTATION and row_predicate(query(item))]
    configurations = []
    for item in suite.expectations:
        kind, kwargs = item.type, dict(item.kwargs)
        if kind == SQL_EXPECTATION and len(shared) > 1 and query(item) in shared:
            kind, kwargs["shared_pass_queries"] = "unexpected_rows_shared_pass_expectation", shared
        elif kind == SQL_EXPECTATION:
            kind = "unexpected_rows_once_expectation"
        configurations.append(ExpectationConfiguration(type=kind, kwargs=kwargs, meta={"name": item.name}))
    return configurations


def run_with_gx(suites: list[Suite], run_name: str) -> GxRun:
    """Validate every suite (one GX validation each), rebuild the Data Docs, return every expectation result."""
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.core.run_identifier import RunIdentifier

    clock = [time.perf_counter()]
    os.environ[URL_VARIABLE] = warehouse_url()
    context = gx_context()
    # Every query asset in one data source update (each separate one re-serialises the whole config).
    datasource = context.data_sources.add_or_update_postgres(
        DATASOURCE,
        connection_string="${" + URL_VARIABLE + "}",
        assets=[
            {"type": "query", "name": suite.name, "query": suite.batch_query, "batch_definitions": [{"name": BATCH}]}
            for suite in suites
        ],
    )
    definitions = []
    for suite in suites:
        batch = datasource.get_asset(suite.name).get_batch_definition(BATCH)
        expectations = []
        for configuration, item in zip(_configurations(suite), suite.expectations, strict=True):
            expectation = configuration.to_domain_obj()
            expectation.notes = item.notes or None
            expectations.append(expectation)
        # All expectations at once (add_expectation_configuration would upsert by domain and
        # collapse two SQL expectations on the same batch into one).
        gx_suite = ExpectationSuite(name=suite.name, expectations=expectations)
        gx_suite = context.suites.add_or_update(gx_suite)
        definitions.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
            )
        )
    run_id = RunIdentifier(run_name=run_name)
    clock.append(time.perf_counter())
    # Each suite's queries run on their own server backend, so suites validate concurrently. The
    # suites with the most expectations start first (the snapshot's and the queue's: most of the
    # SQL), so the longest one does not start last behind the small ones; results keep the suites' order.
    longest_first = sorted(range(len(suites)), key=lambda index: -len(suites[index].expectations))
    with ThreadPoolExecutor(max_workers=max(1, min(SUITE_WORKERS, len(suites)))) as pool:
        started = {index: pool.submit(_validate, suites[index], definitions[index], run_id) for index in longest_first}
        outcomes = [started[index].result() for index in range(len(suites))]
    results = [result for outcome, _ in outcomes for result in outcome]
    clock.append(time.perf_counter())
    # Only this run's pages: rebuilding every stored result would grow with the nights checked.
    this_run = [key for key in context.validation_results_store.list_keys() if key.run_id.run_name == run_name]
    context.build_data_docs(resource_identifiers=this_run)
    sites = context.get_docs_sites_urls()
    clock.append(time.perf_counter())
    return GxRun(
        results=results,
        docs_url=str(sites[0]["site_url"]) if sites else "",
        suite_seconds={suite.name: seconds for suite, (_, seconds) in zip(suites, outcomes, strict=True)},
        step_seconds=dict(zip(("setup", "validate", "data_docs"), map(float.__sub__, clock[1:], clock), strict=True)),
    )
