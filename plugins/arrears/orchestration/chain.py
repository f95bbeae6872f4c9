"""One night of the chain, as `arrears backfill` and the demo run it without a scheduler.

The same functions the DAGs' tasks call, in the same order: ingest, build, check, export, report. Each
step replaces its date's rows, so a night can be rerun and converges to what the nightly DAGs give.
The nightly's DAG ids are `settings.NIGHTLY_DAG_CHAIN`; the lock every night takes is `warehouse.locks.NIGHTLY_LOCK`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from arrears.errors import ArrearsError


def dates_between(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    """Every date from first to last inclusive."""
    if last < first:
        raise ArrearsError(f"--to {last} is before --from {first}")
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def run_day(business_date: dt.date, landing: Path | None = None) -> list[str]:
    """Ingest, build, check and export one business date; returns one summary line per step."""
    from arrears.checks import run_checks
    from arrears.export import export_all
    from arrears.ingest import ingest_delivery
    from arrears.report import write_report
    from arrears.transform import build

    lines = [ingest_delivery(business_date, landing).summary().splitlines()[0]]
    lines.append(build(business_date).summary().splitlines()[0])
    outcome = run_checks(business_date)
    lines.append(outcome.summary().splitlines()[0])
    lines += [written.summary() for written in export_all(business_date)]
    lines.append(f"report {write_report(business_date)}")
    return lines
