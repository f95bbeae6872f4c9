"""Retention: purge personal data of long-closed borrowers and old export folders, logged in audit."""

from arrears.retention.policy import RetentionPolicy, load_retention_policy
from arrears.retention.purge import PurgeResult, purge

__all__ = ["PurgeResult", "RetentionPolicy", "load_retention_policy", "purge"]
