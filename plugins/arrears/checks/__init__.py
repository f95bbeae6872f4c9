"""The data-quality gate: `arrears check --date D` runs the expectations/ suites with GX on PostgreSQL.

Results go to audit.dq_results and the GX Data Docs under $ARREARS_HOME/gx; exports read the
latest verdict of the suites they depend on (arrears.checks.results.require_passed). A date with no
loaded delivery is refused without running GX: every suite is stored as failed on `delivery_loaded`
and the night is marked missing (arrears.checks.night_status).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from arrears.checks.gx_run import ExpectationResult, run_with_gx
from arrears.checks.night_status import clear_retraction, mark_missing, refusal_message, undelivered_reason
from arrears.checks.results import require_passed, store_results
from arrears.checks.suites import SuiteConfigError, load_suites, render_suite, template_values

__all__ = ["CheckOutcome", "require_passed", "run_checks", "run_suites", "suite_names"]


@dataclass(frozen=True)
class CheckOutcome:
    """One check run: every expectation result, and where its Data Docs are."""

    run_id: str
    business_date: dt.date
    results: list[ExpectationResult]
    docs_url: str
    suites: list[str] = field(default_factory=list)
    refused: str | None = None  # why the gate refused to run (no loaded delivery), one line
    suite_seconds: dict[str, float] = field(default_factory=dict)  # each suite's validation, wall clock
    step_seconds: dict[str, float] = field(default_factory=dict)  # GX setup, validation, Data Docs

    @property
    def failed_suites(self) -> list[str]:
        """Suites with at least one failed expectation, sorted."""
        return sorted({result.suite for result in self.results if not result.success})

    @property
    def success(self) -> bool:
        """Every expectation of every suite passed."""
        return not self.failed_suites

    def summary(self) -> str:
        """Pass/fail per suite, the failed expectations by name with what was observed, and the Data Docs link."""
        if self.refused is not None:
            return f"check {self.business_date} refused: {self.refused}"
        failed = set(self.failed_suites)
        passed = [suite for suite in self.suites if suite not in failed]
        lines = [
            f"check {self.business_date} run {self.run_id}: {len(passed)}/{len(self.suites)} suites passed"
            + (f", FAILED: {', '.join(sorted(failed))}" if failed else "")
        ]
        lines += [
            f"  failed {result.suite}.{result.expectation}: {result.observed_value}"
            for result in self.results
            if not result.success
        ]
        lines.append(f"  data docs: {self.docs_url}")
        return "\n".join(lines)


def suite_names() -> list[str]:
    """Every suite under expectations/."""
    return list(load_suites())


def _new_run_id(business_date: dt.date) -> str:
    # Sortable by time within a date, so the gate can take the latest run.
    return f"dq-{business_date.isoformat()}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}"


def run_suites(business_date: dt.date, suites: Iterable[str]) -> CheckOutcome:
    """Run the named suites for one business date, store every result, rebuild the Data Docs."""
    available = load_suites()
    wanted = list(dict.fromkeys(suites))
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise SuiteConfigError(f"unknown suite(s) {', '.join(unknown)} (expectations/ has {', '.join(available)})")
    run_id = _new_run_id(business_date)
    undelivered = undelivered_reason(business_date)
    if undelivered is not None:
        return _refuse(run_id, business_date, wanted, undelivered)
    values = template_values(business_date)
    rendered = [render_suite(available[name], values) for name in wanted]
    gx_run = run_with_gx(rendered, run_name=run_id)
    store_results(run_id, business_date, gx_run.results)
    return CheckOutcome(
        run_id,
        business_date,
        gx_run.results,
        gx_run.docs_url,
        suites=wanted,
        suite_seconds=gx_run.suite_seconds,
        step_seconds=gx_run.step_seconds,
    )


def _refuse(run_id: str, business_date: dt.date, suites: list[str], reason: str) -> CheckOutcome:
    """A night without a loaded delivery: every suite fails `delivery_loaded` (so the exports' gate
    blocks on it like on any failed run) and the night is marked missing."""
    message = refusal_message(business_date, reason)
    results = [ExpectationResult(suite, "delivery_loaded", False, reason) for suite in suites]
    store_results(run_id, business_date, results)
    mark_missing(business_date, reason)
    return CheckOutcome(run_id, business_date, results, "", suites=suites, refused=message)


def run_checks(business_date: dt.date) -> CheckOutcome:
    """Run every suite for one business date (`arrears check --date D`); a full pass clears a retraction."""
    outcome = run_suites(business_date, suite_names())
    if outcome.success:
        clear_retraction(business_date)
    return outcome
