"""`arrears backfill`: the nightly's steps for a range of dates, in date order, without a scheduler.

The same functions the DAG's tasks call, in the same order; each step replaces its date's
rows, so a backfill can be rerun over any range and converges to what the nightly runs give.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from arrears.orchestration.chain import dates_between, run_day


def backfill(first: dt.date, last: dt.date, landing: Path | None = None) -> Iterator[str]:
    """Run every date of the range in order, yielding progress lines; stops at the first failure."""
    from arrears.warehouse.locks import NIGHTLY_LOCK, exclusive

    with exclusive(NIGHTLY_LOCK):
        for business_date in dates_between(first, last):
            for line in run_day(business_date, landing):
                yield f"{business_date} {line}"
