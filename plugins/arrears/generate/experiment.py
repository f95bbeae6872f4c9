"""The simulated champion/challenger experiment: an arm's strategy changes cures by a known amount.

With `generate --experiment`, loans are in the arms of behaviour.yml's `experiment` exactly as the warehouse
assigns them (arrears.experiments.arm_of), and while an early-stage loan (DPD 1-30) is in an arm, its daily
cure hazard is multiplied by the arm's cure_hazard_factor. The truth folder gets `experiments.yml` (the
configuration the warehouse runs the experiment with) and `experiment.json` (the factors and, per borrower
type, what the hazards give), so a test can compute the true uplift of any cohort
(`expected_cure_probability`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from arrears.experiments import arm_of
from arrears.generate.params import load_params
from arrears.generate.portfolio import TYPES, Portfolio

EARLY_DPD = (1, 30)  # the DPD range the effect applies to (the early team's)


def experiment_spec() -> dict[str, Any]:
    """behaviour.yml's `experiment` section."""
    spec: dict[str, Any] = load_params()["experiment"]
    return spec


def loan_arms(pf: Portfolio) -> np.ndarray:
    """Each loan's arm position in the experiment (same loan ids as the deliveries: L + 10 digits)."""
    spec = experiment_spec()
    ids = [arm["id"] for arm in spec["arms"]]
    shares = [float(arm["share"]) for arm in spec["arms"]]
    known = pf.experiment_arms
    if len(known) < len(pf.loans):
        new = [ids.index(arm_of(spec["salt"], f"L{i + 1:010d}", ids, shares)) for i in range(len(known), len(pf.loans))]
        pf.experiment_arms = np.concatenate([known, np.asarray(new, np.int8)])
    return pf.experiment_arms


def cure_hazard_factor(pf: Portfolio, day: int, loans: np.ndarray, dpd: np.ndarray) -> np.ndarray | float:
    """The multiplier of each candidate's payment hazard on `day`: its arm's factor while early-stage, else 1.

    The experiment starts on the first delivery day (the configuration's starts_on): the history before it is
    untouched, so the loans in the queue on the first night are split between the arms by assignment alone.
    """
    if not pf.experiment or day < pf.anchor:
        return 1.0
    factors = np.asarray([float(arm.get("cure_hazard_factor", 1.0)) for arm in experiment_spec()["arms"]])
    early = (dpd >= EARLY_DPD[0]) & (dpd <= EARLY_DPD[1])
    return np.where(early, factors[loan_arms(pf)[loans]], 1.0)


def expected_cure_probability(borrower_type: str, dpd_at_entry: int, days: int, factor: float) -> float:
    """The hazards' chance that a loan of this type at this DPD pays what is due within `days` days.

    The payment-hazard path only (promises kept and partial payments that do not cure are left out),
    with the arm's factor on the early-stage days: what the strategy changes, for the true uplift.
    """
    params = load_params()
    spec = params["borrower_types"][borrower_type]
    scales = sorted((int(t), float(f)) for t, f in params["late_hazard_scale"].items())
    survive = 1.0
    for step in range(1, days + 1):
        dpd = dpd_at_entry + step
        scale = 1.0
        for threshold, value in scales:
            scale = value if dpd >= threshold else scale
        hazard = float(spec["cure_hazard"]) * scale * (1 - float(spec["partial_share"]))
        if EARLY_DPD[0] <= dpd <= EARLY_DPD[1]:
            hazard *= factor
        survive *= 1 - min(hazard, 1.0)
    return 1 - survive


def write_experiment_truth(truth: Path, first_date: dt.date, pf: Portfolio) -> None:
    """experiments.yml (the warehouse configuration) and experiment.json (arms, factors, loan types)."""
    spec = experiment_spec()
    config = {
        "experiments": [
            {
                "id": spec["id"],
                "team": spec["team"],
                "salt": spec["salt"],
                "starts_on": first_date.isoformat(),
                "arms": [{k: v for k, v in arm.items() if k != "cure_hazard_factor"} for arm in spec["arms"]],
            }
        ]
    }
    (truth / "experiments.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    arms = loan_arms(pf)
    truth_doc = {
        "experiment_id": spec["id"],
        "early_dpd": list(EARLY_DPD),
        "cure_hazard_factor": {arm["id"]: float(arm.get("cure_hazard_factor", 1.0)) for arm in spec["arms"]},
        "loans": {
            f"L{i + 1:010d}": {
                "arm": spec["arms"][int(arms[i])]["id"],
                "borrower_type": TYPES[int(pf.loans["type"][i])],
            }
            for i in range(len(pf.loans))
        },
    }
    (truth / "experiment.json").write_text(json.dumps(truth_doc) + "\n", encoding="utf-8")
