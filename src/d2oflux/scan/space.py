"""The scanned space: parameter paths checked against the configuration schemas, points, and their configurations.

A parameter path is a dotted key into the detector configuration (:class:`d2oflux.detector.DetectorConfig`),
walked through the pydantic schema: ``distance_m``, ``response.light_yield_pe_per_MeV``,
``regions.d2o.mass_kg`` (a list of regions is indexed by the region's ``name``), or ``facility.<key>`` into
the facility (:class:`d2oflux.source.Facility`). Any field a future schema adds (``optics.pmts.count``) is
scannable without changes here.

Mass and geometry stay consistent: when a region's mass is scanned, its geometry is scaled by
``(m / m0)^(1/3)`` in every length (same shape and aspect ratio, same density); when one of its geometry
lengths is scanned, its mass follows the volume. Shells wrapped around it (a hollow cylinder whose inner
dimensions equal its outer ones, e.g. the acrylic vessel and the light-water buffer of ``d2o-module1``) keep
their thickness; their masses follow their volumes.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, get_args, get_origin

import numpy as np
from pydantic import BaseModel

from ..beam import Facility, load_facility
from ..config import describe_validation_error
from ..detector import DetectorConfig, Geometry, load_detector, misaligned_window_edge
from ..errors import ConfigError, suggest
from .spec import RANGE_KINDS, ParameterRange, ScanSpec

#: Geometry lengths that scale with the cube root of a region's mass.
LENGTH_KEYS = ("radius_cm", "height_cm", "inner_radius_cm", "inner_height_cm")


@dataclass(frozen=True)
class Point:
    """One configuration of the scan: its index in the specification's order and its parameter values."""

    index: int
    values: dict[str, Any]


@dataclass(frozen=True)
class Configured:
    """A point turned into validated configurations, with its hash and derived quantities."""

    point: Point
    detector: DetectorConfig
    facility: Facility
    config_hash: str
    derived: dict[str, float]
    violations: tuple[str, ...]


@dataclass(frozen=True)
class ScanBase:
    """What every point starts from (picklable, sent to Dask workers).

    Attributes
    ----------
    spec : ScanSpec
    detector_data : dict
        The base detector configuration as plain data.
    detector_label, toml_text, base_dir : str
        For the :class:`d2oflux.detector.Detector` objects built per point.
    steps : dict
        Parameter path -> ("detector" | "facility", keys and list indices into the data).
    """

    spec: ScanSpec
    detector_data: dict
    detector_label: str
    toml_text: str
    base_dir: str
    steps: dict[str, tuple[str, tuple]]


def make_base(spec: ScanSpec) -> ScanBase:
    """Load the base detector and facility, and resolve every parameter path (errors before anything runs)."""
    from pathlib import Path

    name = spec.settings.detector
    if name.endswith(".toml") and not Path(name).is_absolute():
        name = str(spec.base_dir / name)
    det = load_detector(name)
    data = det.config.model_dump(mode="python")
    if spec.settings.facility is not None:
        data["facility"] = spec.settings.facility
    fac = _facility_data(data["facility"])
    steps = {p.path: resolve_path(p.path, data, fac, spec.label) for p in spec.parameters}
    if spec.constraints.footprint_m is not None or spec.constraints.max_height_m is not None:
        missing = [r["name"] for r in data["regions"] if r.get("geometry") is None]
        if missing:
            raise ConfigError(
                f"scan '{spec.label}': [constraints] on the footprint or height need every region's geometry; "
                f"region(s) {', '.join(missing)} of detector '{det.label}' have none"
            )
    return ScanBase(spec, data, det.label, det.toml_text, str(det.base_dir), steps)


def resolve_path(path: str, detector_data: dict, facility_data: dict, label: str) -> tuple[str, tuple]:
    """Walk ``path`` through the pydantic schema; return where it points, or raise a one-line error."""
    parts = path.split(".")
    if parts[0] == "facility" and len(parts) > 1:
        target, model, data, parts = "facility", Facility, facility_data, parts[1:]
    else:
        target, model, data = "detector", DetectorConfig, detector_data
    where = f"scan '{label}': parameter '{path}'"
    steps: list[Any] = []
    annotation: Any = model
    for i, part in enumerate(parts):
        inner = _model_in(annotation)
        origin = get_origin(annotation)
        if origin in (list, tuple) and inner is not None:  # a list of named tables: index by name
            items = data if isinstance(data, list) else []
            names = [str(item.get("name")) for item in items if isinstance(item, dict)]
            if part not in names:
                raise ConfigError(f"{where}: no entry named '{part}'{suggest(part, names)}; have {', '.join(names)}")
            idx = names.index(part)
            steps.append(idx)
            data = items[idx]
            annotation = inner
            continue
        if inner is None:
            if origin is dict:
                steps.append(part)
                annotation = get_args(annotation)[1] if get_args(annotation) else Any
                data = None
                continue
            raise ConfigError(
                f"{where}: '{'.'.join(parts[:i])}' is a value, it has no key '{part}' (a range is a list or one "
                f"of {', '.join('{ ' + k + ' = ... }' for k in RANGE_KINDS)})"
            )
        fields = inner.model_fields
        if part not in fields:
            raise ConfigError(
                f"{where}: unknown key '{part}'{suggest(part, fields)}; allowed keys here: {', '.join(sorted(fields))}"
            )
        steps.append(part)
        annotation = fields[part].annotation
        data = data.get(part) if isinstance(data, dict) else None
    if _model_in(annotation) is not None and get_origin(annotation) is None:
        raise ConfigError(
            f"{where}: is a table; scan one of its keys ({', '.join(_model_in(annotation).model_fields)})"
        )
    if get_origin(annotation) in (list, tuple) and _model_in(annotation) is not None:
        raise ConfigError(f"{where}: is a list of tables; scan a key of one entry ('{path}.<name>.<key>')")
    if target == "detector" and steps and steps[0] == "regions" and len(steps) == 2:
        raise ConfigError(f"{where}: is a region; scan one of its keys (mass_kg, geometry.radius_cm, ...)")
    return target, tuple(steps)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``Model``, ``Model | None``, ``list[Model]`` (None for plain values)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


# ------------------------------------------------------------------------------------------------
# Points
# ------------------------------------------------------------------------------------------------
def count_points(spec: ScanSpec) -> int:
    """Number of points before constraints (grid: the product of the list lengths)."""
    if spec.sampling.method == "grid":
        return math.prod(len(p.values) for p in spec.parameters)
    assert spec.sampling.n is not None
    return spec.sampling.n


def iter_points(spec: ScanSpec) -> Iterator[Point]:
    """The points in a fixed order: a grid's product (first parameter slowest) or the seeded samples."""
    paths = spec.parameter_paths
    if spec.sampling.method == "grid":
        for i, combo in enumerate(itertools.product(*(p.values for p in spec.parameters))):
            yield Point(i, dict(zip(paths, combo, strict=True)))
        return
    n = count_points(spec)
    rng = np.random.default_rng(np.random.SeedSequence([spec.settings.seed, 0x5CA9]))
    if spec.sampling.method == "lhs":
        from scipy.stats import qmc

        u = qmc.LatinHypercube(len(paths), rng=rng).random(n)
    else:
        u = rng.random((n, len(paths)))
    for i in range(n):
        yield Point(i, {p.path: _from_unit(p, float(u[i, j])) for j, p in enumerate(spec.parameters)})


def _from_unit(p: ParameterRange, u: float) -> Any:
    """Map a number in [0, 1) onto the parameter's range (a list: its element floor(u k))."""
    if p.kind == "uniform":
        lo, hi = p.values
        return lo + (hi - lo) * u
    if p.kind == "loguniform":
        lo, hi = p.values
        return float(math.exp(math.log(lo) + u * math.log(hi / lo)))
    return p.values[min(int(u * len(p.values)), len(p.values) - 1)]


# ------------------------------------------------------------------------------------------------
# Configurations
# ------------------------------------------------------------------------------------------------
def configure(base: ScanBase, point: Point) -> Configured:
    """The validated detector and facility of one point, its hash, derived quantities and constraint violations."""
    spec = base.spec
    det = copy.deepcopy(base.detector_data)
    for path, value in point.values.items():
        target, steps = base.steps[path]
        if target == "detector":
            _set(det, steps, value)
    fac = copy.deepcopy(_facility_data(det["facility"]))
    for path, value in point.values.items():
        target, steps = base.steps[path]
        if target == "facility":
            _set(fac, steps, value)
    desc = ", ".join(f"{k}={_short(v)}" for k, v in point.values.items())
    try:
        _keep_mass_and_geometry(det, base.detector_data, point.values)
        det_cfg = DetectorConfig.model_validate(det)
        fac_cfg = Facility.model_validate(fac)
    except Exception as exc:  # pydantic ValidationError: one line naming the field
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        model = {"Facility": Facility, "Geometry": Geometry}.get(exc.title, DetectorConfig)
        raise ConfigError(
            f"scan '{spec.label}': point {point.index} ({desc}): {describe_validation_error(model, exc)}"
        ) from None
    _check_windows(det_cfg, spec.label, point.index, desc)
    payload = {
        "detector": det_cfg.model_dump(mode="json"),
        "facility": fac_cfg.model_dump(mode="json"),
        "source": {"mu_minus_dar": spec.settings.mu_minus_dar, "o16_model": spec.settings.o16_model},
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]
    derived = derived_quantities(det_cfg)
    return Configured(point, det_cfg, fac_cfg, digest, derived, violations(spec, derived))


def derived_quantities(cfg: DetectorConfig) -> dict[str, float]:
    """Cost proxies and outer dimensions: D2O and total mass [kg], PMT count, outer extent [m]."""
    d2o = sum(r.mass_kg for r in cfg.regions if r.material == "D2O")
    total = sum(r.mass_kg for r in cfg.regions)
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    for r in cfg.regions:
        g = r.geometry
        if g is None:
            continue
        c = np.asarray(g.center_cm, float)
        half = (
            np.array([g.radius_cm, g.radius_cm, g.height_cm / 2])
            if g.shape == "cylinder"
            else np.asarray(g.size_cm) / 2
        )
        lo, hi = np.minimum(lo, c - half), np.maximum(hi, c + half)
    extent = np.where(np.isfinite(hi - lo), (hi - lo) / 100.0, np.nan)
    pmts = _lookup(cfg.model_dump(), ("optics", "pmts", "count"))
    return {
        "d2o_mass_kg": float(d2o),
        "total_mass_kg": float(total),
        "pmt_count": float(pmts) if isinstance(pmts, int | float) else math.nan,
        "extent_x_m": float(extent[0]),
        "extent_y_m": float(extent[1]),
        "height_m": float(extent[2]),
    }


def violations(spec: ScanSpec, derived: dict[str, float]) -> tuple[str, ...]:
    """Names of the constraints a point violates (empty: feasible)."""
    c = spec.constraints
    out = []
    if c.footprint_m is not None:
        a, b = c.footprint_m
        x, y = derived["extent_x_m"], derived["extent_y_m"]
        if not ((x <= a and y <= b) or (x <= b and y <= a)):
            out.append("footprint_m")
    if c.max_height_m is not None and not derived["height_m"] <= c.max_height_m:
        out.append("max_height_m")
    if c.max_mass_kg is not None and not derived["total_mass_kg"] <= c.max_mass_kg:
        out.append("max_mass_kg")
    return tuple(out)


def _check_windows(cfg: DetectorConfig, label: str, index: int, desc: str) -> None:
    """The analysis windows must sit on bin edges (as :func:`d2oflux.detector.load_detector` requires)."""
    if cfg.response.model != "analytic":
        return
    reco = cfg.binning.reco_energy_MeV.to_edges()
    problem = misaligned_window_edge(cfg.analysis, reco, cfg.binning.time_ns.to_edges())
    if problem is not None:
        raise ConfigError(f"scan '{label}': point {index} ({desc}): {problem}; align the window with the binning")


def _keep_mass_and_geometry(det: dict, base: dict, values: dict[str, Any]) -> None:
    """Scale a region's geometry with its scanned mass, or its mass with its scanned geometry; shells follow."""
    for i, region in enumerate(det["regions"]):
        name = region["name"]
        prefix = f"regions.{name}."
        mass_scanned = f"{prefix}mass_kg" in values
        geom_scanned = any(k.startswith(f"{prefix}geometry.") for k in values)
        old = base["regions"][i].get("geometry")
        mass = region.get("mass_kg")
        if not isinstance(mass, int | float) or not mass > 0:
            continue  # invalid: the configuration's validation names it
        if old is None or mass_scanned == geom_scanned:
            continue  # nothing to keep consistent, or both given by the user
        old_g = Geometry.model_validate(old)
        if mass_scanned:
            factor = (region["mass_kg"] / base["regions"][i]["mass_kg"]) ** (1.0 / 3.0)
            new = dict(region["geometry"])
            for key in LENGTH_KEYS:
                if new.get(key):
                    new[key] = new[key] * factor
            if new.get("size_cm") is not None:
                new["size_cm"] = tuple(s * factor for s in new["size_cm"])
            region["geometry"] = new
        new_g = Geometry.model_validate(region["geometry"])
        if geom_scanned:
            region["mass_kg"] = base["regions"][i]["mass_kg"] * new_g.volume_cm3 / old_g.volume_cm3
        _follow_shells(det, base, name, old_g, new_g)


def _follow_shells(det: dict, base: dict, inner_name: str, old: Geometry, new: Geometry) -> None:
    """Regions wrapped around ``inner_name`` keep their wall thickness; their masses follow their volumes."""
    if old.shape != "cylinder":
        return
    for j, shell in enumerate(base["regions"]):
        g = shell.get("geometry")
        if shell["name"] == inner_name or g is None or g.get("shape") != "cylinder":
            continue
        wraps = (
            math.isclose(g.get("inner_radius_cm") or 0.0, old.radius_cm)
            and math.isclose(g.get("inner_height_cm") or 0.0, old.height_cm)
            and tuple(g.get("center_cm", (0, 0, 0))) == tuple(old.center_cm)
        )
        if not wraps:
            continue
        shell_old = Geometry.model_validate(g)
        updated = dict(g)
        updated["inner_radius_cm"] = new.radius_cm
        updated["inner_height_cm"] = new.height_cm
        updated["radius_cm"] = new.radius_cm + (g["radius_cm"] - g["inner_radius_cm"])
        updated["height_cm"] = new.height_cm + (g["height_cm"] - g["inner_height_cm"])
        shell_new = Geometry.model_validate(updated)
        det["regions"][j]["geometry"] = updated
        det["regions"][j]["mass_kg"] = shell["mass_kg"] * shell_new.volume_cm3 / shell_old.volume_cm3
        _follow_shells(det, base, shell["name"], shell_old, shell_new)


def _set(data: Any, steps: tuple, value: Any) -> None:
    for step in steps[:-1]:
        if isinstance(data, dict) and data.get(step) is None:
            data[step] = {}
        data = data[step]
    if isinstance(value, tuple):
        value = list(value)
    data[steps[-1]] = value


def _lookup(data: Any, steps: tuple) -> Any:
    for step in steps:
        if not isinstance(data, dict) or step not in data:
            return None
        data = data[step]
    return data


@lru_cache(maxsize=16)
def _facility_json(name: str) -> str:
    return json.dumps(load_facility(name).model_dump(mode="python"))


def _facility_data(name: str) -> dict:
    data = json.loads(_facility_json(name))
    data["yield_valid_GeV"] = tuple(float(x) for x in data["yield_valid_GeV"])
    return data


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(list(value)) if isinstance(value, tuple) else str(value)
