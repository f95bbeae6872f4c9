"""Champion/challenger experiments (business rules §10): the manager's configuration, validated, and the
deterministic arm assignment the warehouse computes in SQL (mirrored here for the simulator and tests)."""

from arrears.experiments.assignment import arm_of, assignment_point, share_bounds
from arrears.experiments.config import (
    EXPERIMENTS_FILE,
    PRIORITY_ORDERINGS,
    Arm,
    Experiment,
    experiments_file,
    load_experiments,
    parse_experiments,
)
from arrears.experiments.dbt_vars import experiment_arms_var

__all__ = [
    "EXPERIMENTS_FILE",
    "PRIORITY_ORDERINGS",
    "Arm",
    "Experiment",
    "arm_of",
    "assignment_point",
    "experiment_arms_var",
    "experiments_file",
    "load_experiments",
    "parse_experiments",
    "share_bounds",
]
