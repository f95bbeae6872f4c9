"""Ground truth for the collection score: every loan's simulated borrower type.

The type drives the repayment hazards (behaviour.yml borrower_types), so it is the best any score built from
the deliveries could know: the KS and AUC of the type itself are the ceiling a trained scorecard is compared to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from arrears.generate.rows import ids

TRUTH_FILE = "borrower_types.csv"


def write_borrower_types(truth: Path, portfolio: Any) -> None:
    """Write loan_id,borrower_type for every loan simulated so far (rewritten whole on each continuation)."""
    names = list(portfolio.params["borrower_types"])
    kinds = np.asarray(portfolio.loans["type"], np.int64)
    loan_ids = ids("L", np.arange(len(kinds)) + 1, 10)
    lines = [f"{loan},{names[kind]}\n" for loan, kind in zip(loan_ids, kinds.tolist(), strict=True)]
    with (truth / TRUTH_FILE).open("w", encoding="utf-8") as handle:
        handle.write("loan_id,borrower_type\n")
        handle.writelines(lines)
