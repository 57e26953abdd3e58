"""Fits and toys report their health: a parameter at a bound, a covariance that is not positive definite,
an unconverged minimiser or too few converged toys make the result invalid, with the reason, and the CLI
exits with status 3 unless ``--allow-invalid`` is given. A detector with no signal is a clean error.
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from d2oflux.analysis.fitter import fit_minuit, fit_problems
from d2oflux.analysis.measurement import fit_events
from d2oflux.analysis.model import build_model
from d2oflux.analysis.toys import MIN_CONVERGED_FRACTION, summarise_toys
from d2oflux.cli import main
from d2oflux.detector import load_detector
from d2oflux.errors import ConfigError
from d2oflux.source import Exposure, Source, load_facility

FAC = load_facility("sns-fts")
SRC = Source(FAC, include_mu_minus_dar=True)
EXAMPLE = resources.files("d2oflux") / "data/examples/events_d2o-module1_1y_seed1.csv"
NAMES = ["mu", "theta"]
LO, HI = np.array([0.0, -5.0]), np.array([5.0, 5.0])


@pytest.fixture(scope="module")
def model():
    return build_model(load_detector("d2o-module1"), SRC, Exposure.from_years(FAC, 1.0))


def copies(tmp_path, k: int):
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    head = [ln for ln in lines if ln.startswith(("#", "energy_MeV"))]
    body = [ln for ln in lines if ln not in head]
    p = tmp_path / f"events_x{k}.csv"
    p.write_text("".join(head) + "".join(body) * k, encoding="utf-8")
    return p


def test_healthy_fit_has_no_problems():
    cov = np.array([[0.01, 0.0], [0.0, 1.0]])
    assert fit_problems(NAMES, np.array([1.0, 0.2]), np.array([0.1, 1.0]), cov, LO, HI, np.zeros(2, bool)) == ()


def test_parameter_at_bound_is_reported():
    cov = np.array([[1e-8, 0.0], [0.0, 1.0]])
    problems = fit_problems(NAMES, np.array([5.0, 0.0]), np.array([1e-4, 1.0]), cov, LO, HI, np.zeros(2, bool))
    assert problems == ("mu = 5 is at its upper bound 5",)
    # a fixed parameter sitting on its bound is not a problem
    assert fit_problems(NAMES, np.array([1.0, 5.0]), np.array([0.1, 0.0]), cov, LO, HI, np.array([False, True])) == ()


def test_covariance_and_minimiser_problems_are_reported():
    not_pd = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3 and -1
    problems = fit_problems(
        NAMES, np.array([1.0, 0.0]), np.array([1.0, 1.0]), not_pd, LO, HI, np.zeros(2, bool), False, "EDM above"
    )
    assert problems == ("the minimiser did not converge (EDM above)", "the covariance matrix is not positive definite")
    nan_cov = np.full((2, 2), np.nan)
    assert "not finite" in fit_problems(NAMES, np.ones(2), np.ones(2), nan_cov, LO, HI, np.zeros(2, bool))[-1]


def test_example_fit_is_valid_and_twenty_copies_are_not(model, tmp_path):
    good = fit_events(model, EXAMPLE)
    assert good["valid"] and good["problems"] == []
    bad = fit_events(model, copies(tmp_path, 20))  # 20x the signal: flux_norm runs into its bound 5
    assert not bad["valid"]
    assert any(p.startswith("flux_norm = 5 is at its upper bound") for p in bad["problems"])


def test_minuit_fit_at_bound_is_invalid(model):
    nm = model.numpy_model()
    res = fit_minuit(nm, np.zeros_like(nm.asimov()[0]) + 0.0, minos=False)  # no events at all: mu -> 0
    assert not res.valid
    assert any("flux_norm" in p and "lower bound" in p for p in res.problems)


def test_cli_exit_3_then_allow_invalid(tmp_path, capsys):
    path = str(copies(tmp_path, 20))
    assert main(["fit", "--events", path, "--years", "1", "--json"]) == 3
    out, err = capsys.readouterr()
    assert json.loads(out)["valid"] is False
    assert err.startswith("d2oflux: invalid result: fit invalid: ")
    assert "flux_norm = 5 is at its upper bound" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["fit", "--events", path, "--years", "1", "--allow-invalid"]) == 0
    out, _ = capsys.readouterr()
    assert "FIT INVALID: " in out and "flux_norm = 5 is at its upper bound" in out


def test_toy_summary_never_divides_by_zero():
    mu, err = np.array([1.0, 0.0, 5.0]), np.array([0.1, 0.0, 0.1])
    res = summarise_toys(mu, err, np.array([True, True, True]), 1.0, 3, 1, 0.0, 5.0)
    assert res.n_converged == 1 and res.pull_width is None and not res.valid  # zero error and the bound drop out
    none = summarise_toys(np.zeros(0), np.zeros(0), np.zeros(0, bool), 1.0, 0, 1)
    assert none.n_converged == 0 and none.converged_fraction == 0.0 and not none.valid
    json.dumps(none.to_dict(), allow_nan=False)


def test_toys_below_99_percent_are_refused():
    rng = np.random.default_rng(1)
    n = 1000
    mu, err = 1 + 0.1 * rng.standard_normal(n), np.full(n, 0.1)
    ok = np.ones(n, bool)
    ok[: int(n * (1 - MIN_CONVERGED_FRACTION)) + 1] = False  # 98.9 % converged
    res = summarise_toys(mu, err, ok, 1.0, n, 1)
    assert not res.valid and res.pull_width is not None
    ok[:] = True
    assert summarise_toys(mu, err, ok, 1.0, n, 1).valid


@pytest.mark.parametrize(
    ("replacements", "reason"),
    [
        ({"efficiency = 1.0": "efficiency = 0.0"}, "response.efficiency is 0"),
        (
            {
                "energy_window_MeV = [10.0, 55.0]": "energy_window_MeV = [10.0, 15.0]",
                "threshold_MeV = 5.0": "threshold_MeV = 20.0",
            },
            "threshold_MeV = 20 is above the window",
        ),
    ],
)
def test_no_signal_is_a_clean_error(write_detector, replacements, reason):
    det = load_detector(write_detector(replacements))
    with pytest.raises(ConfigError, match=f"no neutrino event is expected in the analysis window.*{reason}"):
        build_model(det, SRC, Exposure.from_years(FAC, 1.0))


def _one_bin_likelihood(observed: float):
    from d2oflux.analysis.likelihood import NumpyModel
    from d2oflux.coherent.fit import Likelihood

    mu = {"name": "mu", "type": "normfactor", "data": None}
    signal = {"name": "s", "data": [5.0], "modifiers": [mu]}
    background = {"name": "b", "data": [1.0], "modifiers": []}
    parameters = [{"name": "mu", "bounds": [[0.0, 5.0]], "inits": [1.0]}]
    ws = {
        "channels": [{"name": "c", "samples": [signal, background]}],
        "observations": [{"name": "c", "data": [observed]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": parameters}}],
        "version": "1.0.0",
    }
    nm = NumpyModel.from_workspace(ws)
    return Likelihood([("t", nm, nm.observed, {})], {})


def test_coherent_fit_at_bound_is_invalid():
    # the CEvNS (joint) fits apply the same health checks: 6 events on 1 background -> mu = 1 (analytic), healthy;
    # no event at all -> mu runs into its lower bound 0
    from d2oflux.coherent.fit import minimise

    good = minimise(_one_bin_likelihood(6.0))
    assert good.valid and good.problems == () and good.value("mu") == pytest.approx(1.0, abs=1e-4)
    bad = minimise(_one_bin_likelihood(0.0))
    assert not bad.valid
    assert any(p.startswith("mu = ") and "lower bound 0" in p for p in bad.problems)


def test_cli_dataset_fit_invalid_exits_3(monkeypatch, capsys):
    # an invalid CEvNS fit is refused like an invalid D2O fit (exit 3 unless --allow-invalid)
    from d2oflux.coherent import joint

    bad = {"valid": False, "problems": ["flux_norm at its lower bound"]}
    monkeypatch.setattr(joint, "fit_datasets", lambda *a, **k: bad)
    monkeypatch.setattr(joint, "fit_table", lambda result: "table")
    assert main(["fit", "--dataset", "coherent-lar-2020"]) == 3
    _, err = capsys.readouterr()
    assert "flux_norm at its lower bound" in err
    assert main(["fit", "--dataset", "coherent-lar-2020", "--allow-invalid"]) == 0
