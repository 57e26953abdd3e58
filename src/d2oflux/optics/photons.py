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

Two implementations of this physics, behind one :class:`PhotonBackend` interface:

* ``numba-wavefront`` (the default): :mod:`d2oflux.optics._wavefront`, batches of photons advanced a step
  at a time by vectorised, branch-free passes in single precision (about 2.5x the scalar kernel per core);
  particle showers record their photons first, which are then traced as one batch (as GPU tracers do);
* ``numba-scalar``: :mod:`d2oflux.optics._kernels`, one photon at a time in double precision, traced where
  it is emitted. It is kept as the reference the wavefront kernel is tested against.

Both derive each photon's random numbers from the seed and the photon's (or primary's) index only, so the
numbers do not depend on how the work is split among threads (same seed, same result per backend).
The scalar kernels share one module (numba's per-file cache never keeps a stale copy of a kernel another
one calls); the wavefront module calls nothing outside itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
from ._wavefront import MAX_PLANES, photon_keys, trace_wavefront
from .geometry import OpticalGeometry

#: Photons advanced together by the wavefront kernel (fits the core's L2 cache; measured fastest).
LANES = 2048

# --- parallel driver ----------------------------------------------------------------------------


def run_in_threads(n_items: int, work: Callable[[int, int], None], block: int) -> None:
    """Call ``work(first, last)`` over ``range(n_items)`` in blocks of ``block``, on numba's thread count.

    The kernels release the GIL (``nogil=True``), so threads run them in parallel; blocks are handed out
    as threads become free (balanced). Results do not depend on the split: each kernel seeds its random
    streams from item indices. Plain threads rather than ``prange``: the same speed, without the ~15 s
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
    """Scalar kernel: trace a batch of photons; the PMT index (or -1) of each, and the steps each took.

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


# --- the wavefront kernel's view of the geometry ---------------------------------------------------


@dataclass(frozen=True)
class WavefrontGeometry:
    """Single-precision arrays :func:`d2oflux.optics._wavefront.trace_wavefront` reads (see its module)."""

    cylinders: np.ndarray
    plane_z: np.ndarray
    planes: np.ndarray
    grid: np.ndarray
    discs: np.ndarray
    optab: np.ndarray
    reflectivity: np.ndarray
    diffuse: bool

    def args(self) -> tuple:
        return (self.cylinders, self.plane_z, self.planes, self.grid, self.discs, self.optab, self.reflectivity,
                self.diffuse)  # fmt: skip


#: Most grid cells along each side of a PMT plane: bounds the look-up grid's memory (512^2 cells x slots x
#: 4 bytes per plane) for small photocathodes, at the cost of more candidate discs per cell.
MAX_GRID_CELLS = 512


def pmt_grid(planes: np.ndarray, discs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A look-up grid per PMT plane: ``rows[j] = [z, x0, y0, 1/cell]`` [cm] and ``grid[j, iy, ix, :]`` the
    discs touching cell (ix, iy), -1 padded (as many slots as the most crowded cell needs).

    The cell side is half the smallest photocathode radius (a cell then touches at most three discs that
    do not overlap), or larger when that would need more than :data:`MAX_GRID_CELLS` cells along a side.
    """
    n_planes = planes.shape[0]
    if n_planes == 0:
        return np.zeros((0, 4), np.float32), np.full((0, 1, 1, 1), -1, np.int32)
    rows = []
    for j in range(n_planes):
        d = discs[int(planes[j, 1]) : int(planes[j, 2])]
        r = np.sqrt(d[:, 3])
        x0, y0 = (d[:, 0] - r).min(), (d[:, 1] - r).min()
        extent = max((d[:, 0] + r).max() - x0, (d[:, 1] + r).max() - y0)
        rows.append((planes[j, 0], x0, y0, extent))
    extent = max(r[3] for r in rows)
    cell = max(math.sqrt(discs[:, 3].min()) / 2, extent / (MAX_GRID_CELLS - 1))
    n_cells = min(math.ceil(extent / cell) + 1, MAX_GRID_CELLS)
    members: list[list[tuple[np.ndarray, np.ndarray, int]]] = []
    filled = np.zeros((n_planes, n_cells, n_cells), np.int64)
    for j, (_z, x0, y0, _e) in enumerate(rows):
        cx = x0 + cell * np.arange(n_cells)
        cy = y0 + cell * np.arange(n_cells)
        members.append([])
        for k in range(int(planes[j, 1]), int(planes[j, 2])):
            xk, yk, r2 = discs[k, 0], discs[k, 1], discs[k, 3]
            gx = np.maximum(np.maximum(cx - xk, xk - cx - cell), 0.0)  # distance from the centre to each cell
            gy = np.maximum(np.maximum(cy - yk, yk - cy - cell), 0.0)
            iy, ix = np.nonzero(gy[:, None] ** 2 + gx[None, :] ** 2 <= r2 * (1 + 1e-6))
            members[j].append((iy, ix, k))
            filled[j, iy, ix] += 1
    grid = np.full((n_planes, n_cells, n_cells, max(int(filled.max()), 1)), -1, np.int32)
    filled[:] = 0
    for j, plane in enumerate(members):
        for iy, ix, k in plane:
            grid[j, iy, ix, filled[j, iy, ix]] = k
            filled[j, iy, ix] += 1
    table = np.array([(z, x0, y0, 1.0 / cell) for z, x0, y0, _e in rows], dtype=np.float32)
    return table, grid


def wavefront_geometry(geom: OpticalGeometry) -> WavefrontGeometry | None:
    """The geometry as the wavefront kernel reads it, or None if its PMTs lie on more than ``MAX_PLANES``
    heights (the vectorised pass tests at most that many; such layouts use the scalar kernel)."""
    planes, discs = pmt_planes(geom.pmts)
    if planes.shape[0] > MAX_PLANES:
        return None
    table, grid = pmt_grid(planes, discs)
    plane_z = np.full(MAX_PLANES, 1e30, np.float32)
    plane_z[: len(table)] = table[:, 0]
    return WavefrontGeometry(
        geom.cylinders.astype(np.float32), plane_z, table, grid, discs.astype(np.float32),
        photon_table(geom.tables).astype(np.float32), geom.reflectivity.astype(np.float32), bool(geom.diffuse),
    )  # fmt: skip


def trace_wavefront_batch(wg: WavefrontGeometry, pos, dirs, il, vol, keys, lanes: int = LANES, threads: int = 0):
    """Wavefront kernel: trace photons (their stream keys ``keys``, uint64) on ``threads`` threads (0:
    numba's thread count). Returns the PMT index (or -1) of each and the steps each took."""
    n = len(pos)
    pos = np.ascontiguousarray(pos, dtype=np.float32)
    dirs = np.ascontiguousarray(dirs, dtype=np.float32)
    il = np.ascontiguousarray(il, dtype=np.int32)
    vol = np.ascontiguousarray(vol, dtype=np.int32)
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    out = np.empty(n, np.int32)
    steps = np.empty(n, np.int32)
    threads = max(1, min(threads or numba.get_num_threads(), n // (4 * lanes)))
    block = -(-n // (4 * threads)) if threads > 1 else max(n, 1)  # 4 blocks per thread: balanced

    def work(a, b):
        trace_wavefront(pos[a:b], dirs[a:b], il[a:b], vol[a:b], keys[a:b], *wg.args(), lanes, out[a:b], steps[a:b])

    run_in_threads(n, work, block)
    return out, steps


# --- backends -----------------------------------------------------------------------------------


class PhotonBackend(Protocol):
    """What a transport backend provides (a GPU implementation would follow this interface)."""

    name: str

    def trace(self, geom: OpticalGeometry, pos: np.ndarray, dirs: np.ndarray, wavelength_nm: np.ndarray,
              seed: int, apply_detection_probability: bool = False) -> np.ndarray:  # fmt: skip
        """PMT index reached by each photon (-1: none); optionally then QE x collection efficiency."""
        ...

    def simulate_events(self, geom: OpticalGeometry, kinds: np.ndarray, energies_MeV: np.ndarray,
                        pos: np.ndarray, dirs: np.ndarray, seed: int) -> dict[str, np.ndarray]:  # fmt: skip
        """Full events (particle showers -> light -> PE); see :mod:`d2oflux.optics.tracks`."""
        ...


def photon_start(geom: OpticalGeometry, pos, dirs, wavelength_nm):
    """Validated start arrays: positions, unit directions, wavelength bins, volumes."""
    pos = np.ascontiguousarray(pos, dtype=float)
    dirs = np.ascontiguousarray(dirs, dtype=float)
    dirs = np.ascontiguousarray(dirs / np.linalg.norm(dirs, axis=1, keepdims=True))
    il = wavelength_index(geom, np.broadcast_to(wavelength_nm, (len(pos),)))
    vol = volumes_of(pos, geom.cylinders)
    if np.any(vol < 0):
        raise ValueError("photon start points outside the liner")
    return pos, dirs, il, vol


def detection_culled(geom, hit, il, seed, apply_detection_probability):
    if not apply_detection_probability:
        return hit
    u = np.random.default_rng([int(seed), 1]).random(len(hit))
    return np.where(u < geom.detect_prob[il], hit, -1)


class WavefrontCPUBackend:
    """The default CPU backend: the vectorised wavefront kernel, on numba's thread count."""

    name = "numba-wavefront"

    def trace(self, geom, pos, dirs, wavelength_nm, seed, apply_detection_probability=False):
        wg = wavefront_geometry(geom)
        if wg is None:
            return ScalarCPUBackend().trace(geom, pos, dirs, wavelength_nm, seed, apply_detection_probability)
        pos, dirs, il, vol = photon_start(geom, pos, dirs, wavelength_nm)
        hit, _ = trace_wavefront_batch(wg, pos, dirs, il, vol, photon_keys(int(seed), 0, len(pos)))
        return detection_culled(geom, hit, il, seed, apply_detection_probability)

    def simulate_events(self, geom, kinds, energies_MeV, pos, dirs, seed):
        from .tracks import simulate_events

        return simulate_events(geom, kinds, energies_MeV, pos, dirs, seed, wavefront=True)


class ScalarCPUBackend:
    """The reference CPU backend: one photon at a time, double precision (:mod:`d2oflux.optics._kernels`)."""

    name = "numba-scalar"

    def trace(self, geom, pos, dirs, wavelength_nm, seed, apply_detection_probability=False):
        pos, dirs, il, vol = photon_start(geom, pos, dirs, wavelength_nm)
        hit, _ = trace_batch(
            pos, dirs, il, vol, int(seed), geom.cylinders, geom.tables, geom.pmts, geom.reflectivity,
            geom.diffuse, 4096,
        )  # fmt: skip
        return detection_culled(geom, hit, il, seed, apply_detection_probability)

    def simulate_events(self, geom, kinds, energies_MeV, pos, dirs, seed):
        from .tracks import simulate_events

        return simulate_events(geom, kinds, energies_MeV, pos, dirs, seed, wavefront=False)


def wavelength_index(geom: OpticalGeometry, wavelength_nm) -> np.ndarray:
    """Index of each wavelength on the geometry's grid (nearest bin, clipped)."""
    lam = np.broadcast_to(np.asarray(wavelength_nm, dtype=float), (np.size(wavelength_nm),))
    i = np.rint((lam - geom.lambda_min_nm) / geom.lambda_step_nm).astype(np.int64)
    return np.clip(i, 0, geom.detect_prob.size - 1)


BACKENDS: dict[str, type] = {"numba-wavefront": WavefrontCPUBackend, "numba-scalar": ScalarCPUBackend}
DEFAULT_BACKEND = "numba-wavefront"


def get_backend(name: str = DEFAULT_BACKEND) -> PhotonBackend:
    """The transport backend by name (:data:`BACKENDS`)."""
    try:
        return BACKENDS[name]()
    except KeyError:
        raise ValueError(f"unknown photon backend {name!r}; expected one of {sorted(BACKENDS)}") from None
