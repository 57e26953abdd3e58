"""Electrons and gammas in the module: energy loss, multiple scattering, a shower model, and their light.

A parametrised condensed-history simulation, adequate for electrons and gammas up to ~60 MeV in water,
heavy water and acrylic (documented approximations, each with its source in
:mod:`d2oflux.optics.materials`):

* **collision loss**: continuous, Bethe formula for electrons (ICRU 37) with the density effect
  (Sternheimer-Berger-Seltzer parameters of liquid water). Delta rays are not produced separately
  (their energy is deposited along the primary; their own Cherenkov light, a few per cent, is neglected);
* **bremsstrahlung**: photons above ``K_CUT`` sampled from the complete-screening spectrum
  ``(1/X0)(1/k)(4/3 - 4/3 y + y^2)`` (PDG, Passage of particles through matter, eq. 34.29); below the cut, a
  continuous loss. Complete screening overestimates the radiative loss at 10 MeV by up to ~50 % (and
  by ~10 % at 50 MeV) compared with ESTAR: a documented approximation, affecting the light mostly through
  which electron (primary or Compton) emits it;
* **multiple scattering**: Gaussian angular deflection per step. Highland's width (PDG eq. 34.15) is not
  additive over steps (its logarithmic term depends on the whole thickness), so each step adds the increase
  of the squared Highland angle of the electron's path so far (:func:`highland_step_theta0`): at constant
  energy the steps add up to Highland for the whole path; the step's own energy enters each increment;
* **gammas**: exponential free path from the NIST XCOM attenuation of water scaled by electron density;
  Compton scattering (Klein-Nishina, sampled as in Butcher & Messel 1960) or pair production (the energy
  shared uniformly between the e- and the e+, both along the gamma; annihilation photons neglected).
  Below the pair threshold the non-Compton rest of the attenuation (coherent scattering in the XCOM total)
  lets the gamma go on undeflected; photoabsorption (< 2 % above 0.1 MeV in water) is neglected.
  Below 0.1 MeV a gamma deposits its energy locally;
* **light**: Cherenkov photons per step from the Frank-Tamm formula with the medium's n(lambda)
  (``dN/dx dlambda = 2 pi alpha / lambda^2 (1 - 1/(beta^2 n^2))``), on the Cherenkov cone around the
  step direction; scintillation (if configured) isotropic, ``Y dE / (1 + kB dE/dx)`` (Birks).

Electrons are followed to ``T_CUT`` (below the Cherenkov threshold in every medium) or to 50 keV in a
scintillating volume. The kernels are in :mod:`d2oflux.optics._kernels` (with the scalar photon transport:
numba's cache is per file, and they call each other).

With the wavefront backend (the default), a block of primaries first records its photons (start point,
direction, wavelength, volume); the block's photons are then traced together by
:func:`d2oflux.optics.photons.trace_wavefront_batch`, each with a random stream keyed by its primary's index
and its rank among that primary's photons, and the hits are summed per primary. The scalar backend traces
each photon where it is emitted.
"""

from __future__ import annotations

import time

import numpy as np

from ..constants import AVOGADRO
from ._kernels import (  # noqa: F401  (re-exported: the particle-transport kernels and constants)
    ALPHA,
    ELECTRON,
    GAMMA,
    K_CUT,
    MAX_STEP_CM,
    ME,
    RE_CM,
    STACK,
    T_CUT,
    T_CUT_SCINT,
    cherenkov_mean,
    cherenkov_sampler,
    cherenkov_wavelength,
    collision_stopping_power,
    count_cherenkov,
    emit_events,
    emit_light,
    events_range,
    highland_step_theta0,
    highland_theta0_squared,
    klein_nishina_sigma,
    max_index,
    photon_table,
    pmt_planes,
    run_event,
)
from ._wavefront import event_photon_keys
from .geometry import OpticalGeometry
from .materials import TRANSPORT, WATER_PHOTON_ATTENUATION
from .photons import LANES, run_in_threads, trace_wavefront_batch, wavefront_geometry

NA = AVOGADRO  # d2oflux.constants
EVENTS_PER_BLOCK = 8  # primaries per call of the scalar kernel (small: balanced threads, negligible call cost)
#: Wavefront backend: primaries per thread task, and the photon record's starting capacity (grows when one
#: primary's photons do not fit): large enough that each batch keeps the lanes full.
EVENTS_PER_TASK = 64
RECORD_PHOTONS = 1 << 17
# density effect of liquid water (Sternheimer, Berger & Seltzer 1984): -C, x0, x1, a, m
DENSITY_EFFECT = np.array([3.5017, 0.2400, 2.8004, 0.09116, 3.4773])


def transport_table(cylinder_materials=("D2O", "acrylic", "H2O")) -> np.ndarray:
    """Per volume: electrons per cm^3, I [MeV], X0 [cm], density [g/cm^3]."""
    rows = []
    for m in cylinder_materials:
        t = TRANSPORT[m]
        rows.append((t["density"] * t["z_over_a"] * NA, t["i_ev"] * 1e-6, t["x0_g_cm2"] / t["density"], t["density"]))
    return np.array(rows)


def water_electron_density() -> float:
    t = TRANSPORT["H2O"]
    return t["density"] * t["z_over_a"] * NA


def simulate_events(
    geom: OpticalGeometry, kinds, energies_MeV, pos, dirs, seed: int, *, wavefront: bool = True
) -> dict[str, np.ndarray]:
    """Simulate primaries (``kinds``: 0 electron, 1 gamma) of kinetic energies [MeV] at ``pos`` [cm].

    ``wavefront`` selects the photon transport: the vectorised batch kernel (default) or the scalar one
    (photons traced where they are emitted). The two give statistically equal results, not identical
    numbers: their random streams differ.

    Returns
    -------
    dict with ``pe`` (photo-electrons per event), ``pe_h2o`` (those from light emitted in the light
    water), ``photons_traced`` (photons created after the detection-probability culling, all traced) and
    ``trace_cpu_seconds`` (0-d: CPU time of the photon tracing alone, summed over threads; NaN for the
    scalar kernel, which traces each photon inside the shower simulation).
    """
    energies = np.ascontiguousarray(energies_MeV, dtype=float)
    n = energies.size
    kinds = np.ascontiguousarray(np.broadcast_to(kinds, (n,)), dtype=np.int64)
    pos = np.ascontiguousarray(np.broadcast_to(pos, (n, 3)), dtype=float)
    dirs = np.asarray(np.broadcast_to(dirs, (n, 3)), dtype=float)
    dirs = np.ascontiguousarray(dirs / np.linalg.norm(dirs, axis=1, keepdims=True))
    pmax = float(geom.detect_prob.max())
    if pmax <= 0.0:
        zero = np.zeros(n)
        return {"pe": zero, "pe_h2o": zero.copy(), "photons_traced": zero.copy(), "trace_cpu_seconds": np.array(0.0)}
    out = np.zeros((n, 3))
    optab = photon_table(geom.tables)
    planes, discs = pmt_planes(geom.pmts)
    args = (
        kinds, energies, pos, dirs, int(seed), geom.cylinders, optab, max_index(geom.tables), geom.detect_prob, pmax,
        geom.lambda_min_nm, geom.lambda_step_nm, planes, discs, geom.reflectivity, geom.diffuse, geom.scint,
        transport_table(), DENSITY_EFFECT, WATER_PHOTON_ATTENUATION[:, 0].copy(),
        WATER_PHOTON_ATTENUATION[:, 1].copy(), water_electron_density(),
    )  # fmt: skip
    wg = wavefront_geometry(geom) if wavefront else None
    trace_cpu: list[float] = []  # per task (list.append is atomic)
    if wg is None:
        run_in_threads(n, lambda first, last: events_range(first, last, *args, out), EVENTS_PER_BLOCK)
        trace_cpu.append(float("nan"))
    else:
        run_in_threads(
            n, lambda first, last: trace_cpu.append(_wavefront_events(first, last, args, wg, int(seed), out)),
            EVENTS_PER_TASK,
        )  # fmt: skip
    cpu = np.array(sum(trace_cpu))
    return {"pe": out[:, 0], "pe_h2o": out[:, 1], "photons_traced": out[:, 2], "trace_cpu_seconds": cpu}


def _wavefront_events(first: int, last: int, args: tuple, wg, seed: int, out: np.ndarray) -> float:
    """Primaries ``first .. last - 1``: record their photons, trace them as batches, sum the hits per primary.

    Runs in one thread (the threads share the primaries), so its traces use one thread each. Returns the
    thread's CPU time spent tracing [s]."""
    cap = RECORD_PHOTONS
    traced_cpu = 0.0
    rec = np.empty((cap, 8), np.float32)
    revent = np.empty(cap, np.int64)
    i = first
    while i < last:
        stop, m = emit_events(i, last, *args, rec, revent, out)
        if stop == i and m == 0:  # one primary's photons do not fit: a larger record
            cap *= 4
            rec = np.empty((cap, 8), np.float32)
            revent = np.empty(cap, np.int64)
            continue
        keys = event_photon_keys(seed, revent[:m])
        wl, vol = rec[:m, 6].astype(np.int32), rec[:m, 7].astype(np.int32)
        t0 = time.thread_time()
        hit, _ = trace_wavefront_batch(wg, rec[:m, 0:3], rec[:m, 3:6], wl, vol, keys, LANES, threads=1)
        traced_cpu += time.thread_time() - t0
        detected = hit >= 0
        span = stop - i
        out[i:stop, 0] = np.bincount(revent[:m] - i, weights=detected, minlength=span)[:span]
        out[i:stop, 1] = np.bincount(revent[:m] - i, weights=detected & (vol == 2), minlength=span)[:span]
        i = stop
    return traced_cpu
