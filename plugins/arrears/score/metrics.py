"""How well a score separates: KS, AUC, Gini, calibration by decile, and the score bands for the PSI."""

from __future__ import annotations

import numpy as np
import pandas as pd


def ks_auc(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """KS (largest gap between the cumulative shares of events and non-events) and the ROC AUC."""
    from sklearn.metrics import roc_auc_score, roc_curve

    if len(set(labels.tolist())) < 2:
        return float("nan"), float("nan")
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(np.max(tpr - fpr)), float(roc_auc_score(labels, scores))


def calibration(labels: np.ndarray, probabilities: np.ndarray, groups: int = 10) -> list[dict[str, float]]:
    """Deciles of the predicted probability: loans, mean predicted and observed event rate."""
    frame = pd.DataFrame({"label": labels, "p": probabilities})
    frame["decile"] = pd.qcut(frame["p"].rank(method="first"), groups, labels=False) + 1
    table = frame.groupby("decile").agg(loans=("label", "size"), predicted=("p", "mean"), observed=("label", "mean"))
    return [
        {"decile": int(d), "loans": int(r.loans), "predicted": round(float(r.predicted), 6),
         "observed": round(float(r.observed), 6)}
        for d, r in table.iterrows()
    ]  # fmt: skip


def reference_bands(points: np.ndarray, groups: int = 10) -> list[dict[str, float | int | None]]:
    """Bands of the training population's points (deciles, merged where equal) with their shares:
    the nightly PSI compares each night's shares with these."""
    edges = sorted({int(e) for e in np.quantile(points, np.linspace(0, 1, groups + 1)[1:-1])})
    bands: list[dict[str, float | int | None]] = []
    lowers: list[int | None] = [None, *edges]
    uppers: list[int | None] = [*edges, None]
    for number, (lower, upper) in enumerate(zip(lowers, uppers, strict=True), start=1):
        inside = np.ones(len(points), bool)
        if lower is not None:
            inside &= points >= lower
        if upper is not None:
            inside &= points < upper
        bands.append({"band_no": number, "lower_points": lower, "upper_points": upper,
                      "expected_share": float(inside.mean())})  # fmt: skip
    return bands
