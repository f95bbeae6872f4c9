"""arrears: batch data platform for consumer-loan collections (催收)."""

__version__ = "0.1.0"
