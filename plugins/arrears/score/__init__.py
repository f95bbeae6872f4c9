"""The collection score (business rules §10): train a scorecard, activate a version (docs/scorecard.md)."""

from arrears.score.activate import activate
from arrears.score.train import train

__all__ = ["activate", "train"]
