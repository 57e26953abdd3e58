"""Benchmark: optical-photon tracing rate (wavefront vs scalar kernel), derived-response build, Michel calibration.

Run: python benchmarks/bench_optics.py [--photons 1000000] [--michel 100000] [--skip-build]

What "photons traced" means here: **traced photon histories**. Each is one optical photon followed from
its emission point until it is detected on a photocathode or lost (absorbed in a medium or on the liner,
or stopped by a PMT body). Photons start uniform in the D2O, isotropic, with Cherenkov wavelengths
(1/lambda^2) that survived the QE x collection-efficiency culling applied at creation (drawn as the showers
draw them; exact for the expectation: the detection probability does not depend on the path). One traced
history therefore stands for 1 / <QE x CE> emitted Cherenkov photons. Geant4 and Chroma transport every
emitted photon and apply the QE at the photocathode, so their published rates are in emitted photons; that
equivalent is printed too, labelled as such.

Prints, each next to its comparison, measured in the same run on the same photons (interleaved, best of
two runs each, so that both kernels see the same machine load):
* traced histories per CPU second (= per core; the machine is shared, so wall-clock rates understate it)
  and per wall second, with 1 thread and with all threads, for the vectorised wavefront kernel (the
  default backend) and the scalar reference kernel; the steps per history, the CPU time per step, and
  the detected fractions (which must agree: same physics). Goal (issue 11): >= 1e7 photons traced per
  second per core. References: Geant4 optical transport ~1e5-1e6 photons/s per core (issue 11's figure);
  Mitsuba3 ("Optical Photon Simulation with Mitsuba3", core.ac.uk/works/148087243): 2e5 photons/s per CPU
  thread and 1.2e6 per GPU; Chroma (Seibert & LaTorre; B. Land, "Simulating optical physics with Chroma",
  ben.land, 2020): "up to 200x faster" on one GPU than comparable methods on one CPU, i.e. ~2e7-2e8 per GPU
  from the Geant4 figure; Opticks (S. Blyth, J. Phys. Conf. Ser. 898 (2017) 042001): "expected to exceed
  1000 times Geant4" on workstation GPUs;
* the full derived-response build for d2o-module1 (no cache) with each backend, goal < 60 s on 2 cores;
* the Michel calibration of 1e5 events, goal < 5 s.
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np

from d2oflux.optics._wavefront import photon_keys
from d2oflux.optics.calibrate import calibrate, simulate_analytic_michel_pe
from d2oflux.optics.config import OpticsConfig
from d2oflux.optics.geometry import build_geometry
from d2oflux.optics.photons import trace_batch, trace_wavefront_batch, volumes_of, wavefront_geometry
from d2oflux.optics.response import build_response, isotropic_directions, uniform_in_cylinder
from d2oflux.optics.tracks import cherenkov_sampler

GOAL = 1e7  # traced photons per second per core (issue 11)


def detectable_fraction(geom) -> float:
    """Mean QE x CE over the 1/lambda^2 Cherenkov spectrum: the fraction of emitted photons that are traced."""
    _, wsum = cherenkov_sampler(geom.detect_prob, geom.lambda_min_nm, geom.lambda_step_nm)
    lo, hi = geom.wavelengths_nm[0], geom.wavelengths_nm[-1]
    return wsum / (1 / lo - 1 / hi)


def photons(geom, n, seed=1):
    """``n`` photons uniform in the D2O, isotropic, with wavelength bins drawn as the showers draw them
    (the alias table of the detectable Cherenkov spectrum)."""
    rng = np.random.default_rng(seed)
    pos = uniform_in_cylinder(rng, n, geom.cylinders[0, 0], geom.cylinders[0, 2])
    d = isotropic_directions(rng, n)
    table, _ = cherenkov_sampler(geom.detect_prob, geom.lambda_min_nm, geom.lambda_step_nm)
    u = rng.random(n) * table.shape[1]
    k = np.minimum(u.astype(np.int64), table.shape[1] - 1)
    il = np.where(u - k < table[0, k], k, table[1, k].astype(np.int64))
    return pos, d, il, volumes_of(pos, geom.cylinders)


def trace_rate(kernel: str, geom, src, threads: int) -> dict:
    """Trace the photons ``src`` with ``kernel`` on ``threads`` threads; rates per wall and CPU second."""
    pos, d, il, vol = src
    n = len(pos)
    numba.set_num_threads(threads)
    if kernel == "wavefront":
        wg = wavefront_geometry(geom)
        keys = photon_keys(1, 0, n)

        def run(k):
            return trace_wavefront_batch(wg, pos[:k], d[:k], il[:k], vol[:k], keys[:k], threads=threads)
    else:
        args = (geom.cylinders, geom.tables, geom.pmts, geom.reflectivity, geom.diffuse, 4096)

        def run(k):
            return trace_batch(pos[:k], d[:k], il[:k], vol[:k], 1, *args)

    run(1000)  # warm-up / compile
    c0, w0 = time.process_time(), time.perf_counter()
    hit, steps = run(n)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {
        "wall": n / wall,
        "cpu": n / cpu,
        "detected": float((hit >= 0).mean()),
        "steps": float(steps.mean()),
        "n": n,
    }


def report(label: str, r: dict, accept: float) -> str:
    per_step = 1e9 / (r["cpu"] * r["steps"])
    p = r["detected"]
    err = (p * (1 - p) / r["n"]) ** 0.5
    return (
        f"  {label:<22} {r['cpu']:9.3g} histories/s per CPU s, {r['wall']:9.3g} per wall s; {r['steps']:.2f} steps, "
        f"{per_step:5.1f} ns per step; detected fraction {p:.4f} +- {err:.4f}; "
        f"= {r['cpu'] / accept:.3g} emitted Cherenkov photons/s per CPU s"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photons", type=int, default=1_000_000)
    ap.add_argument("--michel", type=int, default=100_000)
    ap.add_argument("--skip-build", action="store_true", help="skip the full response build")
    args = ap.parse_args()
    geom = build_geometry(OpticsConfig())
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start (shared machine)")
    accept = detectable_fraction(geom)
    nthreads = numba.config.NUMBA_NUM_THREADS
    src = photons(geom, args.photons)
    print(
        f"photon tracing, d2o-module1: {args.photons} traced photon histories (Cherenkov wavelengths after the "
        f"QE x CE culling, mean QE x CE {accept:.3f}: one history = {1 / accept:.1f} emitted photons) | goal "
        f"{GOAL:.0e} per core; Geant4 ~1e5-1e6 per core; Mitsuba3 2e5 per CPU thread, 1.2e6 per GPU; Chroma up "
        "to ~200x one CPU per GPU; Opticks >1000x Geant4 per GPU"
    )
    best_wavefront = 0.0
    for k in sorted({1, nthreads}):
        runs = {"scalar": [], "wavefront": []}
        for kernel in ("scalar", "wavefront", "scalar", "wavefront"):  # interleaved
            runs[kernel].append(trace_rate(kernel, geom, src, k))
        scalar, wave = (max(runs[x], key=lambda r: r["cpu"]) for x in ("scalar", "wavefront"))
        best_wavefront = max(best_wavefront, wave["cpu"])
        print(f" {k} thread(s):")
        print(report("scalar (reference):", scalar, accept))
        print(report("wavefront (default):", wave, accept))
        print(f"  speed-up per CPU second: {wave['cpu'] / scalar['cpu']:.2f}x (best of two runs each)")
    numba.set_num_threads(nthreads)
    verdict = "met" if best_wavefront >= GOAL else "NOT met"
    print(
        f"goal {GOAL:.0e} traced photon histories/s per core: {verdict} ({best_wavefront:.3g}); in emitted "
        f"Cherenkov photons (Geant4's unit): {best_wavefront / accept:.3g} per core"
    )
    print(f"load average {os.getloadavg()[0]:.1f} after the tracing runs")
    if not args.skip_build:
        for backend in ("numba-wavefront", "numba-scalar"):  # the default, then the reference in the same run
            c0, w0 = time.process_time(), time.perf_counter()
            r = build_response(OpticsConfig(), backend=backend)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            sel = r.energies_MeV >= 10.0  # the energies light_yield_pe_per_MeV averages over
            err = np.sqrt((r.pe_std[sel] ** 2 / r.pe.shape[1]).sum()) / r.energies_MeV[sel].sum()
            print(
                f"response build d2o-module1, {backend} ({r.pe.size + r.center_pe.size + r.map_pe.size} "
                f"electrons, {r.photons_traced:.3g} photons): {wall:.1f} s wall, {cpu:.1f} CPU s on {nthreads} "
                f"threads | goal < 60 s on 2 cores; light yield {r.light_yield_pe_per_MeV:.3f} +- {err:.3f} (MC) "
                "PE/MeV (the two backends must agree within their MC errors)"
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
