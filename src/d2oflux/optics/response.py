"""The response derived from the optical model: PE vs energy and position, resolution, threshold efficiency.

:func:`derived_response` simulates electrons uniformly in the heavy water (isotropic directions) at a grid
of energies, plus 30 MeV electrons at the centre and a uniform sample for the PE map, through
:mod:`d2oflux.optics.tracks`, and stores the result in a cache keyed by a hash of the optical
configuration (``$D2OFLUX_CACHE_DIR``, else the user cache folder from platformdirs, which follows
``$XDG_CACHE_HOME``: ``~/.cache/d2oflux/optics``). Files are written atomically.

:meth:`DerivedResponse.to_response` turns it into the smearing matrix of :class:`d2oflux.response.Response`:
reconstructed energy = PE / Y with Y the volume-averaged light yield, a Gaussian of the simulated mean
and spread of the PE at each energy (interpolated), optionally an extra constant term and an energy scale.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.special import ndtr

from ..errors import SEED_LIMIT, ConfigError
from ..response import Response
from .config import OpticsConfig
from .geometry import OpticalGeometry, build_geometry
from .photons import DEFAULT_BACKEND, get_backend

MODEL_VERSION = "5"  # bump when the physics changes: invalidates cached responses
#: Comparison only (never tuned to): the collaboration's public analysis code for the twin light-water
#: module shows Michel spectra reaching ~800 PE at the 52.8 MeV endpoint, i.e. ~15 PE/MeV.
PUBLIC_ANALYSIS_PE_PER_MEV = 15.0
MAP_ENERGY_MEV = 30.0


@dataclass
class DerivedResponse:
    """Result of the optical simulation of electrons in the heavy water.

    Attributes
    ----------
    energies_MeV : array
        Electron kinetic energies simulated [MeV].
    pe : array (n_energies, n_events)
        Photo-electrons of each event, vertices uniform in the D2O, isotropic directions.
    pe_h2o : array like ``pe``
        The part of ``pe`` from light emitted in the light water.
    center_pe : array
        PE of ``MAP_ENERGY_MEV`` electrons starting at the centre.
    map_pe, map_r_cm, map_z_cm : arrays
        PE and vertex (radius, height) of ``MAP_ENERGY_MEV`` electrons uniform in the D2O (the PE map).
    photons_traced, build_seconds : float
        Optical photons traced during the build, and its wall time.
    trace_cpu_seconds : float
        CPU time of the photon tracing alone, summed over threads (NaN for the scalar kernel).
    digest, qe_source, n_pmts, backend : provenance.
    """

    energies_MeV: np.ndarray
    pe: np.ndarray
    pe_h2o: np.ndarray
    center_pe: np.ndarray
    map_pe: np.ndarray
    map_r_cm: np.ndarray
    map_z_cm: np.ndarray
    d2o_radius_cm: float
    d2o_half_height_cm: float
    photons_traced: float
    build_seconds: float
    digest: str
    qe_source: str
    n_pmts: int
    backend: str
    trace_cpu_seconds: float = float("nan")

    @property
    def pe_mean(self) -> np.ndarray:
        return self.pe.mean(axis=1)

    @property
    def pe_std(self) -> np.ndarray:
        return self.pe.std(axis=1, ddof=1)

    @property
    def light_yield_pe_per_MeV(self) -> float:
        """Volume-averaged light yield: total PE over total energy of the electrons of >= 10 MeV."""
        sel = self.energies_MeV >= 10.0
        return float(self.pe_mean[sel].sum() / self.energies_MeV[sel].sum())

    @property
    def light_yield_center_pe_per_MeV(self) -> float:
        return float(self.center_pe.mean() / MAP_ENERGY_MEV)

    def resolution_at(self, energy_MeV: float) -> float:
        """sigma(PE) / mean(PE) at ``energy_MeV`` (interpolated in the simulated energies)."""
        return float(np.interp(energy_MeV, self.energies_MeV, self.pe_std / self.pe_mean))

    @property
    def light_water_fraction(self) -> float:
        """Fraction of the PE of D2O events that comes from light emitted in the light water."""
        return float(self.pe_h2o.sum() / max(self.pe.sum(), 1.0))

    def threshold_efficiency(self, threshold_MeV: float) -> np.ndarray:
        """Fraction of events with PE / Y above ``threshold_MeV``, per simulated energy."""
        return (self.pe / self.light_yield_pe_per_MeV >= threshold_MeV).mean(axis=1)

    @property
    def photons_traced_per_second(self) -> float:
        """Photons traced per second of the build's wall time (showers included, all threads)."""
        return self.photons_traced / max(self.build_seconds, 1e-9)

    @property
    def photon_histories_per_cpu_second(self) -> float | None:
        """Photons traced per CPU second of tracing alone, i.e. per core (None if not measured)."""
        t = self.trace_cpu_seconds
        return self.photons_traced / t if np.isfinite(t) and t > 0 else None

    def pe_map(self, n_r: int = 5, n_z: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean PE/MeV in bins of r^2 (equal volumes) and z: (r edges [cm], z edges [cm], map (n_r, n_z))."""
        r_edges = self.d2o_radius_cm * np.sqrt(np.linspace(0, 1, n_r + 1))
        z_edges = np.linspace(-self.d2o_half_height_cm, self.d2o_half_height_cm, n_z + 1)
        s, _, _ = np.histogram2d(self.map_r_cm, self.map_z_cm, [r_edges, z_edges], weights=self.map_pe)
        c, _, _ = np.histogram2d(self.map_r_cm, self.map_z_cm, [r_edges, z_edges])
        return r_edges, z_edges, np.divide(s, c * MAP_ENERGY_MEV, out=np.full_like(s, np.nan), where=c > 0)

    def to_response(
        self,
        visible_edges_MeV: np.ndarray,
        reco_edges_MeV: np.ndarray,
        *,
        energy_scale: float = 1.0,
        resolution_constant: float = 0.0,
        threshold_MeV: float = 0.0,
        efficiency: float = 1.0,
        visible_particles: tuple[str, ...] = ("electron", "positron", "gamma"),
    ) -> Response:
        """The smearing matrix: Gaussian in PE / Y with the simulated mean and spread at each energy.

        ``resolution_constant`` is an extra relative term added in quadrature (0: the derived resolution
        alone); ``energy_scale`` multiplies the mean; ``threshold_MeV`` cuts on reconstructed energy.
        """
        vis = np.asarray(visible_edges_MeV, dtype=float)
        reco = np.asarray(reco_edges_MeV, dtype=float)
        Y = self.light_yield_pe_per_MeV
        e_knots = np.concatenate([[0.0], self.energies_MeV])
        mu_knots = np.concatenate([[0.0], self.pe_mean])
        var_knots = np.concatenate([[0.0], self.pe_std**2])
        x, w = np.polynomial.legendre.leggauss(4)
        half = 0.5 * np.diff(vis)
        E = 0.5 * (vis[1:] + vis[:-1])[:, None] + half[:, None] * x[None, :]
        mu = _interp_extrapolate(E, e_knots, mu_knots)
        var = np.maximum(_interp_extrapolate(E, e_knots, var_knots), 0.0)
        mean = energy_scale * mu / Y
        sigma = np.sqrt(var / Y**2 + (resolution_constant * E) ** 2)
        sigma = np.maximum(sigma, 1e-9)
        upper = np.maximum(reco, threshold_MeV)
        cdf = ndtr((upper[None, None, :] - mean[..., None]) / sigma[..., None])
        matrix = np.einsum("k,ikj->ij", 0.5 * w, np.diff(cdf, axis=-1))
        return Response(vis, reco, matrix, np.full(vis.size - 1, float(efficiency)), tuple(visible_particles))

    def summary(self, threshold_MeV: float = 5.0) -> dict:
        """The numbers of the response as a JSON-ready dict."""
        return {
            "light_yield_pe_per_MeV": self.light_yield_pe_per_MeV,
            "light_yield_center_pe_per_MeV": self.light_yield_center_pe_per_MeV,
            "resolution_at_30MeV": self.resolution_at(30.0),
            "resolution_at_52.8MeV": self.resolution_at(52.8),
            "light_water_fraction": self.light_water_fraction,
            "threshold_MeV": threshold_MeV,
            "threshold_efficiency": dict(
                zip(
                    [f"{e:g}" for e in self.energies_MeV],
                    self.threshold_efficiency(threshold_MeV).tolist(),
                    strict=True,
                )
            ),
            "energies_MeV": self.energies_MeV.tolist(),
            "pe_mean": self.pe_mean.tolist(),
            "pe_std": self.pe_std.tolist(),
            "photons_traced": self.photons_traced,
            "photons_traced_per_second": self.photons_traced_per_second,
            "photon_histories_per_cpu_second": self.photon_histories_per_cpu_second,
            "build_seconds": self.build_seconds,
            "n_pmts": self.n_pmts,
            "qe_source": self.qe_source,
            "backend": self.backend,
            "config_digest": self.digest,
            "comparison": {
                "public_analysis_code_pe_per_MeV": PUBLIC_ANALYSIS_PE_PER_MEV,
                "public_analysis_code_michel_endpoint_pe": 800.0,
                "this_model_michel_endpoint_pe": self.light_yield_pe_per_MeV * 52.8,
                "note": "comparison only: the public number is for the twin light-water module; not tuned to",
            },
        }

    # --- persistence ------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write as NPZ, whole or not at all (:func:`d2oflux.outputs.atomic_file`; the cache folder is ours)."""
        from ..outputs import atomic_file

        path.parent.mkdir(parents=True, exist_ok=True)
        d = asdict(self)
        arrays = {k: v for k, v in d.items() if isinstance(v, np.ndarray)}
        meta = {k: v for k, v in d.items() if not isinstance(v, np.ndarray)}
        with atomic_file(path, "optics cache", is_ours=lambda p: True) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load(cls, path: Path) -> DerivedResponse:
        with np.load(path) as f:
            meta = json.loads(str(f["meta"]))
            arrays = {k: np.asarray(f[k]) for k in f.files if k != "meta"}
        return cls(**arrays, **meta)


def _interp_extrapolate(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Linear interpolation, extrapolated linearly beyond the last knot."""
    y = np.interp(x, xp, fp)
    slope = (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    return np.where(x > xp[-1], fp[-1] + slope * (x - xp[-1]), y)


def cache_dir() -> Path:
    """Folder of cached optical responses: ``$D2OFLUX_CACHE_DIR`` or the platform's user cache folder."""
    env = os.environ.get("D2OFLUX_CACHE_DIR")
    if env:
        return Path(env) / "optics"
    import platformdirs

    return Path(platformdirs.user_cache_dir("d2oflux")) / "optics"


def config_digest(cfg: OpticsConfig) -> str:
    return f"v{MODEL_VERSION}-{cfg.digest()}"


def uniform_in_cylinder(rng: np.random.Generator, n: int, radius: float, half_height: float) -> np.ndarray:
    """``n`` points uniform in a vertical cylinder centred on the origin [cm]."""
    r = radius * np.sqrt(rng.random(n))
    phi = 2 * np.pi * rng.random(n)
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), half_height * (2 * rng.random(n) - 1)])


def isotropic_directions(rng: np.random.Generator, n: int) -> np.ndarray:
    d = rng.normal(size=(n, 3))
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def build_response(cfg: OpticsConfig, *, progress: bool = False, backend: str = DEFAULT_BACKEND) -> DerivedResponse:
    """Simulate the derived response (no cache). See the module docstring."""
    from tqdm import tqdm

    geom = build_geometry(cfg)
    b = cfg.build
    be = get_backend(backend)
    rng = np.random.default_rng(b.seed)
    radius, half = geom.cylinders[0, 0], geom.cylinders[0, 2]
    energies = np.asarray(b.energies_MeV, dtype=float)
    pe = np.empty((energies.size, b.events_per_energy))
    pe_h2o = np.empty_like(pe)
    traced = 0.0
    seconds = 0.0
    trace_cpu = 0.0
    steps = [*energies, "centre", "map"]
    for k, what in enumerate(tqdm(steps, desc="optical response", disable=not progress, file=sys.stderr)):
        if what == "centre":
            n, e = max(b.events_per_energy // 2, 10), MAP_ENERGY_MEV
            pos = np.zeros((n, 3))
        elif what == "map":
            n, e = b.map_events, MAP_ENERGY_MEV
            pos = uniform_in_cylinder(rng, n, radius, half)
        else:
            n, e = b.events_per_energy, float(what)
            pos = uniform_in_cylinder(rng, n, radius, half)
        dirs = isotropic_directions(rng, n)
        t0 = time.perf_counter()
        # the step's seed, within the kernels' [0, 2^63) for every allowed build seed (unchanged below ~9e15)
        out = be.simulate_events(geom, 0, np.full(n, e), pos, dirs, (b.seed * 1000 + k) % SEED_LIMIT)
        seconds += time.perf_counter() - t0
        traced += float(out["photons_traced"].sum())
        trace_cpu += float(out["trace_cpu_seconds"])
        if what == "centre":
            center = out["pe"]
        elif what == "map":
            map_pe, map_pos = out["pe"], pos
        else:
            pe[k], pe_h2o[k] = out["pe"], out["pe_h2o"]
    return DerivedResponse(
        energies, pe, pe_h2o, center, map_pe, np.hypot(map_pos[:, 0], map_pos[:, 1]), map_pos[:, 2],
        float(radius), float(half), traced, seconds, config_digest(cfg), geom.qe_source, len(geom.pmts),
        be.name, trace_cpu,
    )  # fmt: skip


def derived_response(cfg: OpticsConfig, *, progress: bool = False, rebuild: bool = False) -> DerivedResponse:
    """The cached derived response for ``cfg`` (built and cached when missing or ``rebuild``)."""
    path = cache_dir() / f"{config_digest(cfg)}.npz"
    if path.is_file() and not rebuild:
        try:
            return DerivedResponse.load(path)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unreadable cache entry (e.g. an older layout): rebuild it
    result = build_response(cfg, progress=progress)
    try:
        result.save(path)
    except (OSError, ConfigError):  # a read-only or full cache folder, or another d2oflux writing there
        pass
    return result


def cache_path(cfg: OpticsConfig) -> Path:
    return cache_dir() / f"{config_digest(cfg)}.npz"


__all__ = ["DerivedResponse", "OpticalGeometry", "build_response", "cache_dir", "derived_response"]
