"""Source: spectra, timing and normalisation against closed forms (docs/physics.md §2)."""

import math

import numpy as np
import pytest
from scipy import integrate

from d2oflux import constants as c
from d2oflux.errors import ConfigError
from d2oflux.source import (
    POT_PER_SNS_YEAR,
    Exposure,
    Source,
    TimingModel,
    load_facility,
    spectrum_cdf,
    spectrum_mean,
    spectrum_nodes,
    spectrum_pdf,
)


def test_prompt_line_energy():
    # (m_pi^2 - m_mu^2)/(2 m_pi) = 29.79 MeV (docs/physics.md §2), quoted to 4 digits
    assert c.E_NUMU_PROMPT_MEV == pytest.approx(29.79, abs=0.005)
    assert c.E_MICHEL_MAX_MEV == pytest.approx(52.83, abs=0.005)


@pytest.mark.parametrize(("flavour", "mean_over_mmu"), [("nu_e", 0.3), ("anti_nu_mu", 0.35)])
def test_michel_spectra_normalised_with_analytic_mean(flavour, mean_over_mmu):
    # numerical quadrature of the density, independent of the closed-form CDF; 1e-10 is quadrature accuracy
    norm = integrate.quad(lambda e: spectrum_pdf(flavour, e), 0, c.E_MICHEL_MAX_MEV)[0]
    mean = integrate.quad(lambda e: e * spectrum_pdf(flavour, e), 0, c.E_MICHEL_MAX_MEV)[0]
    assert norm == pytest.approx(1.0, abs=1e-10)
    assert mean == pytest.approx(mean_over_mmu * c.M_MU_MEV, rel=1e-10)
    assert spectrum_mean(flavour) == pytest.approx(mean, rel=1e-10)
    # quadrature nodes reproduce both (Gauss-Legendre of order 4 is exact for these cubics)
    E, w = spectrum_nodes(flavour)
    assert w.sum() == pytest.approx(1.0, rel=1e-12)
    assert (E * w).sum() == pytest.approx(mean, rel=1e-12)
    assert spectrum_cdf(flavour, c.E_MICHEL_MAX_MEV) == pytest.approx(1.0)
    assert spectrum_pdf(flavour, 60.0) == 0.0


def test_cdf_matches_integral_of_pdf():
    for e in (5.0, 20.0, 40.0):
        num = integrate.quad(lambda x: spectrum_pdf("nu_e", x), 0, e)[0]
        assert spectrum_cdf("nu_e", e) == pytest.approx(num, rel=1e-10)


@pytest.mark.parametrize("flavour", ["nu_mu", "nu_e", "anti_nu_mu"])
def test_timing_integrates_to_one_with_analytic_mean(flavour):
    t = TimingModel()
    lo, hi = -3000.0, 80000.0
    norm = integrate.quad(lambda x: t.pdf(flavour, x), lo, hi, limit=400, points=[440, 1000, 3000])[0]
    mean = integrate.quad(lambda x: x * t.pdf(flavour, x), lo, hi, limit=400, points=[440, 1000, 3000])[0]
    # tails beyond 80 us are e^-36 of the total; quadrature tolerance ~1e-8
    assert norm == pytest.approx(1.0, abs=1e-7)
    expected = 440.0 + c.TAU_PI_NS + (0.0 if flavour == "nu_mu" else c.TAU_MU_NS)
    assert mean == pytest.approx(expected, rel=1e-6)
    assert t.mean(flavour) == pytest.approx(expected)
    fr = t.bin_fractions(flavour, np.array([-1e6, 0, 1000, 1e7]))
    assert fr.sum() == pytest.approx(1.0, abs=1e-12)


def test_delayed_timing_matches_monte_carlo_convolution():
    # an independent second method: sample POT + Exp(tau_pi) + Exp(tau_mu) and compare bin fractions
    rng = np.random.default_rng(1)
    n = 400_000
    s = rng.normal(440, 150, n) + rng.exponential(c.TAU_PI_NS, n) + rng.exponential(c.TAU_MU_NS, n)
    edges = np.array([0, 500, 1000, 2000, 4000, 8000, 1e6])
    mc = np.histogram(s, edges)[0] / n
    model = TimingModel().bin_fractions("nu_e", edges)
    # binomial standard error of each fraction is < 8e-4; allow 5 sigma
    assert np.allclose(mc, model, atol=4e-3)


def test_sns_year_pot_and_fluence():
    # 1.4 MW x 5000 h / (1.0 GeV x e) = 1.5729e23 POT; fluence r N / (4 pi L^2) by hand
    assert POT_PER_SNS_YEAR == pytest.approx(1.4e6 * 5000 * 3600 / (1e9 * 1.602176634e-19))
    fac = load_facility("sns-fts")
    exp = Exposure.from_years(fac, 2.0)
    assert exp.pot == pytest.approx(2 * POT_PER_SNS_YEAR)
    flu = Source(fac).fluence_per_cm2(exp, 20.0)
    assert flu["nu_e"] == pytest.approx(0.09 * 2 * POT_PER_SNS_YEAR / (4 * math.pi * 2000.0**2))
    assert set(flu) == {"nu_mu", "nu_e", "anti_nu_mu"}
    flu2 = Source(fac, include_mu_minus_dar=True).fluence_per_cm2(exp, 20.0)
    assert flu2["anti_nu_e"] == pytest.approx(7.8e-4 * flu2["nu_mu"])


def test_facility_presets_and_yield_errors():
    assert load_facility("sns-fts-ppu").power_MW == 2.0
    assert load_facility("sns-sts").repetition_rate_Hz == 15.0
    # Since issue 8 the 1.3 GeV presets ship a labelled-assumption yield instead of an error (tests in
    # test_facilities.py); a facility file without a yield still stops with the error:
    no_yield = load_facility("sns-sts").model_copy(update={"nu_per_proton": None})
    with pytest.raises(ConfigError, match="not published"):
        Exposure.from_years(no_yield, 1.0)
    ok = Exposure.from_years(load_facility("sns-sts", nu_per_proton=0.1), 1.0)
    assert ok.nu_per_proton == 0.1
    with pytest.raises(ConfigError, match="proton_energy_GeV"):
        load_facility("sns-fts").yield_at(1.3)
    with pytest.raises(ConfigError, match="unknown facility 'sns-ftz'.*did you mean 'sns-fts'"):
        load_facility("sns-ftz")
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ConfigError, match="years"):
            Exposure.from_years(load_facility(), bad)
    with pytest.raises(ConfigError, match="pot"):
        Exposure.from_pot(load_facility(), -5)


def _flux_file(tmp_path, text):
    p = tmp_path / "flux.csv"
    p.write_text(text)
    return p


def test_flux_table_reproduces_analytic_spectrum(tmp_path):
    from d2oflux.source import FluxTable

    E = np.linspace(0, c.E_MICHEL_MAX_MEV, 1001)
    rows = "\n".join(f"{e},{spectrum_pdf('nu_e', e)}" for e in E)
    table = FluxTable.read(_flux_file(tmp_path, "# a comment\nE_MeV,nu_e\n" + rows))
    nodes, w = table.nodes("nu_e")
    # linear interpolation of a 1001-point table: the mean energy agrees with 0.3 m_mu to 1e-5
    assert (nodes * w).sum() == pytest.approx(0.3 * c.M_MU_MEV, rel=1e-5)
    with pytest.raises(ConfigError, match="no column for flavour 'nu_mu'"):
        table.nodes("nu_mu")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("E_MeV,nu_e\n0,1\n1,nan\n2,1\n", "NaN"),
        ("E_MeV,nu_e\n0,1\n1,-1\n2,1\n", "negative"),
        ("E_MeV,nu_e\n0,1\n2,1\n1,1\n", "not strictly increasing"),
        ("E_MeV,nu_x\n0,1\n1,1\n2,1\n", "unknown column 'nu_x'"),
        ("Energy,nu_e\n0,1\n1,1\n2,1\n", "first column must be 'E_MeV'"),
        ("E_MeV,nu_e\n0,0\n1,0\n2,0\n", "zero everywhere"),
        ("E_MeV,nu_e\n0,1\n", "at least two rows"),
    ],
)
def test_bad_flux_files(tmp_path, text, match):
    from d2oflux.source import FluxTable

    with pytest.raises(ConfigError, match=match):
        FluxTable.read(_flux_file(tmp_path, text))
