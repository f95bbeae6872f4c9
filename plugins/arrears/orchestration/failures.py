"""What to retry. Transient faults (a restarted database, a dropped SFTP link) are retried;
bad data and failed quality gates are not: retrying cannot fix them and would delay the alert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from arrears.errors import ArrearsError

T = TypeVar("T")


def fail_fast_on_data_errors(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call `function`; turn an ArrearsError (bad input, failed gate) into a no-retry Airflow failure."""
    try:
        return function(*args, **kwargs)
    except ArrearsError as err:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"{type(err).__name__}: {err}") from err
