"""Mainland-China identity data: GB 11643 resident ID numbers and 11-digit mobile numbers."""

from __future__ import annotations

import re

import numpy as np

# GB 11643-1999: weights of the first 17 digits and the check character for (weighted sum mod 11).
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
_ID_PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")
MOBILE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")

# Real prefecture-level area codes (first six digits) spread over the provinces.
AREA_CODES = (
    110101,
    110105,
    120101,
    130102,
    140105,
    150102,
    210102,
    220102,
    230102,
    310101,
    310115,
    320102,
    320505,
    330102,
    330106,
    340102,
    350102,
    360102,
    370102,
    370202,
    410102,
    420102,
    430102,
    440103,
    440305,
    440306,
    450102,
    460105,
    500103,
    510104,
    520102,
    530102,
    540102,
    610103,
    620102,
    630102,
    640104,
    650102,
)
# Mobile number segments of the three carriers (first three digits).
MOBILE_PREFIXES = (
    130,
    131,
    132,
    133,
    134,
    135,
    136,
    137,
    138,
    139,
    150,
    151,
    152,
    153,
    155,
    156,
    157,
    158,
    159,
    166,
    173,
    175,
    176,
    177,
    178,
    180,
    181,
    182,
    183,
    184,
    185,
    186,
    187,
    188,
    189,
    191,
    198,
    199,
)


def national_id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of a resident ID number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def national_id_is_valid(text: str) -> bool:
    """True when `text` is an 18-character resident ID whose last character is the GB 11643 checksum."""
    if not isinstance(text, str) or not _ID_PATTERN.match(text):
        return False
    return national_id_check_char(text[:17]) == text[17]


def mobile_is_valid(text: str) -> bool:
    """True for an 11-digit mainland mobile number (1[3-9]xxxxxxxxx)."""
    return bool(MOBILE_PATTERN.match(text))


def national_ids(area: np.ndarray, birth_yyyymmdd: np.ndarray, sequence: np.ndarray) -> list[str]:
    """Valid 18-character IDs from area codes, birth dates (as yyyymmdd ints) and 3-digit sequence numbers."""
    first17 = area.astype(np.int64) * 10**11 + birth_yyyymmdd.astype(np.int64) * 1000 + sequence.astype(np.int64)
    digits = np.zeros(len(first17), dtype=np.int64)
    rest = first17.copy()
    # Vectorised weighted digit sum, least significant digit (position 17) first.
    for position in range(16, -1, -1):
        digits += (rest % 10) * ID_WEIGHTS[position]
        rest //= 10
    checks = digits % 11
    return [
        f"{value:017d}{ID_CHECK_CHARS[check]}" for value, check in zip(first17.tolist(), checks.tolist(), strict=True)
    ]


def mobile_numbers(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` random 11-digit mobile numbers as int64 (always valid by construction)."""
    prefixes = np.asarray(MOBILE_PREFIXES, dtype=np.int64)[rng.integers(0, len(MOBILE_PREFIXES), count)]
    return prefixes * 10**8 + rng.integers(0, 10**8, count, dtype=np.int64)
