"""Portfolio simulator: synthetic landing deliveries for demos, tests and benchmarks (see docs/simulator.md)."""

from __future__ import annotations

from arrears.generate.identity import national_id_is_valid
from arrears.generate.run import Summary, generate

__all__ = ["Summary", "generate", "national_id_is_valid"]
