"""The simulator's ground truth for the collection score: every delivered loan's borrower type."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from arrears.generate import generate
from arrears.generate.params import load_params


def test_every_delivered_loan_has_its_borrower_type_in_the_truth_folder(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(loans=2000, start=dt.date(2026, 3, 1), days=2, seed=3, out=landing)
    with (Path(str(landing) + "_truth") / "borrower_types.csv").open(encoding="utf-8") as handle:
        types = {row["loan_id"]: row["borrower_type"] for row in csv.DictReader(handle)}
    delivered = set()
    for day in ("2026-03-01", "2026-03-02"):
        with (landing / day / "loans.csv").open(encoding="utf-8") as handle:
            delivered |= {row["loan_id"] for row in csv.DictReader(handle)}
    assert delivered <= types.keys()
    shares = load_params()["borrower_types"]
    assert set(types.values()) <= shares.keys()
    # The reliable type is 70 % of loans in behaviour.yml: within binomial tolerance (4 sigma) of it.
    reliable = sum(kind == "reliable" for kind in types.values()) / len(types)
    expected = shares["reliable"]["share"]
    assert abs(reliable - expected) < 4 * (expected * (1 - expected) / len(types)) ** 0.5
