"""Helpers of the export tests: a passed gate recorded by hand, reading a CSV as its reader would, recipients."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import psycopg
import pytest
import yaml

D = dt.date(2024, 3, 5)  # the business date of the stand-in marts' exports


def clear_gate(conn: psycopg.Connection, day: dt.date = D, failing: dict[str, str] | None = None) -> None:
    """Record a check run in which every suite passed (except `failing`: suite -> expectation)."""
    from arrears.checks import suite_names

    for suite in suite_names():
        failed = (failing or {}).get(suite)
        conn.execute(
            "insert into audit.dq_results (run_id, business_date, suite, expectation, success)"
            " values (%s, %s, %s, %s, %s)",
            (f"dq-{day}-test", day, suite, failed or "all", failed is None),
        )


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))


def use_recipients(config: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    """Point ARREARS_RECIPIENTS_FILE at a recipients.yml written from `config`."""
    path = tmp_path / "recipients.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("ARREARS_RECIPIENTS_FILE", str(path))
