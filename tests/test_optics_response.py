"""The derived-response object: smearing matrix, cache round trip, figures (synthetic inputs, no simulation)."""

from __future__ import annotations

import numpy as np
import pytest

from d2oflux.optics.calibrate import calibrate, simulate_analytic_michel_pe
from d2oflux.optics.plots import (
    michel_closure_figure,
    optics_summary,
    pe_map_figure,
    resolution_figure,
    threshold_efficiency_figure,
)
from d2oflux.optics.response import DerivedResponse
from d2oflux.response import Response


def synthetic(y=8.0, n=4000, seed=1) -> DerivedResponse:
    # Poisson PE of mean y E: the derived response must reproduce Response.analytic with c = 0
    rng = np.random.default_rng(seed)
    e = np.array([5.0, 10.0, 20.0, 30.0, 40.0, 52.8, 60.0])
    pe = rng.poisson(y * e[:, None], size=(e.size, n)).astype(float)
    m = rng.poisson(30 * y, 500).astype(float)
    return DerivedResponse(
        e, pe, 0.1 * pe, rng.poisson(30 * y, 100).astype(float), m, 35 * np.sqrt(rng.random(500)),
        140 * rng.random(500) - 70, 35.0, 70.0, 1e6, 1.0, "test", "test QE", 12, "numba-wavefront",
    )  # fmt: skip


def test_matrix_matches_poisson_analytic_response():
    r = synthetic()
    vis = np.linspace(0, 60, 241)
    reco = np.linspace(0, 60, 25)
    derived = r.to_response(vis, reco, threshold_MeV=5.0)
    analytic = Response.analytic(vis, reco, light_yield_pe_per_MeV=r.light_yield_pe_per_MeV,
                                 resolution_constant=0.0, threshold_MeV=5.0)  # fmt: skip
    # rows above 10 MeV: the MC mean/spread of 4000 Poisson events per energy, ~1 % on sigma
    rows = (vis[:-1] > 10) & (vis[:-1] < 58)
    assert np.abs(derived.matrix[rows] - analytic.matrix[rows]).max() < 0.02
    assert r.light_yield_pe_per_MeV == pytest.approx(8.0, rel=0.003)
    assert r.resolution_at(30.0) == pytest.approx(1 / np.sqrt(240.0), rel=0.05)


def test_save_load_round_trip(tmp_path):
    r = synthetic()
    p = tmp_path / "x.npz"
    r.save(p)
    back = DerivedResponse.load(p)
    assert np.array_equal(back.pe, r.pe) and back.digest == r.digest
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_figures_and_summary():
    r = synthetic()
    cal = calibrate(simulate_analytic_michel_pe(5000, 8.0, 0.1, seed=2))
    for fig in (pe_map_figure(r), resolution_figure(r), threshold_efficiency_figure(r), michel_closure_figure(cal)):
        assert fig.axes
    d = optics_summary(r, cal)
    assert d["n_pmts"] == 12 and "michel" in d


def test_build_accepts_the_largest_allowed_seed():
    # regression: the build derived each step's seed as seed * 1000 + step, beyond the kernels' int64 for
    # seeds >= ~9.2e15 that the configuration accepts (an OverflowError traceback)
    from d2oflux.errors import SEED_LIMIT
    from d2oflux.optics.config import OpticsConfig
    from d2oflux.optics.response import build_response

    build = {"events_per_energy": 10, "map_events": 10, "energies_MeV": [5.0, 10.0], "seed": SEED_LIMIT - 1}
    r = build_response(OpticsConfig.model_validate({"build": build}))
    assert r.pe.shape == (2, 10) and np.all(r.pe[1] > 0)
