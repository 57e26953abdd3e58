"""Optical-photon transport: numba kernels, and the backend interface a GPU implementation would follow.

A photon is traced from its emission point until it is absorbed in a medium, absorbed by the liner,
lost, or reaches a PMT photocathode disc. Physics per step:

* absorption and Rayleigh scattering sampled as exponential free paths (lengths per volume and
  wavelength from :mod:`d2oflux.optics.materials`); Rayleigh angular distribution ``1 + cos^2``;
* at the D2O/acrylic and acrylic/H2O interfaces, Fresnel reflection for unpolarised light (the mean
  of the s and p reflectances) and Snell refraction, total internal reflection above the critical angle;
* on the liner, reflection with the configured probability, Lambertian (Tyvek) or specular;
* detection on a PMT disc hit from its facing side. The wavelength-dependent detection probability
  (QE x collection efficiency) is applied when a photon is created (Russian-roulette with the same
  expectation: the probability does not depend on the photon's path, so culling early is exact).

Random numbers: xorshift64* streams seeded per event or per chunk of photons with splitmix64, so the
numbers do not depend on how the work is split among threads (same seed, same result).

The kernels themselves are in :mod:`d2oflux.optics._kernels` (all numba kernels share one module so
that numba's per-file cache never keeps a stale copy of a kernel another one calls); the speed-ups
used there, none of which changes the physics, are listed in its docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numba
import numpy as np

from ._kernels import (  # noqa: F401  (re-exported: the photon-transport kernels)
    EPS,
    MAX_STEPS,
    azimuth,
    enter_cylinder,
    exit_cylinder,
    fresnel_reflectance,
    isotropic,
    normal,
    photon_table,
    pmt_planes,
    poisson,
    rotate,
    rotate_cs,
    seed_state,
    splitmix64,
    trace_chunks,
    trace_photon,
    uniform,
    volume_of,
    volumes_of,
)
from .geometry import OpticalGeometry

# --- parallel driver ----------------------------------------------------------------------------


def run_in_threads(n_items: int, work: Callable[[int, int], None], block: int) -> None:
    """Call ``work(first, last)`` over ``range(n_items)`` in blocks of ``block``, on numba's thread count.

    The kernels release the GIL (``nogil=True``), so threads run them in parallel; blocks are handed out
    as threads become free (balanced). Results do not depend on the split: each kernel seeds its random
    stream from the item index. Plain threads rather than ``prange``: the same speed, without the ~15 s
    of parallel-loop compilation on a cold numba cache.
    """
    starts = range(0, n_items, block)
    threads = min(numba.get_num_threads(), len(starts))
    if threads <= 1:
        for a in starts:
            work(a, min(a + block, n_items))
        return
    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(work, a, min(a + block, n_items)) for a in starts]:
            f.result()


def trace_batch(pos, dirs, il, vol, seed, cyl, tables, pmts, refl, diffuse, chunk):
    """Trace a batch of photons: the PMT index (or -1) of each, and the steps each took.

    Chunks of ``chunk`` photons share a random stream (seeded from ``seed`` and the chunk's index).
    """
    n = pos.shape[0]
    out = np.empty(n, dtype=np.int32)
    steps = np.empty(n, dtype=np.int32)
    optab = photon_table(tables)
    planes, discs = pmt_planes(pmts)

    def work(first, last):
        trace_chunks(first, last, chunk, pos, dirs, il, vol, seed, cyl, optab, planes, discs, refl, diffuse, out, steps)

    run_in_threads((n + chunk - 1) // chunk, work, 1)
    return out, steps


# --- backends -----------------------------------------------------------------------------------


class PhotonBackend(Protocol):
    """What a transport backend provides (a GPU implementation would subclass this interface)."""

    name: str

    def trace(self, geom: OpticalGeometry, pos: np.ndarray, dirs: np.ndarray, wavelength_nm: np.ndarray,
              seed: int, apply_detection_probability: bool = False) -> np.ndarray:  # fmt: skip
        """PMT index reached by each photon (-1: none); optionally then QE x collection efficiency."""
        ...

    def simulate_events(self, geom: OpticalGeometry, kinds: np.ndarray, energies_MeV: np.ndarray,
                        pos: np.ndarray, dirs: np.ndarray, seed: int) -> dict[str, np.ndarray]:  # fmt: skip
        """Full events (particle showers -> light -> PE); see :mod:`d2oflux.optics.tracks`."""
        ...


class NumbaCPUBackend:
    """The multi-threaded CPU backend (numba ``prange``)."""

    name = "numba-cpu"

    def trace(self, geom, pos, dirs, wavelength_nm, seed, apply_detection_probability=False):
        pos = np.ascontiguousarray(pos, dtype=float)
        dirs = np.ascontiguousarray(dirs, dtype=float)
        dirs = np.ascontiguousarray(dirs / np.linalg.norm(dirs, axis=1, keepdims=True))
        il = wavelength_index(geom, np.broadcast_to(wavelength_nm, (len(pos),)))
        vol = volumes_of(pos, geom.cylinders)
        if np.any(vol < 0):
            raise ValueError("photon start points outside the liner")
        hit, _ = trace_batch(
            pos, dirs, il, vol, int(seed), geom.cylinders, geom.tables, geom.pmts, geom.reflectivity,
            geom.diffuse, 4096,
        )  # fmt: skip
        if apply_detection_probability:
            u = np.random.default_rng([int(seed), 1]).random(len(hit))
            hit = np.where(u < geom.detect_prob[il], hit, -1)
        return hit

    def simulate_events(self, geom, kinds, energies_MeV, pos, dirs, seed):
        from .tracks import simulate_events

        return simulate_events(geom, kinds, energies_MeV, pos, dirs, seed)


def wavelength_index(geom: OpticalGeometry, wavelength_nm) -> np.ndarray:
    """Index of each wavelength on the geometry's grid (nearest bin, clipped)."""
    lam = np.broadcast_to(np.asarray(wavelength_nm, dtype=float), (np.size(wavelength_nm),))
    i = np.rint((lam - geom.lambda_min_nm) / geom.lambda_step_nm).astype(np.int64)
    return np.clip(i, 0, geom.detect_prob.size - 1)


BACKENDS: dict[str, type] = {"numba-cpu": NumbaCPUBackend}


def get_backend(name: str = "numba-cpu") -> PhotonBackend:
    """The transport backend by name (only ``"numba-cpu"`` exists today)."""
    return BACKENDS[name]()
