"""The Spectrum type: pdf, cdf, mean, sampling and quadrature nodes, analytic and tabulated, against closed
forms and independent quadrature (docs/physics.md §2)."""

import numpy as np
import pytest
from scipy import integrate, stats

from d2oflux import constants as c
from d2oflux.errors import ConfigError
from d2oflux.source import Source, load_facility
from d2oflux.spectra import FluxTable, Spectrum, michel_pdf


@pytest.mark.parametrize(("flavour", "mean_over_mmu"), [("nu_e", 0.3), ("anti_nu_mu", 0.35), ("anti_nu_e", 0.3)])
def test_analytic_spectrum_mean_cdf_and_samples(flavour, mean_over_mmu):
    s = Spectrum(flavour)
    assert s.line_MeV is None and s.support_MeV == (0.0, c.E_MICHEL_MAX_MEV)
    # closed-form mean of a Michel spectrum: 0.3 m_mu (nu_e shape), 0.35 m_mu (anti-nu_mu); 1e-12 is rounding
    assert s.mean() == pytest.approx(mean_over_mmu * c.M_MU_MEV, rel=1e-12)
    # the cdf is the integral of the pdf (adaptive quadrature, accurate to 1e-10)
    for e in (5.0, 20.0, 40.0):
        assert s.cdf(e) == pytest.approx(integrate.quad(s.pdf, 0.0, e)[0], abs=1e-10)
    # samples follow the cdf: Kolmogorov-Smirnov at 2e4 samples (fixed seed; p > 0.01)
    sample = s.sample(np.random.default_rng(3), 20_000)
    assert stats.kstest(sample, s.cdf).pvalue > 0.01
    # the quadrature nodes integrate E against the spectrum exactly (Gauss-Legendre, cubic x linear)
    E, w = s.nodes()
    assert np.sum(w * E) == pytest.approx(s.mean(), rel=1e-12)


def test_prompt_line():
    s = Spectrum("nu_mu")
    assert s.line_MeV == pytest.approx(c.E_NUMU_PROMPT_MEV)
    assert np.all(s.sample(np.random.default_rng(1), 5) == s.line_MeV)
    assert s.mean() == s.line_MeV
    assert s.cdf(29.0) == 0.0 and s.cdf(30.0) == 1.0


def test_michel_formula_is_the_published_one():
    # f(E) = (192/m)(E/m)^2(1/2 - E/m) at E = m/4: (192/m)(1/16)(1/4) = 3/m
    assert michel_pdf("nu_e", c.M_MU_MEV / 4) == pytest.approx(3.0 / c.M_MU_MEV, rel=1e-14)
    # f(E) = (64/m)(E/m)^2(3/4 - E/m) at E = m/4: (64/m)(1/16)(1/2) = 2/m
    assert michel_pdf("anti_nu_mu", c.M_MU_MEV / 4) == pytest.approx(2.0 / c.M_MU_MEV, rel=1e-14)
    with pytest.raises(ConfigError, match="Michel shape"):
        michel_pdf("nu_mu", 10.0)


def test_tabulated_spectrum(tmp_path):
    # a triangular dN/dE on [10, 50] MeV peaking at 30: mean 30 MeV, cdf(30) = 1/2 (closed forms)
    path = tmp_path / "flux.csv"
    rows = ["E_MeV,nu_mu,nu_e,anti_nu_mu"] + [f"{e},{t},{t},{t}" for e, t in ((10, 0), (30, 1), (50, 0))]
    path.write_text("\n".join(rows) + "\n")
    src = Source(load_facility(), flux_table=FluxTable.read(path))
    s = src.spectrum("nu_e")
    assert s.support_MeV == (10.0, 50.0)
    assert s.cdf(30.0) == pytest.approx(0.5, rel=1e-14)
    assert s.cdf(20.0) == pytest.approx(0.125, rel=1e-14)  # (1/2)(10)(1/2) / 20
    assert s.mean() == pytest.approx(30.0, rel=1e-12)
    assert stats.kstest(s.sample(np.random.default_rng(5), 20_000), s.cdf).pvalue > 0.01
    # without an anti_nu_e column the mu- DAR contamination keeps its analytic shape
    assert src.spectrum("anti_nu_e").table is None


def test_timing_closed_form_is_scipy_exponnorm():
    # the timing's exponentially modified Gaussian is scipy.stats.exponnorm (K = tau/sigma), written with
    # scipy.special; identical to rounding (1e-13) on the finite times, and 0 / 1 at the infinite ends
    from d2oflux.timing import ExpModGaussian

    t = np.linspace(-2000.0, 30000.0, 4001)
    for tau in (c.TAU_PI_NS, c.TAU_MU_NS):
        ref = stats.exponnorm(K=tau / 150.0, loc=440.0, scale=150.0)
        emg = ExpModGaussian(tau, 440.0, 150.0)
        np.testing.assert_allclose(emg.pdf(t), ref.pdf(t), rtol=1e-13, atol=0)
        np.testing.assert_allclose(emg.cdf(t), ref.cdf(t), rtol=1e-13, atol=1e-300)
        assert emg.cdf(np.array([-np.inf, np.inf])).tolist() == [0.0, 1.0]
        assert emg.pdf(np.array([-np.inf, np.inf])).tolist() == [0.0, 0.0]
