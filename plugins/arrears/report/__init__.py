"""The nightly run report: one self-contained HTML page (inline SVG charts) plus report.json per business date.

`write_report(D)` writes `$ARREARS_HOME/reports/<D>/index.html` and `report.json`; see docs/run-report.md.
"""

from arrears.report.writer import write_report

__all__ = ["write_report"]
