"""Errors a user can cause and fix. The CLI prints them as one line and exits non-zero."""


class ArrearsError(Exception):
    """A user-facing failure: bad input, bad configuration, a failed gate. Never a bug."""

    exit_code = 1


class DeliveryRejected(ArrearsError):
    """A landing delivery that breaks the manifest rules; nothing of it was loaded."""

    exit_code = 3


class QuarantineThresholdExceeded(ArrearsError):
    """A delivery loaded, but its quarantined share passed the configured limit."""

    exit_code = 4


class QualityGateFailed(ArrearsError):
    """A data-quality suite failed; the exports that depend on it are blocked."""

    exit_code = 5
