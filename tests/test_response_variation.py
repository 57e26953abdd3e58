"""Energy-scale and resolution nuisances act on a tabulated response (they used to do nothing: pulls 0 +- 1)."""

from __future__ import annotations

import numpy as np
import pytest

from d2oflux.analysis.model import build_model
from d2oflux.detector import load_detector
from d2oflux.response import Response
from d2oflux.response_variation import smear_reco, stretch_reco
from d2oflux.source import Exposure, Source, load_facility

VIS = np.linspace(0.0, 60.0, 241)
RECO = np.linspace(0.0, 60.0, 121)


def analytic(**kw) -> Response:
    return Response.analytic(VIS, RECO, light_yield_pe_per_MeV=15.0, resolution_constant=0.05, **kw)


def test_stretched_table_matches_the_analytic_scale():
    # second method: the analytic response built with energy_scale = 1.03
    moved = stretch_reco(analytic(), 1.03).matrix
    ref = analytic(energy_scale=1.03).matrix
    means = (moved * RECO[None, 1:]).sum(axis=1), (ref * RECO[None, 1:]).sum(axis=1)
    inside = (VIS[1:] > 10) & (VIS[1:] < 50)
    np.testing.assert_allclose(means[0][inside], means[1][inside], rtol=2e-3)


def test_smeared_table_widens_like_a_larger_constant_term():
    base = analytic()
    wider = smear_reco(base, 0.05).matrix
    ref = Response.analytic(VIS, RECO, light_yield_pe_per_MeV=15.0, resolution_constant=np.hypot(0.05, 0.05)).matrix
    c = 0.5 * (RECO[1:] + RECO[:-1])

    def sd(m):
        mu = (m * c).sum(axis=1) / m.sum(axis=1)
        return np.sqrt((m * c * c).sum(axis=1) / m.sum(axis=1) - mu**2)

    i = np.searchsorted(VIS, 30.0)
    assert sd(wider)[i] == pytest.approx(sd(ref)[i], rel=0.03)  # 2.5 MeV binning limits the comparison
    narrower = smear_reco(base, -0.05).matrix
    assert sd(narrower)[i] < sd(base.matrix)[i]
    np.testing.assert_allclose(narrower.sum(axis=1), base.matrix.sum(axis=1), atol=1e-9)


def test_table_response_nuisances_act_in_the_model(tmp_path):
    det = load_detector("d2o-module1")
    resp = det.response
    np.savez(
        tmp_path / "m.npz",
        visible_edges_MeV=resp.visible_edges_MeV,
        reco_edges_MeV=resp.reco_edges_MeV,
        matrix=resp.matrix,
        efficiency=resp.efficiency,
    )
    text = det.toml_text.replace('model = "analytic"', 'model = "table"\nfile = "m.npz"', 1)
    assert 'model = "table"' in text
    (tmp_path / "det.toml").write_text(text)
    table_det = load_detector(tmp_path / "det.toml")
    fac = load_facility("sns-fts")
    model = build_model(table_det, Source(fac, True), Exposure.from_years(fac, 1.0))
    signal = next(s for s in model.workspace["channels"][0]["samples"] if s["name"] == "nue_d_cc")
    for name in ("energy_scale", "energy_resolution"):
        mod = next(m for m in signal["modifiers"] if m["name"] == name)
        assert np.abs(np.subtract(mod["data"]["hi_data"], mod["data"]["lo_data"])).max() > 0.1, name
