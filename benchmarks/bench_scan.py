"""Benchmark of ``d2oflux scan``: per-configuration cost, Dask overhead vs multiprocessing, scaling, a full scan.

Prints each figure next to its goal or comparison, measured in the same run:

1. Asimov sensitivity per configuration (3 exposures, impacts, time-to-target) through the scan's evaluation,
   vs ``build_model`` + ``sensitivity`` (the single-configuration API with Newton fits). Goal: <= 50 ms.
2. Per-task overhead of Dask (LocalCluster, 1 process) vs a plain ``multiprocessing`` pool: empty tasks.
3. Scaling from 1 to 2 Dask workers on the same batches (after the workers are warm). Goal: >= 1.7x.
4. A whole scan of ``--configs`` configurations (Latin hypercube: distance, D2O mass, light yield, energy
   window) x 3 exposures with ``run_scan`` and 2 workers, start to end. Goal: 10^4 in under 10 minutes.

Usage: ``python benchmarks/bench_scan.py [--configs 10000] [--skip-full]``. State the machine's load with the
numbers: on a shared machine the scaling and the full-scan time depend on what else runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from d2oflux.analysis.model import build_model
from d2oflux.analysis.sensitivity import sensitivity
from d2oflux.detector import Detector
from d2oflux.scan.evaluate import evaluate_batch, evaluate_point
from d2oflux.scan.runner import run_scan
from d2oflux.scan.space import configure, iter_points, make_base
from d2oflux.scan.spec import parse_spec
from d2oflux.source import Exposure, Source

CPU_PER_CONFIG = 0.0


def bench_spec(n: int):
    data = {
        "scan": {"name": "bench", "detector": "d2o-module1", "years": [1.0, 3.0, 5.0], "seed": 7},
        "sampling": {"method": "lhs", "n": n},
        "parameters": {
            "distance_m": {"uniform": [18.0, 28.0]},
            "regions.d2o.mass_kg": {"loguniform": [300.0, 3000.0]},
            "response.light_yield_pe_per_MeV": {"uniform": [8.0, 30.0]},
            "analysis.energy_window_MeV": [[10.0, 55.0], [15.0, 55.0], [20.0, 55.0]],
        },
    }
    return parse_spec(data, "bench", Path.cwd())


def noop(x):
    return x


def per_configuration(base, points) -> None:
    configured = [configure(base, p) for p in points]
    evaluate_point(base, configured[0])  # warm the cross-section caches
    t = []
    cpu0 = time.process_time()
    for c in configured[1:]:
        t0 = time.perf_counter()
        evaluate_point(base, c)
        t.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / len(t)
    global CPU_PER_CONFIG
    CPU_PER_CONFIG = cpu
    ref = []
    for c in configured[1:11]:
        t0 = time.perf_counter()
        det = Detector(c.detector, "bench", "", Path.cwd())
        model = build_model(det, Source(c.facility, True), Exposure.from_years(c.facility, 1.0))
        sensitivity(model, [1.0, 3.0, 5.0])
        ref.append(time.perf_counter() - t0)
    print("1. Asimov sensitivity per configuration (3 exposures, impacts, time to 5/3/2 %)")
    print(
        f"   d2oflux scan evaluation: {1e3 * statistics.mean(t):6.1f} ms mean wall, {1e3 * np.median(t):6.1f} ms median"
        f" wall, {1e3 * cpu:6.1f} ms CPU"
    )
    print(f"   build_model + sensitivity (Newton fits): {1e3 * statistics.mean(ref):6.1f} ms   goal: scan <= 50 ms")


def overhead(n_tasks: int = 400) -> None:
    from distributed import Client, LocalCluster

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pool.map(noop, range(4))
        t0 = time.perf_counter()
        for r in [pool.apply_async(noop, (i,)) for i in range(n_tasks)]:
            r.get()
        t_pool = (time.perf_counter() - t0) / n_tasks
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            client.gather(client.map(noop, range(4), pure=False))
            t0 = time.perf_counter()
            client.gather([client.submit(noop, i, pure=False) for i in range(n_tasks)])
            t_dask = (time.perf_counter() - t0) / n_tasks
    print("2. Per-task overhead (empty tasks, 1 worker process)")
    print(f"   Dask distributed: {1e3 * t_dask:6.2f} ms/task   multiprocessing.Pool: {1e3 * t_pool:6.2f} ms/task")
    print(f"   per configuration in a scan task of 8 configurations of ~30 ms: {t_dask / 8 / 0.03:.1%} of its cost")


def scaling(base, points, batch: int = 8, repeats: int = 3) -> None:
    """Best of ``repeats`` timings per worker count (the fastest run is the least disturbed by other jobs)."""
    from distributed import Client, LocalCluster

    batches = [points[i : i + batch] for i in range(0, len(points), batch)]
    times: dict[int, list[float]] = {1: [], 2: []}
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
            with Client(cluster) as client:
                fb = client.scatter(base, broadcast=True)
                client.gather([client.submit(evaluate_batch, fb, points[:2], pure=False) for _ in range(2 * n)])
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    client.gather([client.submit(evaluate_batch, fb, b, pure=False) for b in batches])
                    times[n].append(time.perf_counter() - t0)
    t1, t2 = min(times[1]), min(times[2])
    print(f"3. Scaling, {len(points)} configurations in batches of {batch}, warm workers, best of {repeats}")
    print(f"   1 worker {t1:6.1f} s, 2 workers {t2:6.1f} s: speed-up {t1 / t2:.2f}x   goal: >= 1.7x")
    runs = {n: ", ".join(f"{t:.1f}" for t in times[n]) for n in times}
    print(f"   (all runs: 1 worker {runs[1]} s; 2 workers {runs[2]} s)")


def full(n: int) -> None:
    spec = bench_spec(n)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = run_scan(spec, Path(tmp) / "store", workers=2, max_points=10**7, progress=sys.stderr.isatty())
        wall = time.perf_counter() - t0
    print(f"4. Whole scan: {summary.computed} configurations x 3 exposures = {summary.rows_in_store} rows, 2 workers")
    per = 1e3 * wall / max(summary.computed, 1)
    print(f"   {wall:6.1f} s wall ({wall / 60:.2f} min, {per:.1f} ms per configuration)")
    print(f"   goal: 10^4 configurations in under 10 min (600 s); scaled to 10^4: {wall * 1e4 / n:.0f} s")
    if CPU_PER_CONFIG:
        print(
            f"   CPU-bound bound on 2 idle cores from part 1 ({1e3 * CPU_PER_CONFIG:.1f} ms CPU per configuration): "
            f"{CPU_PER_CONFIG * 1e4 / 2:.0f} s for 10^4"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=10_000)
    parser.add_argument("--skip-full", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min) at start")
    spec = bench_spec(200)
    base = make_base(spec)
    points = list(iter_points(spec))
    per_configuration(base, points[:51])
    overhead()
    scaling(base, points[:200])
    if not args.skip_full:
        full(args.configs)
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the end")


if __name__ == "__main__":
    main()
