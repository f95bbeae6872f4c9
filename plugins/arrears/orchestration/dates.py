"""The business date of a run comes from its data interval, never from the wall clock."""

from __future__ import annotations

import datetime as dt
from typing import Any
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


def business_dates_from_context(context: Any) -> list[dt.date]:
    """The business dates a DAG run must process, in date order.

    A run started with conf `{"business_date": "YYYY-MM-DD"}` (a manual rerun, `arrears nightly`) does that
    date; an asset-triggered run does every date its triggering events carry (several nights may have
    queued up while it waited); a scheduled run does the previous local day of its data interval.
    """
    dag_run = context.get("dag_run")
    conf = getattr(dag_run, "conf", None) or {}
    if conf.get("business_date"):
        return [dt.date.fromisoformat(str(conf["business_date"]))]
    events = context.get("triggering_asset_events") or {}
    dates = {
        dt.date.fromisoformat(str(day))
        for asset_events in events.values()
        for event in asset_events
        for day in (event.extra or {}).get("business_dates", [])
    }
    if dates:
        return sorted(dates)
    interval_end = context.get("data_interval_end")
    if interval_end is None:
        raise ValueError("no business date: pass conf {'business_date': 'YYYY-MM-DD'} to this run")
    return [business_date_for_run(interval_end)]
