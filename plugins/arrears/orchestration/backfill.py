"""`arrears backfill`: the nightly's steps for a range of dates, in date order, without a scheduler.

The same functions the DAG's tasks call, in the same order; each step replaces its date's
rows, so a backfill can be rerun over any range and converges to what the nightly runs give.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from arrears.errors import ArrearsError

# One night at a time per warehouse: `arrears nightly`, `arrears backfill` and the demo take it.
NIGHTLY_LOCK = "arrears.nightly"


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


def backfill(first: dt.date, last: dt.date, landing: Path | None = None) -> Iterator[str]:
    """Run every date of the range in order, yielding progress lines; stops at the first failure."""
    from arrears.warehouse.locks import exclusive

    with exclusive(NIGHTLY_LOCK):
        for business_date in dates_between(first, last):
            for line in run_day(business_date, landing):
                yield f"{business_date} {line}"
