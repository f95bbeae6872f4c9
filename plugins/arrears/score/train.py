"""`arrears score train --through D`: fit a scorecard on the platform's own history and store a new version.

Time-based split: the latest matured dates are the holdout. The version is written to the warehouse
(audit.scorecard_versions / _bins / _reference) and as files an analyst reviews under
$ARREARS_HOME/scorecards/<version>/. It is only proposed: `arrears score activate` puts it to work.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arrears.errors import ArrearsError
from arrears.score.features import feature_names, training_rows
from arrears.score.metrics import calibration, ks_auc, reference_bands
from arrears.score.model import FACTOR, Scorecard, fit
from arrears.score.review import write_review
from arrears.settings import paths

HOLDOUT_SHARE = 0.25  # the latest quarter of the matured dates
MIN_EVENTS = 20


@dataclass
class Trained:
    version: str
    folder: Path
    rows_train: int
    rows_holdout: int
    ks: float
    auc: float
    gini: float
    seconds: float

    def summary(self) -> str:
        return (
            f"scorecard {self.version}: holdout KS {self.ks:.3f}, AUC {self.auc:.3f}, Gini {self.gini:.3f} "
            f"({self.rows_train} training rows, {self.rows_holdout} holdout rows, {self.seconds:.1f} s); "
            f"review {self.folder}; activate with `arrears score activate {self.version}`"
        )


def train(through: dt.date, every_days: int = 7, loan_share: float = 1.0) -> Trained:
    from arrears.warehouse import connect

    started = time.monotonic()
    numeric, categorical = feature_names()
    with connect() as conn:
        frame = training_rows(conn, through, every_days, loan_share)
        train_rows, holdout = _time_split(frame, through)
        card = fit(train_rows, numeric, categorical)
        holdout_logit = card.logit(holdout)
        probability = 1 / (1 + np.exp(-holdout_logit))
        labels = holdout["label"].to_numpy()
        ks, auc = ks_auc(labels, holdout_logit)
        version = _next_version(conn, through)
        train_points = np.rint(card.base_points + FACTOR * (card.logit(train_rows) - card.intercept)).astype(int)
        report = {
            "version": version,
            "trained_through": through.isoformat(),
            "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "train_dates": [str(min(train_rows.business_date)), str(max(train_rows.business_date))],
            "holdout_dates": [str(min(holdout.business_date)), str(max(holdout.business_date))],
            "rows_train": len(train_rows),
            "rows_holdout": len(holdout),
            "event_rate_train": float(train_rows["label"].mean()),
            "event_rate_holdout": float(labels.mean()),
            "holdout_ks": ks,
            "holdout_auc": auc,
            "holdout_gini": 2 * auc - 1,
            "intercept": card.intercept,
            "base_points": card.base_points,
            "calibration": calibration(labels, probability),
            "reference_bands": reference_bands(train_points),
            "bins": [asdict(b) for b in card.bins],
        }
        _store(conn, report, card)
    folder = paths().home / "scorecards" / version
    write_review(folder, report)
    return Trained(version, folder, len(train_rows), len(holdout), ks, auc, 2 * auc - 1, time.monotonic() - started)


def _time_split(frame: pd.DataFrame, through: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    dates = sorted(frame["business_date"].unique())
    if len(dates) < 2:
        raise ArrearsError(
            f"too little matured history to train through {through}: need features on at least two dates "
            "30 days or more before it (build more nights, or train through a later date)"
        )
    cut = dates[max(1, int(len(dates) * (1 - HOLDOUT_SHARE)))]
    train_rows, holdout = frame[frame.business_date < cut], frame[frame.business_date >= cut]
    for part, name in ((train_rows, "training"), (holdout, "holdout")):
        if int(part["label"].sum()) < MIN_EVENTS:
            raise ArrearsError(f"the {name} dates hold fewer than {MIN_EVENTS} events: too small a book to train on")
    return train_rows, holdout


def _next_version(conn: Any, through: dt.date) -> str:
    prefix = f"{through.isoformat()}."
    row = conn.execute(
        "select count(*) from audit.scorecard_versions where version like %s", (prefix + "%",)
    ).fetchone()
    return f"{prefix}{int(row[0]) + 1}"


def _store(conn: Any, report: dict[str, Any], card: Scorecard) -> None:
    with conn.transaction():
        conn.execute(
            """insert into audit.scorecard_versions (version, trained_through, trained_at, rows_train,
                   rows_holdout, holdout_ks, holdout_auc, holdout_gini, intercept, base_points, report)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            (report["version"], report["trained_through"], report["trained_at"], report["rows_train"],
             report["rows_holdout"], report["holdout_ks"], report["holdout_auc"], report["holdout_gini"],
             card.intercept, card.base_points, json.dumps(report)),
        )  # fmt: skip
        with conn.cursor() as cur:
            rows = []
            for b in card.bins:
                categories: list[str | None] = list(b.categories) if b.categories else [None]
                for category in categories:
                    rows.append((report["version"], b.feature, b.bin_no, b.lower_bound, b.upper_bound, category,
                                 b.is_missing, b.woe, b.logit, b.points))  # fmt: skip
            cur.executemany(
                """insert into audit.scorecard_bins (version, feature, bin_no, lower_bound, upper_bound, category,
                       is_missing, woe, logit, points) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                rows,
            )
            cur.executemany(
                """insert into audit.scorecard_reference (version, band_no, lower_points, upper_points, expected_share)
                   values (%s, %s, %s, %s, %s)""",
                [(report["version"], b["band_no"], b["lower_points"], b["upper_points"], b["expected_share"])
                 for b in report["reference_bands"]],
            )  # fmt: skip
