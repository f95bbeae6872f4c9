"""The business date of a run comes from its data interval, never from the wall clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from arrears.settings import source_timezone

# The nightly fires at 02:00 local time and works on the day that just ended.
RUN_HOUR_LOCAL = 2


def business_date_for_run(data_interval_end: dt.datetime) -> dt.date:
    """The previous local day of the run's scheduled time: a 02:00 run on the 22nd works on the 21st."""
    local = data_interval_end.astimezone(ZoneInfo(source_timezone()))
    return local.date() - dt.timedelta(days=1)


def run_time_for_business_date(business_date: dt.date) -> dt.datetime:
    """The scheduled run time (UTC-aware) whose business date is `business_date`: the inverse of the above."""
    local = dt.datetime.combine(
        business_date + dt.timedelta(days=1), dt.time(RUN_HOUR_LOCAL), tzinfo=ZoneInfo(source_timezone())
    )
    return local.astimezone(dt.UTC)
