"""The KRV radiative correction in the rates, against an independent quadrature (issue 8).

Second method: the NSAPMGK table times the KRV factor averaged over the electron spectrum, folded with the
Michel nu_e spectrum by our own trapezoid quadrature on a fine grid, times the deuteron count and fluence
computed from first principles here -- not through the rate engine's nodes or caches.

What this does not check: the KRV factor itself (``krv_radiative_factor``) and the electron spectrum are the
code's own, so a wrong constant in the factor would pass. The factor's expression is the one the GENIE
generator codes citing KRV (see ``d2oflux.xsec.deuteron``); a published table of KRV's correction for the
deuteron would make this independent. No such table (KRV PRC 65, 055501 and PRC 67, 035502; Fukugita &
Kubota hep-ph/0509123) could be read when this was last checked, so there is no published-number test yet.
The constants were compared by hand with two other public transcriptions of KRV's simple formula: GENIE's
quasi-elastic cross-section code (6.0, 3/2, 1.2, exponent 1.5; same as ours) and the SNEWS2/sntools IBD
channel, which cites Strumia & Vissani (astro-ph/0302055) eq. (14) with 6.00352 instead of 6.00 (a relative
difference of 8e-6 in the factor).
"""

from __future__ import annotations

import numpy as np
import pytest

from d2oflux.constants import AVOGADRO, M_MU_MEV
from d2oflux.detector import load_detector
from d2oflux.rates import expect
from d2oflux.source import Exposure, Source, load_facility
from d2oflux.xsec.deuteron import NueDeuteronCC, krv_radiative_factor, nsapmgk_table


def _michel_nue(E):
    m = M_MU_MEV
    return np.where(E < m / 2, (192.0 / m) * (E / m) ** 2 * (0.5 - E / m), 0.0)


def _table_sigma(E):
    cols = nsapmgk_table()
    x, y = cols["E_MeV"], cols["cc_nue_d_cm2"]
    ok = y > 0
    return np.where(E > 1.442, np.exp(np.interp(np.log(E), np.log(x[ok]), np.log(y[ok]))), 0.0)


def _krv_average(E):
    """<KRV factor> over the (bare) electron spectrum at each E, by trapezoid in T."""
    bare = NueDeuteronCC(radiative_correction=False)
    out = np.ones_like(E)
    for i, e in enumerate(E):
        T = np.linspace(0.0, e - 1.442, 1501)
        pdf = bare.T_pdf(np.full_like(T, e), T)
        out[i] = np.trapezoid(pdf * krv_radiative_factor(T), T) / np.trapezoid(pdf, T)
    return out


@pytest.fixture(scope="module")
def quadrature():
    E = np.linspace(1.5, M_MU_MEV / 2, 300)
    f = _michel_nue(E)
    s = _table_sigma(E)
    k = _krv_average(E)
    return np.trapezoid(f * s, E), np.trapezoid(f * s * k, E)


def test_flux_averaged_krv_correction(quadrature):
    bare, rc = quadrature
    # issue 8: +2.36 % averaged over the piDAR nu_e flux; the engine's two settings give the same ratio
    assert rc / bare == pytest.approx(1.0236, abs=0.0005)
    det = load_detector("d2o-module1")
    src = Source(load_facility("sns-fts"), include_mu_minus_dar=False)
    exp = Exposure.from_years(src.facility, 1.0)
    on = expect(det, src, exp).channels["nue_d_cc"].interactions
    off = expect(det, src, exp, radiative_corrections=False).channels["nue_d_cc"].interactions
    assert on / off == pytest.approx(rc / bare, rel=5e-4)  # quadrature vs the engine's nodes


def test_rates_with_radiative_corrections_vs_quadrature(quadrature):
    _, rc = quadrature
    det = load_detector("d2o-module1")
    fac = load_facility("sns-fts")
    exp = Exposure.from_years(fac, 1.0)
    on = expect(det, Source(fac, include_mu_minus_dar=False), exp).channels["nue_d_cc"].interactions
    # first principles: 592 kg D2O (20.0276 g/mol, 2 d per molecule at 99.9 %), 0.09 nu_e per proton,
    # 5000 h at 1.4 MW and 1.0 GeV, 20 m
    n_d = 592e3 / 20.0276 * AVOGADRO * 2 * 0.999
    pot = 1.4e6 * 5000 * 3600 / (1.0e9 * 1.602176634e-19)
    fluence = 0.09 * pot / (4 * np.pi * 2000.0**2)
    # tolerance 0.3 %: the table interpolation (log-log here and in the engine) and the 300-point
    # trapezoid; the radiative correction itself is a 2.4 % effect, so this separates on from off
    assert on == pytest.approx(n_d * fluence * rc, rel=3e-3)
    assert on > 1.015 * n_d * fluence * quadrature[0]
