"""Benchmark: optical-photon tracing rate, derived-response build, Michel calibration.

Run: python benchmarks/bench_optics.py [--photons 2000000] [--michel 100000] [--skip-build]

Prints, each next to its comparison:
* photons traced per second in the module (Cherenkov wavelengths after the QE culling, vertices uniform
  in the D2O, isotropic; Fresnel, absorption, Rayleigh, Tyvek until detection or loss), with 1 thread and
  with all threads, per wall-clock second and per CPU second (the machine is shared: the CPU-second figure
  is the per-core rate). Goal (issue 11): >= 1e7 per core. References: Geant4 optical transport
  ~1e5-1e6 photons/s per core (issue 11's figure); Mitsuba3 ("Optical Photon Simulation with Mitsuba3",
  core.ac.uk/works/148087243): 2e5 photons/s per CPU thread and 1.2e6 per GPU, quoted as 70x / 400x
  Geant4; Chroma (Seibert & LaTorre; B. Land, "Simulating optical physics with Chroma", ben.land, 2020):
  "up to 200x faster" on one GPU than comparable methods on one CPU;
* the Cherenkov photons those traced photons stand for (the detection probability is applied at
  creation: one traced photon represents 1 / <QE x CE> emitted photons);
* the full derived-response build for d2o-module1 (no cache), goal < 60 s on 2 cores;
* the Michel calibration of 1e5 events, goal < 5 s.
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np

from d2oflux.optics.calibrate import calibrate, simulate_analytic_michel_pe
from d2oflux.optics.config import OpticsConfig
from d2oflux.optics.geometry import build_geometry
from d2oflux.optics.photons import trace_batch, volumes_of, wavelength_index
from d2oflux.optics.response import build_response, isotropic_directions, uniform_in_cylinder


def cherenkov_wavelengths(geom, rng, n):
    """Wavelengths of Cherenkov photons (1/lambda^2) that survive the QE x CE culling, and the survival rate."""
    lo, hi = geom.wavelengths_nm[0], geom.wavelengths_nm[-1]
    out, tried = [], 0
    pmax = geom.detect_prob.max()
    while sum(len(o) for o in out) < n:
        m = 4 * n
        lam = 1 / (1 / lo - rng.random(m) * (1 / lo - 1 / hi))
        keep = rng.random(m) * pmax < geom.detect_prob[wavelength_index(geom, lam)]
        out.append(lam[keep])
        tried += m
    lam = np.concatenate(out)
    return lam[:n], len(lam) / tried * pmax


def trace_rate(geom, n, threads, seed=1):
    rng = np.random.default_rng(seed)
    pos = uniform_in_cylinder(rng, n, geom.cylinders[0, 0], geom.cylinders[0, 2])
    d = isotropic_directions(rng, n)
    lam, _ = cherenkov_wavelengths(geom, rng, n)
    il = wavelength_index(geom, lam)
    vol = volumes_of(pos, geom.cylinders)
    numba.set_num_threads(threads)
    args = (geom.cylinders, geom.tables, geom.pmts, geom.reflectivity, geom.diffuse, 4096)
    trace_batch(pos[:1000], d[:1000], il[:1000], vol[:1000], seed, *args)  # warm-up / compile
    c0, w0 = time.process_time(), time.perf_counter()
    hit = trace_batch(pos, d, il, vol, seed, *args)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return n / wall, n / cpu, float((hit >= 0).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photons", type=int, default=2_000_000)
    ap.add_argument("--michel", type=int, default=100_000)
    ap.add_argument("--skip-build", action="store_true", help="skip the full response build")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared machine)")
    geom = build_geometry(OpticsConfig())
    _, accept = cherenkov_wavelengths(geom, np.random.default_rng(0), 10_000)
    nthreads = numba.config.NUMBA_NUM_THREADS
    for k in sorted({1, nthreads}):
        wall, cpu, det = trace_rate(geom, args.photons, k)
        print(
            f"photon tracing, {k} thread(s): {wall:.3g} photons/s wall, {cpu:.3g} photons/s per CPU second "
            f"(detected fraction {det:.3f}); = {cpu / accept:.3g} emitted Cherenkov photons/s per CPU second "
            f"(mean QE x CE {accept:.3f}) | goal 1e7 per core; Geant4 ~1e5-1e6 per core; Mitsuba3 2e5 per CPU "
            "thread, 1.2e6 per GPU; Chroma up to ~200x one CPU"
        )
    numba.set_num_threads(nthreads)
    if not args.skip_build:
        c0, w0 = time.process_time(), time.perf_counter()
        r = build_response(OpticsConfig())
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        print(
            f"response build d2o-module1 ({r.pe.size + r.center_pe.size + r.map_pe.size} electrons, "
            f"{r.photons_traced:.3g} photons): {wall:.1f} s wall, {cpu:.1f} CPU s on {nthreads} threads "
            f"| goal < 60 s on 2 cores; light yield {r.light_yield_pe_per_MeV:.2f} PE/MeV"
        )
    pe = simulate_analytic_michel_pe(args.michel, 7.0, 0.3, seed=3)
    calibrate(pe[:1000])  # warm-up: imports, the Michel template
    w0 = time.perf_counter()
    cal = calibrate(pe)
    print(
        f"Michel calibration of {args.michel} events: {time.perf_counter() - w0:.2f} s "
        f"(Y = {cal.light_yield:.3f} +- {cal.light_yield_error:.3f}, true 7) | goal < 5 s"
    )


if __name__ == "__main__":
    main()
