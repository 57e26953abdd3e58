"""The exceptions users see, and the helpers that keep every input error to one line.

Every bad input raises :class:`ConfigError` (a ``ValueError``) with one line that names the field, file or
row and what was expected; the CLI prints that line and exits with status 2. A result that finished but
cannot be trusted raises :class:`InvalidResult` (exit status 3). :func:`read_text_file` and
:func:`check_readable` turn missing, unreadable (permission), non-regular and non-UTF-8 files into
:class:`ConfigError`; :func:`strict_json` refuses NaN and infinities.
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
    """Return ``value`` as a float; raise :class:`ConfigError` unless it is a finite number > 0 (not a string
    or a bool)."""
    v = _finite_float(value)
    if v is None or v <= 0:
        raise ConfigError(f"{field}: expected a positive number{unit and ' in ' + unit}, got {value!r}")
    return v


def require_non_negative(value: float, field: str, unit: str = "") -> float:
    """Return ``value`` as a float; raise :class:`ConfigError` unless it is a finite number >= 0 (not a string
    or a bool)."""
    v = _finite_float(value)
    if v is None or v < 0:
        raise ConfigError(f"{field}: expected a finite number >= 0{unit and ' in ' + unit}, got {value!r}")
    return v


def _finite_float(value) -> float | None:
    """``value`` as a finite float, or None for a string, a bool, a non-number, NaN or an infinity."""
    if isinstance(value, str | bytes | bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


def is_whole_number(value, *, at_least: int) -> bool:
    """Whether ``value`` is a whole number of at least ``at_least``, given as an int or a float (``1e4``).

    The check behind the counts of the command line (``-n``, ``--ntoys``), whose options are floats so that
    ``1e4`` may be typed.

    Parameters
    ----------
    value : object
        The number to check; a bool, a string, NaN, an infinity or an int too large for a float is not one.
    at_least : int
        The smallest accepted value.

    Returns
    -------
    bool
    """
    if isinstance(value, bool):
        return False
    try:
        return float(value).is_integer() and value >= at_least
    except (TypeError, ValueError, OverflowError):
        return False


#: Seeds are integers in [0, 2**63): numpy's generators take any non-negative integer, and 2**63 keeps a
#: seed a signed 64-bit number in every file format that stores it.
SEED_LIMIT = 2**63


def as_energy_array(E_MeV, name: str = "E_MeV"):
    """Neutrino energies [MeV] as a float numpy array; ``ValueError`` naming ``name`` if one is NaN or not a
    number (shared by the spectra and the cross sections)."""
    import numpy as np

    try:
        E = np.asarray(E_MeV, dtype=float) if E_MeV is not None else None
    except (TypeError, ValueError):
        E = None
    if E is None:
        raise ValueError(f"{name}: expected neutrino energies in MeV (a number or an array), got {E_MeV!r}")
    if np.isnan(E).any():
        raise ValueError(f"{name}: neutrino energy is NaN")
    return E


def check_seed(seed, field: str = "--seed") -> int:
    """Return ``seed`` as an int, or raise :class:`ConfigError` unless it is an integer in [0, 2**63)."""
    import numbers

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"{field}: expected an integer in [0, 2^63), got {seed!r}")
    return int(seed)


class InvalidResult(Exception):
    """A computation finished but its result is not trustworthy (a fit at a bound, too few converged toys).

    The CLI prints the result, then one line ``d2oflux: invalid result: ...`` and exits with status 3,
    unless the user passed ``--allow-invalid``.
    """


def open_error(exc: OSError, what: str, path: object) -> ConfigError:
    """One-line :class:`ConfigError` for an ``OSError`` raised while opening ``path``."""
    if isinstance(exc, FileNotFoundError):
        return ConfigError(f"{what} '{path}' does not exist")
    if isinstance(exc, IsADirectoryError):
        return ConfigError(f"{what} '{path}' is a directory; expected a file")
    if isinstance(exc, PermissionError):
        return ConfigError(f"{what} '{path}' cannot be read: permission denied")
    return ConfigError(f"{what} '{path}' cannot be read: {exc.strerror or exc}")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none), for one-line errors."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def check_readable(path: object, what: str) -> None:
    """Raise :class:`ConfigError` unless ``path`` is an existing regular file this process can open."""
    from pathlib import Path

    p = Path(str(path))
    if p.exists() and not p.is_dir() and not p.is_file():  # a FIFO or device: opening it could block
        raise ConfigError(f"{what} '{path}' is not a regular file")
    try:
        with p.open("rb"):
            pass
    except OSError as exc:
        raise open_error(exc, what, path) from None


def read_text_file(path: object, what: str, expected: str = "") -> str:
    """The whole text of a UTF-8 file (a byte-order mark is allowed), or a one-line :class:`ConfigError`.

    ``what`` names the file's role (``"beam history"``), ``expected`` describes its format for the message.
    """
    from pathlib import Path

    p = Path(str(path))
    check_readable(p, what)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise open_error(exc, what, path) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{what} '{path}': not UTF-8 text (undecodable byte at offset {exc.start})"
            + (f"; expected {expected}" if expected else "")
        ) from None
    if "\x00" in text:
        tail = f"; expected {expected}" if expected else ""
        raise ConfigError(f"{what} '{path}': contains NUL bytes, not a text file{tail}")
    return text


def strict_json(obj: object, indent: int | None = None) -> str:
    """``json.dumps`` that refuses NaN and infinities, naming the first non-finite entry."""
    import json

    bad = _first_non_finite(obj, "")
    if bad is not None:
        raise ConfigError(
            f"result '{bad[0] or '(top level)'}' is not finite ({bad[1]}): the inputs are outside the range "
            "where the computation is meaningful"
        )
    return json.dumps(obj, allow_nan=False, indent=indent)


def _first_non_finite(obj: object, where: str) -> tuple[str, object] | None:
    if isinstance(obj, float):
        return None if math.isfinite(obj) else (where, obj)
    if isinstance(obj, dict):
        for k, v in obj.items():
            found = _first_non_finite(v, f"{where}.{k}" if where else str(k))
            if found is not None:
                return found
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            found = _first_non_finite(v, f"{where}[{i}]")
            if found is not None:
                return found
    return None
