"""The one exception type users see.

Every bad input raises :class:`ConfigError` (a ``ValueError``) with one line that names the field and
what was expected; the CLI prints that line and exits with status 2.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable


class ConfigError(ValueError):
    """Invalid user input: a configuration key, a file, a number out of range."""


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest of ``choices``, or an empty string."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def require_positive(value: float, field: str, unit: str = "") -> float:
    """Raise :class:`ConfigError` unless ``value`` is a finite number > 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{field}: expected a positive number{unit and ' in ' + unit}, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ConfigError(f"{field}: expected a positive number{unit and ' in ' + unit}, got {value!r}")
    return v


#: Seeds are integers in [0, 2**63): numpy's generators take any non-negative integer, and 2**63 keeps a
#: seed a signed 64-bit number in every file format that stores it.
SEED_LIMIT = 2**63


def check_seed(seed, field: str = "--seed") -> int:
    """Return ``seed`` as an int, or raise :class:`ConfigError` unless it is an integer in [0, 2**63)."""
    import numbers

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"{field}: expected an integer in [0, 2^63), got {seed!r}")
    return int(seed)
