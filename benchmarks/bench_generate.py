"""Benchmark: event-generation throughput for nu_e d -> e- p p with full kinematics, one core.

Run: python benchmarks/bench_generate.py [--events 5000000] [--chunk 1000000] [--repeat 5]

Prints events per second for
* sampling only: neutrino energy (flux x sigma), time, vertex in the D2O cylinder, direction from the
  source, electron energy (GT + pp FSI table) and angle (1 - beta/3 cos x pp phase space, rejection),
  the pp pair decayed in its rest frame, everything in lab four-vectors (d2oflux.generate.events);
* sampling + writing: the whole d2oflux.generate.generate() call to .parquet (and, on a smaller sample,
  .root and .hepmc3), including the one-time table set-up;
* the peak resident memory of this process (streaming: it does not grow with --events).
Next to the sampling rate, measured in the same run: the floor set by numpy alone, the rate at which the same
generator merely fills as many uniform doubles per event as a sampled chunk holds floating-point numbers (no
sampler can beat writing its own output; the ratio is the cost of the physics).

Goal (issue): >= 1e6 events/s for sampling. Pin to one core with e.g. ``taskset -c 0`` and
``OMP_NUM_THREADS=1`` (numpy's random and elementwise code is single-threaded anyway).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from d2oflux.detector import load_detector
from d2oflux.generate import generate
from d2oflux.generate.core import draw_counts
from d2oflux.generate.events import ChunkSampler
from d2oflux.generate.plan import make_plan
from d2oflux.source import Source, load_facility


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=5_000_000, help="events for the end-to-end parquet run")
    ap.add_argument("--chunk", type=int, default=1_000_000, help="events per chunk")
    ap.add_argument("--repeat", type=int, default=5, help="timed sampling chunks (after one warm-up)")
    args = ap.parse_args()

    det = load_detector("d2o-module1")
    src = Source(load_facility("sns-fts"))

    t0 = time.perf_counter()
    plan = make_plan(det, src, None, n_events=args.chunk, channels=["nue_d_cc"])
    rng = np.random.Generator(np.random.PCG64(1))
    _, counts, weights = draw_counts(plan, rng)
    sampler = ChunkSampler(plan, weights)
    chunk = sampler.chunk(counts, 0, rng)  # warm-up: builds the energy and kinematics tables
    t_setup = time.perf_counter() - t0
    floats_per_event = sum(v[0].size for v in chunk.values() if v.dtype.kind == "f")
    del chunk
    times, floor = [], []
    for _ in range(args.repeat):  # interleaved, so that both see the same machine load
        t0 = time.perf_counter()
        sampler.chunk(counts, 0, rng)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        rng.random((args.chunk, floats_per_event))
        floor.append(time.perf_counter() - t0)
    times, floor = np.array(times), np.array(floor)
    print(f"nu_e d -> e- p p, full kinematics, chunks of {args.chunk:,} events (set-up {t_setup:.2f} s)")
    print(
        f"  sampling only        : {args.chunk / np.median(times) / 1e6:6.2f} M events/s median, "
        f"{args.chunk / times.min() / 1e6:.2f} best of {args.repeat}   [goal: >= 1 M events/s]"
    )
    print(
        f"  numpy floor          : {args.chunk / np.median(floor) / 1e6:6.2f} M events/s median "
        f"(rng.random, {floats_per_event} doubles per event); sampling takes "
        f"{np.median(times) / np.median(floor):.1f}x its time"
    )

    with tempfile.TemporaryDirectory() as tmp:
        for fmt, n in (("parquet", args.events), ("root", args.events // 5), ("hepmc3", 20_000)):
            out = Path(tmp) / f"bench.{fmt}"
            t0 = time.perf_counter()
            generate(
                det,
                src,
                None,
                n_events=n,
                channels=["nue_d_cc"],
                seed=1,
                output=out,
                chunk_size=args.chunk,
                progress=False,
            )
            dt = time.perf_counter() - t0
            size = out.stat().st_size / n
            print(
                f"  sampling + {fmt:<8}: {n / dt / 1e6:6.3f} M events/s ({n:,} events, {dt:.2f} s, "
                f"{size:.0f} bytes/event)"
            )
            out.unlink()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak resident memory : {peak_mb:.0f} MB (chunks of {args.chunk:,})")


if __name__ == "__main__":
    main()
