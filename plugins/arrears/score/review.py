"""The files a risk analyst reviews for a scorecard version: scorecard.json (everything), bins.csv (bins,
WoE and points), calibration.csv and scorecard.md (the summary, bins and calibration as tables)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

BIN_COLUMNS = ["feature", "bin_no", "lower_bound", "upper_bound", "categories", "is_missing", "count", "event_rate",
               "woe", "logit", "points"]  # fmt: skip


def write_review(folder: Path, report: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scorecard.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    with (folder / "bins.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, BIN_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for b in report["bins"]:
            writer.writerow({**b, "categories": "|".join(b["categories"] or [])})
    with (folder / "calibration.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["decile", "loans", "predicted", "observed"])
        writer.writeheader()
        writer.writerows(report["calibration"])
    (folder / "scorecard.md").write_text(_markdown(report), encoding="utf-8")


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Collection scorecard {report['version']}",
        "",
        f"Trained through {report['trained_through']} at {report['trained_at']}; training dates "
        f"{report['train_dates'][0]} .. {report['train_dates'][1]} ({report['rows_train']} rows, event rate "
        f"{report['event_rate_train']:.3%}), holdout {report['holdout_dates'][0]} .. {report['holdout_dates'][1]} "
        f"({report['rows_holdout']} rows, event rate {report['event_rate_holdout']:.3%}).",
        "",
        f"Holdout KS **{report['holdout_ks']:.3f}**, AUC **{report['holdout_auc']:.3f}**, "
        f"Gini **{report['holdout_gini']:.3f}**. Points: base {report['base_points']}, 20 points double the odds "
        "of the event (higher = riskier).",
        "",
        "## Bins",
        "",
        "| feature | bin | range / categories | loans | event rate | WoE | points |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in report["bins"]:
        if b["is_missing"]:
            span = "missing"
        elif b["categories"] is not None:
            span = ", ".join(b["categories"])
        else:
            low = "-inf" if b["lower_bound"] is None else f"{b['lower_bound']:g}"
            high = "inf" if b["upper_bound"] is None else f"{b['upper_bound']:g}"
            span = f"[{low}, {high})"
        lines.append(
            f"| {b['feature']} | {b['bin_no']} | {span} | {b['count']} | {b['event_rate']:.3%} | "
            f"{b['woe']:.3f} | {b['points']} |"
        )
    lines += ["", "## Calibration on the holdout", "", "| decile | loans | predicted | observed |", "|---|---|---|---|"]
    for c in report["calibration"]:
        lines.append(f"| {c['decile']} | {c['loans']} | {c['predicted']:.4f} | {c['observed']:.4f} |")
    return "\n".join(lines) + "\n"
