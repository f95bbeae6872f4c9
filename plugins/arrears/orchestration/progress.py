"""A short progress view on the terminal while the libraries' own output (dbt, Airflow, GX) goes to a log file.

The redirection is at the file-descriptor level, so it also catches output of loggers that captured
sys.stdout/sys.stderr at import and of child processes. Progress lines go to a duplicate of the
terminal's descriptor taken before the redirection.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

BAR_WIDTH = 20


def bar(done: int, total: int) -> str:
    """`[########            ] 2/5`: the share of a long stage that is done."""
    filled = BAR_WIDTH * done // max(total, 1)
    return f"[{'#' * filled}{' ' * (BAR_WIDTH - filled)}] {done}/{total}"


class Progress:
    """Writes progress lines to the terminal; `step` times one unit of work and reports it on one line."""

    def __init__(self, terminal: TextIO) -> None:
        self.terminal = terminal
        self.live = terminal.isatty()

    def line(self, text: str) -> None:
        self.terminal.write(text + "\n")
        self.terminal.flush()

    @contextmanager
    def step(self, label: str) -> Iterator[list[str]]:
        """Show `label` while the work runs (on a terminal), then `label  <outcome>  <seconds>` for good.

        The caller appends the outcome to the yielded list; on an exception the line says `failed`.
        """
        if self.live:
            self.terminal.write(f"{label}  ...\r")
            self.terminal.flush()
        outcome: list[str] = []
        started = time.monotonic()
        try:
            yield outcome
        except BaseException:
            self.line(f"{label}  failed after {time.monotonic() - started:.1f} s")
            raise
        self.line("  ".join([label, *outcome, f"{time.monotonic() - started:.1f} s"]))


@contextmanager
def output_to_log(log_file: Path) -> Iterator[Progress]:
    """Send stdout and stderr (Python's and every child's) to `log_file`; yield a Progress on the real terminal."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(1), "w", encoding="utf-8")
    with open(log_file, "a", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield Progress(terminal)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()
