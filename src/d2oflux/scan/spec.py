"""The scan specification: a TOML file (or a preset in ``d2oflux/presets/scans``) describing a design study.

Layout::

    [scan]
    name = "module-design"
    detector = "d2o-module1"         # base detector: preset name or TOML path (relative to the spec file)
    facility = "sns-fts"             # optional; default the detector's own
    years = [1, 3, 5]                # exposures in facility-years (SNS-years for sns-fts)
    seed = 1                         # seeds the sampling and, with each point's hash, its toys
    toys = 0                         # K pseudo-experiments per point and exposure (0: Asimov only)
    targets_percent = [5, 3, 2]      # relative flux precisions whose time-to-reach is computed

    [sampling]
    method = "grid"                  # grid (every combination), random or lhs (Latin hypercube)
    n = 1000                         # number of samples (random, lhs)

    [parameters]                     # dotted keys into the detector (or ``facility.<key>``)
    distance_m = { linspace = [18.0, 28.0, 6] }
    "regions.d2o.mass_kg" = { logspace = [300.0, 3000.0, 5] }     # log-spaced from 300 to 3000
    "response.light_yield_pe_per_MeV" = [10.0, 15.0, 20.0]
    "analysis.energy_window_MeV" = [[10.0, 55.0], [15.0, 55.0]]
    # random / lhs only: { uniform = [lo, hi] } and { loguniform = [lo, hi] }

    [constraints]                    # points that violate them are removed before anything runs
    footprint_m = [3.35, 3.66]       # outer horizontal extent must fit (either orientation)
    max_height_m = 3.0
    max_mass_kg = 10000.0            # total mass of all regions

Parameters may also be written as nested tables (``[parameters.regions.d2o] mass_kg = [...]``).
Unknown keys and impossible ranges are :class:`~d2oflux.errors.ConfigError` before anything runs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from ..config import StrictModel, parse_toml, preset_names, read_preset_text, validate
from ..errors import ConfigError

#: Keys of a parameter table that make it a range (a leaf) rather than a nested group of parameters.
RANGE_KINDS = ("values", "linspace", "logspace", "uniform", "loguniform")


class ScanSettings(StrictModel):
    """The ``[scan]`` table."""

    name: str = "scan"
    description: str = ""
    detector: str = "d2o-module1"
    facility: str | None = None
    years: tuple[float, ...] = Field(min_length=1)
    seed: int = Field(default=1, ge=0)
    toys: int = Field(default=0, ge=0)
    targets_percent: tuple[float, ...] = (5.0, 3.0, 2.0)
    mu_minus_dar: bool = True
    o16_model: Literal["kolbe", "nakazato"] = "kolbe"

    @field_validator("years", "targets_percent")
    @classmethod
    def _positive(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not math.isfinite(x) or x <= 0 for x in v):
            raise ValueError("expected positive numbers")
        if len(set(v)) != len(v):
            raise ValueError("expected distinct values")
        return tuple(sorted(v))

    @field_validator("toys")
    @classmethod
    def _toys(cls, v: int) -> int:
        if v == 1:
            raise ValueError("expected 0 (Asimov only) or at least 2 toys")
        return v


class SamplingSettings(StrictModel):
    """The ``[sampling]`` table."""

    method: Literal["grid", "random", "lhs"] = "grid"
    n: int | None = Field(default=None, gt=0)


class Constraints(StrictModel):
    """The ``[constraints]`` table: derived limits every point must satisfy."""

    footprint_m: tuple[float, float] | None = None
    max_height_m: float | None = Field(default=None, gt=0)
    max_mass_kg: float | None = Field(default=None, gt=0)

    @field_validator("footprint_m")
    @classmethod
    def _footprint(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and min(v) <= 0:
            raise ValueError("expected [width, length] in metres, both > 0")
        return v


@dataclass(frozen=True)
class ParameterRange:
    """One scanned parameter.

    Attributes
    ----------
    path : str
        Dotted key into the detector configuration (``regions.d2o.mass_kg``) or ``facility.<key>``.
    kind : str
        ``values`` (an explicit list, also what linspace/logspace become), ``uniform`` or ``loguniform``.
    values : tuple
        The grid values (``values``), or ``(low, high)`` for the continuous kinds.
    """

    path: str
    kind: str
    values: tuple

    @property
    def continuous(self) -> bool:
        return self.kind in ("uniform", "loguniform")


@dataclass(frozen=True)
class ScanSpec:
    """A validated scan specification.

    Attributes
    ----------
    settings, sampling, constraints
        The ``[scan]``, ``[sampling]`` and ``[constraints]`` tables.
    parameters : tuple of ParameterRange
        In the order of the file.
    label : str
        Preset name or file path.
    base_dir : Path
        Folder that relative detector paths are resolved against.
    canonical : dict
        The whole specification as plain JSON-able data (what a store remembers and compares).
    """

    settings: ScanSettings
    sampling: SamplingSettings
    constraints: Constraints
    parameters: tuple[ParameterRange, ...]
    label: str
    base_dir: Path
    canonical: dict

    @property
    def spec_hash(self) -> str:
        """SHA-256 of the canonical specification (first 16 hex digits)."""
        return hashlib.sha256(json.dumps(self.canonical, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def parameter_paths(self) -> list[str]:
        return [p.path for p in self.parameters]


def load_spec(name_or_path: str | Path) -> ScanSpec:
    """Load a scan preset (``module-design``, ``smoke``) or a scan TOML file."""
    text_path = Path(name_or_path)
    if not (str(name_or_path).endswith(".toml") or text_path.exists()) and str(name_or_path) not in preset_names(
        "scans"
    ):
        from ..errors import suggest

        names = preset_names("scans")
        raise ConfigError(
            f"unknown scan '{name_or_path}'{suggest(str(name_or_path), names)}; presets: {', '.join(names)}, "
            "or give a path to a scan .toml file"
        )
    label, text = read_preset_text("scans", name_or_path)
    path = Path(label)
    base_dir = path.parent.resolve() if path.is_file() else Path.cwd()
    return parse_spec(parse_toml(label, text), label, base_dir)


def parse_spec(data: dict[str, Any], label: str, base_dir: Path) -> ScanSpec:
    """Validate a parsed scan TOML (see the module docstring for the layout)."""
    allowed = {"scan", "sampling", "parameters", "constraints"}
    for key in data:
        if key not in allowed:
            from ..errors import suggest

            raise ConfigError(
                f"scan '{label}': unknown table '{key}'{suggest(key, allowed)}; expected {', '.join(sorted(allowed))}"
            )
    if "scan" not in data:
        raise ConfigError(f"scan '{label}': missing the [scan] table (detector, years, ...)")
    settings = validate(ScanSettings, data["scan"], f"scan '{label}' [scan]")
    sampling = validate(SamplingSettings, data.get("sampling", {}), f"scan '{label}' [sampling]")
    constraints = validate(Constraints, data.get("constraints", {}), f"scan '{label}' [constraints]")
    raw = flatten_parameters(data.get("parameters", {}))
    if not raw:
        raise ConfigError(f"scan '{label}': [parameters] is empty; give at least one parameter to vary")
    params = tuple(parse_range(path, value, label) for path, value in raw.items())
    if sampling.method == "grid":
        for p in params:
            if p.continuous:
                raise ConfigError(
                    f"scan '{label}': parameter '{p.path}' = {{ {p.kind} = ... }} needs [sampling] method = "
                    "'random' or 'lhs' (a grid needs a list, linspace or logspace)"
                )
        if sampling.n is not None:
            raise ConfigError(f"scan '{label}': [sampling] n is only for method = 'random' or 'lhs'")
    elif sampling.n is None:
        raise ConfigError(f"scan '{label}': [sampling] method = '{sampling.method}' needs n = <number of samples>")
    canonical = {
        "scan": settings.model_dump(mode="json"),
        "sampling": sampling.model_dump(mode="json"),
        "constraints": constraints.model_dump(mode="json"),
        "parameters": {p.path: {"kind": p.kind, "values": _jsonable(p.values)} for p in params},
    }
    return ScanSpec(settings, sampling, constraints, params, label, base_dir, canonical)


def flatten_parameters(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"regions": {"d2o": {"mass_kg": [..]}}}`` -> ``{"regions.d2o.mass_kg": [..]}`` (range tables are leaves)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and not (set(value) & set(RANGE_KINDS)):
            out.update(flatten_parameters(value, path + "."))
        else:
            out[path] = value
    return out


def parse_range(path: str, value: Any, label: str) -> ParameterRange:
    """Turn one ``[parameters]`` entry into a :class:`ParameterRange`; errors name the parameter."""
    where = f"scan '{label}': parameter '{path}'"
    if isinstance(value, list):
        value = {"values": value}
    if not isinstance(value, dict) or len(value) != 1:
        raise ConfigError(
            f"{where}: expected a list of values or one of "
            "{ linspace = [start, stop, n] }, { logspace = [start, stop, n] }, { uniform = [lo, hi] }, "
            f"{{ loguniform = [lo, hi] }}, got {value!r}"
        )
    ((kind, arg),) = value.items()
    if kind not in RANGE_KINDS:
        from ..errors import suggest

        raise ConfigError(
            f"{where}: unknown range '{kind}'{suggest(kind, RANGE_KINDS)}; expected {', '.join(RANGE_KINDS)}"
        )
    if kind == "values":
        return ParameterRange(path, "values", _check_values(arg, where))
    if kind in ("linspace", "logspace"):
        if not (isinstance(arg, list) and len(arg) == 3 and _is_number(arg[0]) and _is_number(arg[1])):
            raise ConfigError(f"{where}: {kind} expects [start, stop, n], got {arg!r}")
        start, stop, n = arg
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ConfigError(f"{where}: {kind} needs a whole number of points n >= 1, got {n!r}")
        if n > 1 and start == stop:
            raise ConfigError(f"{where}: {kind} range is empty (start = stop = {start}) with {n} points")
        if kind == "logspace":
            if start <= 0 or stop <= 0:
                raise ConfigError(f"{where}: logspace needs positive start and stop, got {start}, {stop}")
            vals = np.geomspace(float(start), float(stop), n)  # exact endpoints
        else:
            vals = np.linspace(float(start), float(stop), n)
        return ParameterRange(path, "values", tuple(float(v) for v in vals))
    if not (isinstance(arg, list) and len(arg) == 2 and all(_is_number(x) for x in arg)):
        raise ConfigError(f"{where}: {kind} expects [low, high], got {arg!r}")
    lo, hi = float(arg[0]), float(arg[1])
    if not lo < hi:
        raise ConfigError(f"{where}: {kind} range [{lo}, {hi}] is empty; expected low < high")
    if kind == "loguniform" and lo <= 0:
        raise ConfigError(f"{where}: loguniform needs low > 0, got {lo}")
    return ParameterRange(path, kind, (lo, hi))


def _check_values(values: Any, where: str) -> tuple:
    """An explicit list: non-empty; numbers strictly monotonic; otherwise distinct (lists, strings, booleans)."""
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: the list of values is empty; give at least one value")
    if all(_is_number(v) for v in values):
        vals = [float(v) if isinstance(v, float) else v for v in values]
        diffs = [b - a for a, b in itertools.pairwise(vals)]
        if not (all(d > 0 for d in diffs) or all(d < 0 for d in diffs)):
            raise ConfigError(f"{where}: values {values} are not strictly monotonic (increasing or decreasing)")
        return tuple(vals)
    frozen = [tuple(v) if isinstance(v, list) else v for v in values]
    if any(isinstance(v, dict) for v in frozen):
        raise ConfigError(f"{where}: values must be numbers, strings, booleans or lists, got a table")
    if len(set(frozen)) != len(frozen):
        raise ConfigError(f"{where}: values {values} repeat; expected distinct values")
    return tuple(frozen)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _jsonable(values: tuple) -> list:
    return [list(v) if isinstance(v, tuple) else v for v in values]
