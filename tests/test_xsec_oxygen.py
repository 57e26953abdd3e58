"""nu 16O: Kolbe (SNOwGLoBES) and Nakazato models, group lines, NC gammas, anti-nu_e CC."""

from __future__ import annotations

import numpy as np
import pytest

from d2oflux.constants import M_E_MEV
from d2oflux.xsec.base import SUPPORTED_FLAVOURS
from d2oflux.xsec.oxygen import (
    DEFAULT_NC_O16_GAMMA_PROBABILITY,
    E_TH_NUEBAR_O16_MEV,
    O16NC,
    NuebarO16CC,
    NueO16CC,
    michel_averaged_ratio,
    nakazato_group_sigma,
    o16_cc_cos_theta_pdf,
)
from d2oflux.xsec.tables import read_snowglobes_xsec


def test_nakazato_formula_by_hand():
    # Group 1 at 30 MeV from the printed fit (docs/physics.md §3.2): d = log10(30^0.25 - 15.21^0.25)
    d = np.log10(30**0.25 - 15.21**0.25)
    expected = 10 ** (-40.008 + 4.918 * d + 1.036 * d * d)
    assert nakazato_group_sigma(30.0)[0] == pytest.approx(expected, rel=1e-12)
    # groups open only from E_g + 0.3 MeV
    g = nakazato_group_sigma([15.50, 15.52, 22.76, 22.78])
    assert g[0, 0] == 0 and g[1, 0] > 0 and g[2, 1] == 0 and g[3, 1] > 0


def test_kolbe_is_the_snowglobes_file():
    E, s = read_snowglobes_xsec("xs_nue_O16.dat", "nu_e")
    k = NueO16CC("kolbe")
    sel = (E > 17) & (E < 99)
    np.testing.assert_allclose(k.sigma(E[sel]), s[sel], rtol=1e-9)  # the nodes themselves
    assert k.sigma(30.0) == pytest.approx(1.25e-42, rel=0.01)  # 0.00426e-38 cm2/GeV x 0.03 GeV, read by eye


def test_models_differ_as_documented():
    # docs/physics.md §3.2: Suzuki (Nakazato fit) vs Kolbe differ by ~50 % at 30 MeV and ~14 % at 50 MeV.
    k, n = NueO16CC("kolbe"), NueO16CC("nakazato")
    r = n.sigma([30.0, 50.0]) / k.sigma([30.0, 50.0])
    assert r[0] == pytest.approx(1.5, abs=0.05)
    assert r[1] == pytest.approx(1.14, abs=0.02)
    assert michel_averaged_ratio() == pytest.approx(1.22, abs=0.01)
    with pytest.raises(ValueError, match="nue_o16_cc \\(nakazato\\): neutrino energy 120 MeV is above"):
        n.sigma(120.0)
    with pytest.raises(ValueError, match="model must be"):
        NueO16CC("suzuki")


@pytest.mark.parametrize("model", ["kolbe", "nakazato"])
def test_group_lines(model):
    x = NueO16CC(model)
    edges = np.arange(0.0, 60.5, 0.5)
    P = x.visible_spectrum([10.0, 40.0], edges)
    np.testing.assert_allclose(P.sum(axis=1), [0.0, 1.0], atol=1e-12)
    # four lines at T = 40 - E_g - m_e (total electron energy E - E_g)
    lines = 40.0 - np.array([15.21, 22.47, 25.51, 29.35]) - M_E_MEV
    idx = np.searchsorted(edges, lines, side="right") - 1
    np.testing.assert_array_equal(np.nonzero(P[1])[0], np.sort(idx))
    np.testing.assert_allclose(P[1, idx], x.group_fractions(40.0), rtol=1e-12)


def test_tomas_angular_distribution():
    c = np.linspace(-1, 1, 20001)
    for E in (20.0, 40.0, 60.0):
        assert np.trapezoid(o16_cc_cos_theta_pdf(c, E), c) == pytest.approx(1.0, abs=1e-9)
    # E = 40 MeV: x = ((40 - 15)/25)^4 = 1 -> slope (1 + 1)/(3 + 1) = 1/2
    assert o16_cc_cos_theta_pdf(1.0, 40.0) == pytest.approx(0.5 * (1 - 0.5))


def test_nc_o16():
    for fl in SUPPORTED_FLAVOURS:
        x = O16NC(fl)
        assert x.name == "nc_o16" and x.visible_particle == "gamma"
        tag = {"nu_e": "nue", "anti_nu_e": "nuebar", "nu_mu": "numu", "anti_nu_mu": "numubar"}[fl]
        E, s = read_snowglobes_xsec(f"xs_nc_{tag}_O16.dat", fl)
        assert x.sigma(E[500]) == pytest.approx(s[500], rel=1e-9)
        P = x.visible_spectrum([10.0, 30.0], np.linspace(0, 10, 101))
        np.testing.assert_allclose(P.sum(axis=1), [0.0, DEFAULT_NC_O16_GAMMA_PROBABILITY])
    P = O16NC("nu_mu", gamma_probability=0.2, gamma_lines=((7.0, 1.0),)).visible_spectrum([30.0], [0, 6.9, 7.1, 10])
    np.testing.assert_allclose(P, [[0.0, 0.2, 0.0]])


def test_nuebar_o16():
    x = NuebarO16CC()
    assert E_TH_NUEBAR_O16_MEV == pytest.approx(11.443, abs=1e-3)
    assert x.sigma(12.0) == 0.0 and x.sigma(30.0) > 0
    P = x.visible_spectrum([30.0], np.arange(0, 31.0))
    assert P.sum() == 1.0 and P[0, 18] == 1.0  # T = 30 - 11.443


def test_cli_choices_are_the_models():
    # the command line's --o16-model enum lists exactly the models the cross-section code accepts
    from d2oflux.settings import O16Model
    from d2oflux.xsec.oxygen import O16_MODELS

    assert tuple(m.value for m in O16Model) == O16_MODELS
