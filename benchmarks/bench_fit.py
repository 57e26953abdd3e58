"""Benchmark: the flux fit and toy throughput, d2oflux's vectorised fitter vs pyhf (numpy + minuit).

Run: python benchmarks/bench_fit.py [--ntoys 10000] [--check 20]

Prints, measured in the same run on the same workspace (d2o-module1, 1 SNS-year):
* one Asimov fit with uncertainties: pyhf.infer.mle.fit (numpy backend, minuit optimiser) vs d2oflux;
* toy fits per second: d2oflux.fit_batch on --ntoys toys, and pyhf on a sample of them;
* agreement with pyhf of the flux normalisation and its uncertainty on --check toys (target 1e-3 relative).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyhf

from d2oflux.analysis.fitter import fit_batch, fit_minuit
from d2oflux.analysis.likelihood import NumpyModel
from d2oflux.analysis.model import build_model
from d2oflux.analysis.toys import draw_toys
from d2oflux.detector import load_detector
from d2oflux.source import Exposure, Source, load_facility


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ntoys", type=int, default=10000)
    ap.add_argument("--check", type=int, default=20)
    args = ap.parse_args()

    fac = load_facility("sns-fts")
    t0 = time.perf_counter()
    model = build_model(load_detector("d2o-module1"), Source(fac, True), Exposure.from_years(fac, 1.0))
    t_build = time.perf_counter() - t0
    spec = model.workspace
    nm = NumpyModel.from_workspace(spec)
    pm = pyhf.Workspace(spec).model()
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=1e-6, strategy=2))
    print(f"model: {len(nm.parameters)} parameters, {nm.n_bins} bins; built in {t_build:.2f} s")

    asimov = np.concatenate([nm.asimov(), np.zeros(len(pm.config.auxdata))])
    t0 = time.perf_counter()
    ref = pyhf.infer.mle.fit(asimov, pm, return_uncertainties=True)
    t_pyhf = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = fit_batch(nm, nm.asimov())
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    mres = fit_minuit(nm, nm.asimov())
    t_minuit = time.perf_counter() - t0
    i = pm.config.poi_index
    print("\none Asimov fit (flux_norm, uncertainty, wall time):")
    print(f"  pyhf numpy+minuit      {ref[i][0]:.6f} +- {ref[i][1]:.6f}   {t_pyhf * 1e3:8.1f} ms")
    print(
        f"  d2oflux fit_minuit     {mres.values[0]:.6f} +- {mres.errors[0]:.6f}   {t_minuit * 1e3:8.1f} ms"
        f"   (MIGRAD+HESSE+MINOS)"
    )
    print(
        f"  d2oflux fit_batch      {ours.theta[0, 0]:.6f} +- {ours.errors[0, 0]:.6f}   {t_ours * 1e3:8.1f} ms"
        f"   speed-up vs pyhf x{t_pyhf / t_ours:.0f}"
    )

    rng = np.random.default_rng(2026)
    data, aux = draw_toys(nm, args.ntoys, rng)
    t0 = time.perf_counter()
    fits = [fit_batch(nm, data[s : s + 1000], aux[s : s + 1000]) for s in range(0, args.ntoys, 1000)]
    t_toys = time.perf_counter() - t0
    mu = np.concatenate([f.theta[:, 0] for f in fits])
    err = np.concatenate([f.errors[:, 0] for f in fits])
    conv = np.concatenate([f.converged for f in fits])
    print(
        f"\n{args.ntoys} toy fits with d2oflux.fit_batch: {t_toys:.1f} s ({args.ntoys / t_toys:.0f} fits/s), "
        f"{conv.mean() * 100:.2f} % converged   [goal: 10,000 in < 60 s]"
    )

    worst_mu = worst_err = 0.0
    t0 = time.perf_counter()
    for k in range(args.check):
        auxdata = [aux[k, nm.index(n)] for n in pm.config.auxdata_order]
        r = pyhf.infer.mle.fit(np.concatenate([data[k], auxdata]), pm, return_uncertainties=True)
        worst_mu = max(worst_mu, abs(mu[k] / r[i][0] - 1))
        worst_err = max(worst_err, abs(err[k] / r[i][1] - 1))
    t_check = (time.perf_counter() - t0) / max(args.check, 1)
    print(
        f"pyhf on {args.check} of the same toys: {1 / t_check:.1f} fits/s "
        f"(d2oflux x{t_check * args.ntoys / t_toys:.0f} faster)"
    )
    print(
        f"largest relative difference to pyhf: flux_norm {worst_mu:.1e}, its uncertainty {worst_err:.1e} [goal: < 1e-3]"
    )


if __name__ == "__main__":
    main()
