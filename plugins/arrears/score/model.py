"""Fit a scorecard: monotonic WoE bins (optbinning) and a logistic regression on the WoE (scikit-learn)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# Points: PDO points double the odds of the event; BASE_POINTS at even odds. Higher points = riskier.
PDO = 20
BASE_POINTS = 500
FACTOR = PDO / math.log(2)
LOGIT_DECIMALS = 8  # the bins' log-odds shares are stored (and summed in SQL) at this precision


@dataclass
class Bin:
    feature: str
    bin_no: int
    lower_bound: float | None
    upper_bound: float | None
    categories: list[str] | None
    is_missing: bool
    woe: float
    logit: float
    points: int
    count: int
    event_rate: float


@dataclass
class Scorecard:
    intercept: float
    base_points: int
    bins: list[Bin] = field(default_factory=list)

    def logit(self, frame: pd.DataFrame) -> np.ndarray:
        """The log-odds of each row, bin by bin, exactly as the warehouse computes it."""
        total = np.full(len(frame), self.intercept)
        for feature in sorted({b.feature for b in self.bins}):
            total = total + _bin_logits(frame[feature], [b for b in self.bins if b.feature == feature])
        return total


def _bin_logits(values: pd.Series, bins: list[Bin]) -> np.ndarray:
    out = np.zeros(len(values))
    if bins and bins[0].categories is not None or any(b.categories for b in bins):
        text = values.astype(str).to_numpy()
        for b in bins:
            if b.categories:
                out[np.isin(text, b.categories)] = b.logit
        return out
    numeric = values.to_numpy(dtype=float)
    missing = np.isnan(numeric)
    for b in bins:
        if b.is_missing:
            out[missing] = b.logit
            continue
        lower = -np.inf if b.lower_bound is None else b.lower_bound
        upper = np.inf if b.upper_bound is None else b.upper_bound
        out[~missing & (numeric >= lower) & (numeric < upper)] = b.logit
    return out


def fit(train: pd.DataFrame, numeric: list[str], categorical: list[str]) -> Scorecard:
    """Monotonic optimal binning per feature, then an L2 logistic regression on the WoE values."""
    from optbinning import BinningProcess
    from sklearn.linear_model import LogisticRegression

    names = numeric + categorical
    binning = BinningProcess(
        names,
        categorical_variables=categorical,
        max_n_prebins=20,
        min_prebin_size=0.02,
        binning_fit_params={name: {"monotonic_trend": "auto_asc_desc"} for name in numeric},
        selection_criteria=None,
    )
    x = train[names]
    y = train["label"].to_numpy()
    binning.fit(x, y)
    woe = binning.transform(x, metric="woe")
    regression = LogisticRegression(C=1.0, max_iter=1000)
    regression.fit(woe.to_numpy(), y)
    coefficients = dict(zip(names, regression.coef_[0], strict=True))
    intercept = round(float(regression.intercept_[0]), LOGIT_DECIMALS)
    card = Scorecard(intercept=intercept, base_points=round(BASE_POINTS + FACTOR * intercept))
    for name in names:
        card.bins += _bins_of(name, binning.get_binned_variable(name), coefficients[name], name in categorical)
    return card


def _bins_of(name: str, optb: Any, coefficient: float, is_categorical: bool) -> list[Bin]:
    table = optb.binning_table.build()
    rows = table.iloc[:-1]  # the last row is the totals
    splits = list(optb.splits)
    bins: list[Bin] = []
    for position, (label, row) in enumerate(rows.iterrows()):
        woe = float(row["WoE"])
        logit = round(coefficient * woe, LOGIT_DECIMALS)
        kind = str(row["Bin"])
        lower = upper = None
        categories = None
        is_missing = kind == "Missing"
        if kind == "Special":
            continue  # no special values are declared
        if not is_missing:
            if is_categorical:
                categories = [str(c) for c in splits[position]]
            else:
                lower = float(splits[position - 1]) if position > 0 else None
                upper = float(splits[position]) if position < len(splits) else None
        bins.append(
            Bin(
                feature=name, bin_no=int(label), lower_bound=lower, upper_bound=upper, categories=categories,
                is_missing=is_missing, woe=woe, logit=logit, points=round(FACTOR * logit),
                count=int(row["Count"]), event_rate=float(row["Event rate"]) if row["Count"] else 0.0,
            )
        )  # fmt: skip
    return bins
