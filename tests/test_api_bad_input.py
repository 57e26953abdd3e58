"""Bad input to the Python API: a one-line ConfigError/ValueError naming the argument, never a numpy warning,
a bare IndexError/KeyError/ZeroDivisionError deep inside, NaN results or a silently wrong number."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from d2oflux.analysis.model import scale_workspace
from d2oflux.analysis.sensitivity import check_years
from d2oflux.errors import ConfigError
from d2oflux.optics.config import OpticsConfig
from d2oflux.response import Response
from d2oflux.source import Spectrum, pot_from_beam, spectrum_cdf, spectrum_pdf

VIS = np.linspace(0.0, 60.0, 13)
RECO = np.linspace(0.0, 60.0, 7)


def _analytic(**kw):
    vis, reco = kw.pop("vis", VIS), kw.pop("reco", RECO)
    return Response.analytic(vis, reco, **({"light_yield_pe_per_MeV": 15.0, "resolution_constant": 0.05} | kw))


# -- spectra: a NaN energy was a silent 0 (pdf) or a NaN (cdf) --------------------------------------------
@pytest.mark.parametrize("func", [spectrum_pdf, spectrum_cdf])
def test_spectrum_nan_energy_is_an_error(func):
    with pytest.raises(ValueError, match="E_MeV: neutrino energy is NaN"):
        func("nu_e", [10.0, np.nan])


def test_spectrum_outside_support_is_documented_zero_and_one():
    # documented: dN/dE is zero outside [0, m_mu/2]; the CDF is 0 below and 1 above
    assert spectrum_pdf("nu_e", [-5.0, 60.0]).tolist() == [0.0, 0.0]
    assert spectrum_cdf("nu_e", [-5.0, 60.0]).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("n", [-1, 2.5, "3"])
def test_spectrum_sample_count_is_checked(n):
    with pytest.raises(ConfigError, match="n: expected a whole number"):
        Spectrum("nu_e").sample(np.random.default_rng(1), n)


# -- the analytic response: Y <= 0 gave numpy warnings, bad edges or a negative scale a silent matrix ------
@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"light_yield_pe_per_MeV": 0.0}, "light_yield_pe_per_MeV"),
        ({"light_yield_pe_per_MeV": -1.0}, "light_yield_pe_per_MeV"),
        ({"resolution_constant": -0.05}, "resolution_constant"),
        ({"resolution_constant": np.nan}, "resolution_constant"),
        ({"resolution_constant": "0.05"}, "resolution_constant"),  # was a TypeError from np.isfinite
        ({"energy_scale": -1.0}, "energy_scale"),
        ({"threshold_MeV": np.nan}, "threshold_MeV"),
        ({"threshold_MeV": "5"}, "threshold_MeV"),  # was a TypeError from np.isfinite
        ({"threshold_MeV": -1.0}, "threshold_MeV"),  # the detector schema's ge=0
        ({"vis": VIS[::-1]}, "visible_edges_MeV"),
        ({"reco": RECO[::-1]}, "reco_edges_MeV"),
        ({"vis": [[0.0, 1.0], [2.0, 3.0]]}, "visible_edges_MeV"),
        ({"vis": [1.0]}, "visible_edges_MeV"),
        ({"visible_particles": "electron"}, "visible_particles"),
    ],
)
def test_analytic_response_rejects_bad_parameters(kw, field):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way to the error
        with pytest.raises(ConfigError, match=field):
            _analytic(**kw)


def test_response_accepts_lists():
    resp = Response([0.0, 1.0, 2.0], [0.0, 1.0], [[0.5], [0.5]], [1.0, 1.0])
    assert resp.fold(np.array([2.0, 4.0])).tolist() == [3.0]


# -- the beam: a zero proton energy was a ZeroDivisionError, a negative power a negative POT ---------------
@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((1.4, 3600.0, 0.0), "proton_energy_GeV"),
        ((1.4, 3600.0, "1"), "proton_energy_GeV"),
        ((-1.4, 3600.0, 1.0), "power_MW"),
        ((True, 3600.0, 1.0), "power_MW"),
        ((1.4, np.nan, 1.0), "seconds"),
    ],
)
def test_pot_from_beam_checks_its_arguments(args, field):
    with pytest.raises(ConfigError, match=field):
        pot_from_beam(*args)


def test_pot_from_beam_value():
    # N = P t / (E_p e): 1 MW for 1 s at 1 GeV is 1e6 / (1e9 * 1.602176634e-19) = 6.2415e12 protons
    assert pot_from_beam(1.0, 1.0, 1.0) == pytest.approx(1e6 / (1e9 * 1.602176634e-19), rel=1e-12)


# -- the analysis: a scalar year list was a TypeError, a bad scale factor a silent workspace ----------------
@pytest.mark.parametrize("years", [1, "1", [True], ["2"]])
def test_check_years_needs_a_list_of_numbers(years):
    with pytest.raises(ConfigError, match="--years"):
        check_years(years)


@pytest.mark.parametrize("factor", [0.0, -1.0, np.nan, np.inf])
def test_scale_workspace_factor_is_checked(factor):
    with pytest.raises(ConfigError, match="factor"):
        scale_workspace({"channels": [], "observations": []}, factor)


# -- optics build settings: a negative seed failed late in numpy, unsorted energies interpolated silently --
@pytest.mark.parametrize(
    ("build", "field"),
    [
        ({"seed": -1}, "seed"),
        ({"seed": 2**63}, "seed"),
        ({"energies_MeV": []}, "energies_MeV"),
        ({"energies_MeV": [20.0, 5.0]}, "energies_MeV"),
        ({"energies_MeV": [-1.0, 20.0]}, "energies_MeV"),
        ({"energies_MeV": [2.0, 5.0]}, "energies_MeV"),
    ],
)
def test_optics_build_settings_are_checked(build, field):
    with pytest.raises(ValueError, match=field):
        OpticsConfig.model_validate({"build": build})


# -- the rate engine: a Facility for the Source, or an unknown channel, failed deep inside ------------------
def test_expect_names_a_wrong_argument_type():
    from d2oflux.detector import load_detector
    from d2oflux.rates import expect
    from d2oflux.source import Exposure, Source, load_facility

    fac = load_facility("sns-fts")
    det = load_detector("d2o-module1")
    with pytest.raises(ConfigError, match="source: expected a d2oflux.source.Source, got Facility"):
        expect(det, fac, Exposure.from_years(fac, 1.0))
    with pytest.raises(ConfigError, match="exposure: expected"):
        expect(det, Source(fac), 1.0)


def test_in_window_names_an_unknown_channel():
    from d2oflux.detector import load_detector
    from d2oflux.rates import expect
    from d2oflux.source import Exposure, Source, load_facility

    fac = load_facility("sns-fts")
    result = expect(load_detector("d2o-module1"), Source(fac), Exposure.from_years(fac, 1.0))
    with pytest.raises(ConfigError, match="channel 'nue_dcc'.*nue_d_cc"):
        result.in_window("nue_dcc")


# -- cross sections: a string or None energy gave numpy's message (or "is NaN") without the argument -------
@pytest.mark.parametrize("energy", ["abc", None, 1 + 2j])
def test_sigma_names_a_non_numeric_energy(energy):
    from d2oflux.xsec import NueDeuteronCC

    with pytest.raises(ValueError, match="E_MeV: expected neutrino energies in MeV"):
        NueDeuteronCC().sigma(energy)
    with pytest.raises(ValueError, match="E_MeV: expected neutrino energies in MeV"):
        spectrum_pdf("nu_e", energy)
