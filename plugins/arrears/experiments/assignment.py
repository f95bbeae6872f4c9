"""Which arm a loan is in: a number from md5(salt ':' loan_id), then the arm whose interval holds it.

The warehouse computes the same number in portable SQL (macro experiment_hash_point): md5 exists in every
warehouse dbt supports, and its first 8 hex digits read as an integer (0 .. 2**32 - 1) need no bit
functions. Arm intervals are whole numbers too (the shares added up in the configured order, times 2**32,
the last arm up to 2**32), so Python and SQL agree exactly, with no floating point at the boundaries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_POINTS = 2**32


def assignment_point(salt: str, loan_id: str) -> int:
    """The first 8 hex digits of md5(salt || ':' || loan_id) as an integer in 0 .. 2**32 - 1."""
    digest = hashlib.md5(f"{salt}:{loan_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16)


def share_bounds(shares: Sequence[float]) -> list[tuple[int, int]]:
    """Each arm's [from, to) interval of assignment points; the last one ends at 2**32."""
    bounds: list[tuple[int, int]] = []
    lower, cumulative = 0, 0.0
    for position, share in enumerate(shares):
        cumulative += share
        upper = HASH_POINTS if position == len(shares) - 1 else round(cumulative * HASH_POINTS)
        bounds.append((lower, upper))
        lower = upper
    return bounds


def arm_of(salt: str, loan_id: str, arm_ids: Sequence[str], shares: Sequence[float]) -> str:
    """The id of the arm whose interval holds the loan's assignment point."""
    point = assignment_point(salt, loan_id)
    for arm_id, (lower, upper) in zip(arm_ids, share_bounds(shares), strict=True):
        if lower <= point < upper:
            return arm_id
    raise AssertionError(f"point {point} outside every arm")  # the intervals cover 0 .. 2**32 - 1
