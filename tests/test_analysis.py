"""The flux measurement on the real d2o-module1 model: Asimov, pyhf agreement, sidebands, toys, CLI."""

import json
import shutil
import subprocess
from importlib import resources

import numpy as np
import pyhf
import pytest

from d2oflux.analysis.fitter import fit_batch
from d2oflux.analysis.likelihood import NumpyModel
from d2oflux.analysis.model import build_model
from d2oflux.analysis.sensitivity import asimov_uncertainties, sensitivity
from d2oflux.analysis.toys import draw_toys, run_toys
from d2oflux.cli import main
from d2oflux.detector import load_detector
from d2oflux.source import Exposure, Source, load_facility

FAC = load_facility("sns-fts")
SRC = Source(FAC, include_mu_minus_dar=True)
EXAMPLE = str(resources.files("d2oflux") / "data/examples/events_d2o-module1_1y_seed1.csv")


@pytest.fixture(scope="module")
def model():
    return build_model(load_detector("d2o-module1"), SRC, Exposure.from_years(FAC, 1.0))


def detector_with(tmp_path, extra: str):
    text = (resources.files("d2oflux") / "presets/detectors/d2o-module1.toml").read_text() + "\n" + extra
    p = tmp_path / "det.toml"
    p.write_text(text)
    return load_detector(p)


def test_workspace_is_valid_pyhf(model):
    ws = pyhf.Workspace(model.workspace)
    pm = ws.model()
    assert pm.config.poi_name == "flux_norm"
    assert {"beam", "offbeam"} == set(pm.config.channels)


def test_asimov_returns_injected_values(model):
    nm = model.numpy_model()
    fit = fit_batch(nm, nm.asimov())
    np.testing.assert_allclose(fit.theta[0], nm.init, atol=1e-6)


def test_fitter_agrees_with_pyhf_on_real_workspace(model):
    nm = model.numpy_model()
    pm = pyhf.Workspace(model.workspace).model()
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=1e-6, strategy=2))
    data, aux = draw_toys(nm, 3, np.random.default_rng(5))
    fit = fit_batch(nm, data, aux)
    i = pm.config.poi_index
    for k in range(3):
        auxdata = [aux[k, nm.index(n)] for n in pm.config.auxdata_order]
        ref = pyhf.infer.mle.fit(np.concatenate([data[k], auxdata]), pm, return_uncertainties=True)
        assert fit.theta[k, 0] == pytest.approx(ref[i][0], rel=1e-3)
        assert fit.errors[k, 0] == pytest.approx(ref[i][1], rel=1e-3)


def test_signal_only_limit_is_one_over_sqrt_n(tmp_path):
    # no backgrounds at all and no systematics: stat-only sigma = 1/sqrt(N_signal)
    det = detector_with(tmp_path, "[backgrounds]\nsteady_state_rate_per_MeV_s = 0\nbeam_neutrons_per_year = 0\n")
    m = build_model(det, SRC, Exposure.from_years(FAC, 1.0))
    assert {c["name"] for c in m.workspace["channels"]} == {"beam"}  # no steady state, no sideband
    # keep only the signal sample (with its flux normalisation) to remove neutrino-induced backgrounds too
    beam = m.workspace["channels"][0]
    sig = next(s for s in beam["samples"] if s["name"] == "nue_d_cc")
    only = {
        "channels": [
            {"name": "beam", "samples": [{"name": "nue_d_cc", "data": sig["data"], "modifiers": [sig["modifiers"][0]]}]}
        ],
        "observations": [{"name": "beam", "data": sig["data"]}],
        "measurements": [{"name": "flux", "config": {"poi": "flux_norm", "parameters": []}}],
        "version": "1.0.0",
    }
    nm = NumpyModel.from_workspace(only)
    total, stat, _ = asimov_uncertainties(nm)
    assert stat == pytest.approx(1 / np.sqrt(sum(sig["data"])), rel=1e-6)
    assert total == pytest.approx(stat, rel=1e-9)


def test_systematics_never_lower_the_uncertainty(model):
    nm = model.numpy_model()
    total, stat, impacts = asimov_uncertainties(nm)
    assert total >= stat
    assert all(v >= 0 for v in impacts.values())
    # the nu-d cross section is among the largest impacts (3 % prior, fully degenerate with the flux)
    assert impacts["xsec_nud"] > 0.02


def test_sideband_livetime_constrains_steady_state(tmp_path):
    errs = []
    for ratio in (10, 100, 1000):
        det = detector_with(tmp_path, f"[backgrounds]\nsideband_livetime_ratio = {ratio}\n")
        nm = build_model(det, SRC, Exposure.from_years(FAC, 1.0)).numpy_model()
        fit = fit_batch(nm, nm.asimov())
        errs.append(fit.errors[0, nm.index("steady_norm")])
    assert errs[0] > errs[1] > errs[2]


def test_sensitivity_scales_like_statistics(model):
    s = sensitivity(model, [1.0, 4.0])
    # stat-only with a free steady-state normalisation: close to 1/sqrt(exposure) (exact without the sideband)
    assert s.stat_only[0] / s.stat_only[1] == pytest.approx(2.0, rel=0.02)
    assert s.total[1] < s.total[0]


def test_toys_are_seeded():
    nm = build_model(load_detector("d2o-1t"), SRC, Exposure.from_years(FAC, 1.0)).numpy_model()
    a = run_toys(nm, 50, seed=3)
    b = run_toys(nm, 50, seed=3)
    c = run_toys(nm, 50, seed=4)
    assert a == b
    assert a.pull_mean != c.pull_mean


@pytest.mark.slow
def test_toy_pulls_and_coverage(model):
    res = run_toys(model.numpy_model(), 4000, seed=7)
    assert res.n_converged >= 3990
    assert abs(res.pull_mean) < 4 * res.pull_mean_error
    assert abs(res.pull_width - 1) < 4 * res.pull_width_error
    assert abs(res.coverage_68 - 0.6827) < 4 * res.coverage_68_error


def test_fit_example_file_cli(capsys):
    code = main(["fit", "--events", EXAMPLE, "--years", "1", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    r = json.loads(out)
    f = r["flux_norm"]
    # pseudo-data at flux_norm = 1: within 3 sigma
    assert abs(f["value"] - 1) < 3 * f["error"]
    assert 0.5 < f["minos_down"] / f["error"] < 1.5 and 0.5 < f["minos_up"] / f["error"] < 1.5
    assert r["nu_per_proton"]["value"] == pytest.approx(0.09 * f["value"])
    assert r["fit_quality"]["p_value"] > 1e-3
    assert r["events"]["used_on"] > 500


def test_fit_rejects_file_without_beam_events(tmp_path, capsys):
    p = tmp_path / "off.csv"
    p.write_text("energy_MeV,time_ns,window\n20,100,off\n")
    assert main(["fit", "--events", str(p), "--years", "1"]) == 2
    assert "no events in the beam window" in capsys.readouterr().err


def test_workspace_cli_and_pyhf_fit(tmp_path, capsys):
    out = tmp_path / "ws.json"
    assert main(["workspace", "--detector", "d2o-module1", "--years", "1", "-o", str(out)]) == 0
    spec = json.loads(out.read_text())
    pyhf.Workspace(spec)  # validates against the schema
    pyhf_cli = shutil.which("pyhf")
    if pyhf_cli:
        r = subprocess.run([pyhf_cli, "fit", str(out)], capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stderr
    assert main(["workspace", "-o", str(tmp_path / "missing" / "ws.json")]) == 2


def test_sensitivity_json(capsys):
    assert main(["sensitivity", "--years", "1,2", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r) >= {"detector", "years", "stat_only", "total", "impacts", "events", "propagation"}
    assert r["years"] == [1.0, 2.0]
    assert 0 < r["stat_only"][1] < r["total"][1] < 0.1
    assert {"csi", "lar"} == set(r["propagation"])
    assert r["propagation"]["csi"]["flux_uncertainty_projected"] == pytest.approx(r["total"][-1])
