"""audit.dq_results: storing a run's expectation results, and reading them back for the export gate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from arrears.checks.gx_run import ExpectationResult
from arrears.checks.night_status import require_publishable
from arrears.errors import QualityGateFailed
from arrears.warehouse import connect


def store_results(run_id: str, business_date: dt.date, results: Iterable[ExpectationResult]) -> None:
    """Append one row per expectation result (a run is never overwritten: history is the audit)."""
    rows = [(run_id, business_date, r.suite, r.expectation, r.success, r.observed_value) for r in results]
    with connect() as conn, conn.cursor() as cursor:
        cursor.executemany(
            "insert into audit.dq_results (run_id, business_date, suite, expectation, success, observed_value)"
            " values (%s, %s, %s, %s, %s, %s)",
            rows,
        )


@dataclass(frozen=True)
class SuiteVerdict:
    """The latest verdict on one suite for one business date."""

    suite: str
    run_id: str | None
    failed_expectations: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Checked, and every expectation succeeded."""
        return self.run_id is not None and not self.failed_expectations


def latest_verdicts(business_date: dt.date, suites: Iterable[str]) -> dict[str, SuiteVerdict]:
    """For each suite, the result of the most recent run that checked it for the date (run_id None if never)."""
    wanted = sorted(set(suites))
    with connect() as conn:
        rows = conn.execute(
            """with latest as (
                   select distinct on (suite) suite, run_id
                   from audit.dq_results
                   where business_date = %s and suite = any(%s)
                   order by suite, checked_at desc, run_id desc
               )
               select l.suite, l.run_id, r.expectation, r.success, r.observed_value
               from latest as l
               join audit.dq_results as r on r.run_id = l.run_id and r.suite = l.suite and r.business_date = %s
               order by l.suite, r.expectation""",
            (business_date, wanted, business_date),
        ).fetchall()
    failed: dict[str, list[str]] = {}
    run_ids: dict[str, str] = {}
    for suite, run_id, expectation, success, observed in rows:
        run_ids[suite] = run_id
        if not success:
            failed.setdefault(suite, []).append(f"{suite}.{expectation} ({observed})")
    return {suite: SuiteVerdict(suite, run_ids.get(suite), tuple(failed.get(suite, []))) for suite in wanted}


def require_passed(business_date: dt.date, suites: Iterable[str], for_whom: str) -> str:
    """The gate: the id of the latest run that cleared every suite, or QualityGateFailed naming what failed.

    A date without a loaded delivery, or a retracted one, is refused before any verdict is read.
    """
    require_publishable(business_date, for_whom)
    verdicts = latest_verdicts(business_date, suites)
    unchecked = [suite for suite, verdict in verdicts.items() if verdict.run_id is None]
    failures = [failure for verdict in verdicts.values() for failure in verdict.failed_expectations]
    if unchecked:
        raise QualityGateFailed(
            f"{for_whom} {business_date} blocked: no check run for suite(s) {', '.join(unchecked)}"
            f" (run `arrears check --date {business_date}`)"
        )
    if failures:
        raise QualityGateFailed(f"{for_whom} {business_date} blocked by failed expectations: {'; '.join(failures)}")
    return max(verdict.run_id for verdict in verdicts.values() if verdict.run_id is not None)
