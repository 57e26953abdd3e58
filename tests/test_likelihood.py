"""The numpy likelihood and fitters against pyhf + iminuit, and against analytic limits."""

import numpy as np
import pyhf
import pytest

from d2oflux.analysis.fitter import fit_batch, fit_minuit
from d2oflux.analysis.likelihood import NumpyModel
from d2oflux.analysis.toys import draw_toys


def toy_spec(sideband=500.0, with_syst=True):
    B = 30
    sig = 40 * np.exp(-np.linspace(0, 3, B))
    bkg = np.full(B, 4.0)
    sig_mods = [{"name": "mu", "type": "normfactor", "data": None}]
    bkg_mods = [{"name": "bn", "type": "normfactor", "data": None}]
    if with_syst:
        sig_mods += [
            {"name": "xs", "type": "normsys", "data": {"hi": 1.05, "lo": 0.96}},
            {
                "name": "scale",
                "type": "histosys",
                "data": {
                    "hi_data": list(sig * np.linspace(0.9, 1.1, B)),
                    "lo_data": list(sig * np.linspace(1.08, 0.93, B)),
                },
            },
        ]
        bkg_mods += [{"name": "eff", "type": "normsys", "data": {"hi": 1.02, "lo": 0.98}}]
    side = np.full(5, sideband)
    return {
        "channels": [
            {
                "name": "beam",
                "samples": [
                    {"name": "sig", "data": list(sig), "modifiers": sig_mods},
                    {"name": "bkg", "data": list(bkg), "modifiers": bkg_mods},
                ],
            },
            {
                "name": "side",
                "samples": [
                    {
                        "name": "bkg",
                        "data": list(side),
                        "modifiers": [{"name": "bn", "type": "normfactor", "data": None}],
                    }
                ],
            },
        ],
        "observations": [{"name": "beam", "data": list(sig + bkg)}, {"name": "side", "data": list(side)}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


def to_pyhf_pars(pm, nm, theta):
    out = np.zeros(len(theta))
    for name in nm.parameters:
        out[pm.config.par_slice(name)] = theta[nm.index(name)]
    return out


def test_expected_and_nll_equal_pyhf():
    spec = toy_spec()
    pm = pyhf.Workspace(spec).model()
    nm = NumpyModel.from_workspace(spec)
    rng = np.random.default_rng(3)
    data = nm.observed
    offsets = []
    for _ in range(20):
        # both sides of the +-1 boundaries of the code-4 / code-4p interpolations
        theta = nm.init + rng.normal(0, 1.0, nm.init.size)
        theta[nm.index("mu")] = abs(theta[nm.index("mu")])
        theta[nm.index("bn")] = abs(theta[nm.index("bn")])
        pars = to_pyhf_pars(pm, nm, theta)
        assert np.allclose(pm.expected_actualdata(pars), nm.expected(theta)[0], rtol=1e-12)
        full = np.concatenate([data, np.zeros(len(pm.config.auxdata))])
        offsets.append(-pm.logpdf(pars, full)[0] - nm.nll(theta, data)[0])
    # NLLs differ only by parameter-independent constants (log n!, Gaussian normalisation)
    assert np.ptp(offsets) < 1e-8


def test_gradient_matches_finite_differences():
    nm = NumpyModel.from_workspace(toy_spec())
    theta = nm.init + 0.3
    g = nm.gradient(theta[None], nm.observed)[0]
    for p in range(theta.size):
        h = 1e-6
        up, dn = theta.copy(), theta.copy()
        up[p] += h
        dn[p] -= h
        num = (nm.nll(up, nm.observed)[0] - nm.nll(dn, nm.observed)[0]) / (2 * h)
        assert g[p] == pytest.approx(num, rel=1e-5, abs=1e-6)


def test_batch_fits_agree_with_pyhf_minuit():
    spec = toy_spec()
    pm = pyhf.Workspace(spec).model()
    nm = NumpyModel.from_workspace(spec)
    data, aux = draw_toys(nm, 8, np.random.default_rng(11))
    fit = fit_batch(nm, data, aux)
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=1e-6, strategy=2))
    for i in range(len(data)):
        auxdata = [aux[i, nm.index(n)] for n in pm.config.auxdata_order]
        ref = pyhf.infer.mle.fit(np.concatenate([data[i], auxdata]), pm, return_uncertainties=True)
        mu, err = ref[pm.config.poi_index]
        # the agreement target: 1e-3 relative in the POI and its uncertainty
        assert fit.theta[i, 0] == pytest.approx(mu, rel=1e-3)
        assert fit.errors[i, 0] == pytest.approx(err, rel=1e-3)
    one = fit_minuit(nm, data[0], aux[0])
    assert one.values[0] == pytest.approx(fit.theta[0, 0], rel=1e-4)
    down, up = one.poi_minos
    assert 0.8 < down / one.errors[0] < 1.2 and 0.8 < up / one.errors[0] < 1.2


def test_background_free_stat_only_is_one_over_sqrt_n():
    # one sample, one normfactor: sigma_mu = 1/sqrt(N) exactly (Poisson Fisher information N at mu = 1)
    N = np.array([100.0, 300.0, 600.0])
    spec = {
        "channels": [
            {
                "name": "c",
                "samples": [
                    {"name": "s", "data": list(N), "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]}
                ],
            }
        ],
        "observations": [{"name": "c", "data": list(N)}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }
    nm = NumpyModel.from_workspace(spec)
    fit = fit_batch(nm, nm.asimov())
    assert fit.theta[0, 0] == pytest.approx(1.0, abs=1e-9)
    assert fit.errors[0, 0] == pytest.approx(1 / np.sqrt(N.sum()), rel=1e-6)


def test_asimov_returns_injected_and_systematics_never_help():
    with_s = NumpyModel.from_workspace(toy_spec(with_syst=True))
    without = NumpyModel.from_workspace(toy_spec(with_syst=False))
    a = fit_batch(with_s, with_s.asimov())
    b = fit_batch(without, without.asimov())
    assert np.allclose(a.theta[0], with_s.init, atol=1e-6)
    assert a.errors[0, 0] >= b.errors[0, 0]


def test_sideband_constrains_background():
    errs = []
    for side in (50.0, 500.0, 5000.0):
        nm = NumpyModel.from_workspace(toy_spec(sideband=side))
        errs.append(fit_batch(nm, nm.asimov()).errors[0, nm.index("bn")])
    assert errs[0] > errs[1] > errs[2]


def test_unsupported_modifier_is_rejected():
    spec = toy_spec()
    spec["channels"][0]["samples"][0]["modifiers"].append({"name": "lumi", "type": "lumi", "data": None})
    with pytest.raises(ValueError, match="not supported"):
        NumpyModel.from_workspace(spec)
