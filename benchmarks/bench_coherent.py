"""Benchmark: COHERENT data sets: predictions, fits of one release each, a joint fit of D2O + two data sets.

Run: python benchmarks/bench_coherent.py [--data-dir ../shared/data/coherent]

Prints, measured in the same run (cold caches for the first prediction of each data set):
* load + CEvNS prediction of each release (target < 5 s), next to the published prediction;
* build + fit of each release (target < 5 s), next to the same workspace fitted by pyhf (numpy + minuit,
  flux fixed, background priors off in both: like for like) for time and the fitted cross section;
* a joint fit of a D2O module (1 SNS-year, Asimov) with both data sets (target < 10 s);
* the CsI 2021 fitted CEvNS count next to the published 306 +- 20, with the smallest error these templates allow
  (Cramer-Rao bound: Fisher information of the CEvNS count with every background fixed; docs/coherent.md).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pyhf

from d2oflux.analysis.model import build_model
from d2oflux.coherent.dataset import load_dataset
from d2oflux.coherent.fit import FLUX, POI, Likelihood, build_dataset_model, minimise
from d2oflux.coherent.joint import fit_models
from d2oflux.coherent.predict import predict_cevns
from d2oflux.detector import load_detector
from d2oflux.source import Exposure, Source, load_facility

DATASETS = ("coherent-csi-2021", "coherent-lar-2020")


def main() -> None:
    ap = argparse.ArgumentParser()
    default = os.environ.get("D2OFLUX_DATA_DIR") or str(Path(__file__).resolve().parents[2] / "shared/data/coherent")
    ap.add_argument("--data-dir", default=default)
    args = ap.parse_args()

    print("prediction of each release (load + predict; target < 5 s):")
    for name in DATASETS:
        t0 = time.perf_counter()
        ds = load_dataset(name, args.data_dir)
        n = predict_cevns(ds).sum()
        dt = time.perf_counter() - t0
        pub = ds.config.published["cevns_predicted"]
        print(f"  {name:<20} {n:7.1f} CEvNS (published {pub:g}, ratio {n / pub:.3f})   {dt:6.2f} s")

    print("\nfit of each release (build + fit; target < 5 s), and the same workspace in pyhf (flux fixed, no priors):")
    models = {}
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=1e-6))
    for name in DATASETS:
        t0 = time.perf_counter()
        m = build_dataset_model(load_dataset(name, args.data_dir))
        res = minimise(Likelihood([(m.name, m.numpy_model, m.numpy_model.observed, {})], m.priors))
        dt = time.perf_counter() - t0
        models[name] = m
        t1 = time.perf_counter()
        ours = minimise(Likelihood([(m.name, m.numpy_model, m.numpy_model.observed, {})], {}), fixed={FLUX: 1.0})
        t_ours = time.perf_counter() - t1
        pm = pyhf.Workspace(m.workspace).model()
        init = pm.config.suggested_init()
        fixed = pm.config.suggested_fixed()
        fixed[pm.config.par_map[FLUX]["slice"].start] = True
        data = np.concatenate([m.numpy_model.observed, pm.config.auxdata])
        t1 = time.perf_counter()
        ref = pyhf.infer.mle.fit(data, pm, init_pars=init, fixed_params=fixed, return_uncertainties=True)
        t_pyhf = time.perf_counter() - t1
        i = pm.config.poi_index
        print(
            f"  {name:<20} sigma/SM {res.value(POI):.4f} +- {res.error(POI):.4f}   {dt:6.2f} s total\n"
            f"  {'':<20} no priors: d2oflux {ours.value(POI):.5f} +- {ours.error(POI):.5f} in {t_ours * 1e3:7.1f} ms; "
            f"pyhf {ref[i][0]:.5f} +- {ref[i][1]:.5f} in {t_pyhf * 1e3:7.1f} ms"
        )

    print("\njoint fit: D2O module (1 SNS-year, Asimov) + both data sets (target < 10 s):")
    t0 = time.perf_counter()
    fac = load_facility("sns-fts")
    d2o = build_model(load_detector("d2o-module1"), Source(fac, True), Exposure.from_years(fac, 1.0))
    t_d2o = time.perf_counter() - t0
    joint_models = [build_dataset_model(load_dataset(n, args.data_dir)) for n in DATASETS]
    lik, res = fit_models(joint_models, d2o)
    dt = time.perf_counter() - t0
    print(
        f"  {len(lik.parameters)} parameters; flux_norm {res.value(FLUX):.4f} +- {res.error(FLUX):.4f}; "
        f"{dt:6.2f} s (of which D2O model {t_d2o:.2f} s); valid {res.valid}"
    )

    print("\nCsI 2021: fitted CEvNS events vs published, and the statistical floor of the templates:")
    from d2oflux.coherent.fit import fitted_events

    m = build_dataset_model(load_dataset("coherent-csi-2021", args.data_dir))
    lik = Likelihood([(m.name, m.numpy_model, m.numpy_model.observed, {})], m.priors)
    res = minimise(lik)
    ev = fitted_events(m, lik, lik.terms[0], res)
    fitted = {k: v["value"] / m.samples[k].sum() * m.samples[k] for k, v in ev.items()}
    lam = sum(fitted.values())
    shape = fitted["cevns"] / fitted["cevns"].sum()
    floor = 1.0 / np.sqrt(np.sum(shape**2 / lam))
    c = ev["cevns"]
    print(
        f"  fitted {c['value']:.1f} +- {c['error']:.1f} (published 306 +- 20); "
        f"Cramer-Rao floor with every background fixed: {floor:.1f} events"
    )


if __name__ == "__main__":
    main()
