"""The ground truth of settlements, plans and legal cases (generate/plans.py), beside the landing folder.

`arrangements.csv`: each arrangement's intended outcome and its date as of the last day written;
`legal_case_statuses.csv`: the day each legal case entered each status (`arrears.generate.run.truth_folder`).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from arrears.generate.plans import Record
from arrears.generate.rows import dates, money


def write_truth(truth: Path, arrangements: Sequence[Record], cases: Sequence[Record], last_day: int) -> None:
    """The intended outcome of every arrangement and the status dates of every legal case, as of `last_day`."""

    def date(day: int | None) -> str:
        return "" if day is None else dates(np.asarray([day]))[0]

    with (truth / "arrangements.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arrangement_id", "loan_id", "kind", "agreed_on", "settlement_amount", "settle_by",
                         "status", "status_on"])  # fmt: skip
        for record in arrangements:
            values: dict[str, Any] = record.values
            status, on = values.get("truth", ("performing", None))
            if on is not None and on > last_day:
                status, on = "performing", None  # decided after the last delivered day
            amount = values.get("settlement_amount")
            writer.writerow([
                f"AR{record.id:09d}", f"L{values['loan'] + 1:010d}", values["kind"], date(values["agreed_on"]),
                "" if amount is None else money(np.asarray([amount]))[0], date(values.get("settle_by")),
                status, date(on),
            ])  # fmt: skip
    with (truth / "legal_case_statuses.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "loan_id", "status", "entered_on"])
        for record in cases:
            values = record.values
            entered: dict[str, int] = {"referred": int(values["opened_on"])}
            for status, day in values.get("history", []):
                if day <= last_day:
                    entered.setdefault(status, int(day))
            for status, day in entered.items():
                writer.writerow([f"LC{record.id:09d}", f"L{values['loan'] + 1:010d}", status, date(day)])
