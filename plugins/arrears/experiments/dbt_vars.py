"""The experiments as the dbt var `experiment_arms`: one flat record per arm, with its share interval."""

from __future__ import annotations

from typing import Any

from arrears.experiments.assignment import share_bounds
from arrears.experiments.config import Experiment


def experiment_arms_var(experiments: list[Experiment]) -> list[dict[str, Any]]:
    """One mapping per arm, ready for `dbt build --vars` (macro experiment_arms_relation reads it)."""
    records: list[dict[str, Any]] = []
    for experiment in experiments:
        bounds = share_bounds([arm.share for arm in experiment.arms])
        for position, (arm, (lower, upper)) in enumerate(zip(experiment.arms, bounds, strict=True)):
            records.append(
                {
                    "experiment_id": experiment.id,
                    "team_id": experiment.team,
                    "salt": experiment.salt,
                    "starts_on": experiment.starts_on.isoformat(),
                    "ends_on": experiment.ends_on.isoformat() if experiment.ends_on else None,
                    "arm_id": arm.id,
                    "arm_position": position + 1,
                    "is_champion": arm.champion,
                    "point_from": lower,
                    "point_to": upper,
                    "priority_ordering": arm.priority,
                    "channels": "|".join(arm.channels) if arm.channels else None,
                    "predue_days": arm.predue_days,
                }
            )
    return records
