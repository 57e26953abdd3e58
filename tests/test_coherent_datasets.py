"""COHERENT data sets: predictions and fits against the published numbers, release checks, bad input.

Reference numbers (not produced here): CsI 2021 (arXiv:2110.07730) predicted 333 +- 43, fitted 306 +- 20 CEvNS
events; LAr 2020 Analysis A (arXiv:2003.10630, release arXiv:2006.12659 Table 2) predicted 128 +- 17, fitted
159 +- 43, prompt BRN 553 +- 34, delayed BRN 10 +- 11, steady state 3131 +- 23; the LAr release's CEvNS PDF.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from _coherent_data import COHERENT_DIR, CSI_DIR, LAR_DIR, needs_releases
from d2oflux.cli import main
from d2oflux.coherent.dataset import load_dataset
from d2oflux.coherent.fit import build_dataset_model
from d2oflux.coherent.joint import build_likelihood, fit_datasets
from d2oflux.coherent.predict import predict_cevns
from d2oflux.coherent.releases import read_binned
from d2oflux.errors import ConfigError

pytestmark = needs_releases

CSI = "coherent-csi-2021"
LAR = "coherent-lar-2020"


@pytest.fixture(scope="module")
def lar():
    return load_dataset(LAR, COHERENT_DIR)


@pytest.fixture(scope="module")
def csi():
    return load_dataset(CSI, COHERENT_DIR)


def test_predictions_vs_published(lar, csi):
    # published predictions carry 13 % uncertainties; the differences (4-5 %) are explained in docs/coherent.md
    ratio_lar = predict_cevns(lar).sum() / 128.0
    ratio_csi = predict_cevns(csi).sum() / 333.0
    print(f"predicted/published: LAr {ratio_lar:.3f}, CsI {ratio_csi:.3f}")
    assert ratio_lar == pytest.approx(1.0, abs=0.08)
    assert ratio_csi == pytest.approx(1.0, abs=0.08)


def test_lar_arrival_time_and_energy_vs_release_pdf(lar):
    # per-bin fractions of our CEvNS model vs the release's CEvNS PDF (independent simulation by COHERENT)
    ours = predict_cevns(lar)
    _, theirs = read_binned(LAR_DIR / "cevnspdf.txt", 3)
    t_ours = ours.sum(axis=(0, 1)) / ours.sum()
    t_theirs = theirs.sum(axis=(0, 1)) / theirs.sum()
    np.testing.assert_allclose(t_ours, t_theirs, atol=0.01)  # first bin (the POT rise) 0.095 vs 0.087
    np.testing.assert_allclose(t_ours[1:], t_theirs[1:], rtol=0.03, atol=1e-3)
    e_ours = ours.sum(axis=(1, 2)) / ours.sum()
    e_theirs = theirs.sum(axis=(1, 2)) / theirs.sum()
    np.testing.assert_allclose(e_ours, e_theirs, atol=0.02)


@pytest.fixture(scope="module")
def lar_fit():
    return fit_datasets([LAR], data_dir=COHERENT_DIR)


@pytest.fixture(scope="module")
def csi_fit():
    return fit_datasets([CSI], data_dir=COHERENT_DIR)


def test_lar_fit_vs_published(lar_fit):
    ev = lar_fit["fitted_events"]
    # within one published sigma (the shift, -0.6 sigma, is discussed in docs/coherent.md)
    assert abs(ev["cevns"]["value"] - 159) < 43
    assert ev["cevns"]["error"] == pytest.approx(43, rel=0.25)
    assert abs(ev["brn_prompt"]["value"] - 553) < 34
    assert abs(ev["brn_delayed"]["value"] - 10) < 11
    assert abs(ev["steady_state"]["value"] - 3131) < 23
    assert lar_fit["valid"]


def test_csi_fit_vs_published(csi_fit):
    ev = csi_fit["fitted_events"]
    # within one published sigma (310.5 here: +0.2 sigma, docs/coherent.md); before the steady-state time shape and
    # the BRN/NIN energy normalisation were fixed it was 340 (+1.7 sigma)
    assert abs(ev["cevns"]["value"] - 306) < 20
    # our error (32.6) is 1.6x the published 20 and stays 30 with every nuisance and the steady state fixed:
    # unexplained (docs/coherent.md); this bound only guards against it growing
    assert ev["cevns"]["error"] < 1.75 * 20
    assert csi_fit["valid"]
    gof = csi_fit["goodness_of_fit"]
    assert gof["ndf"] > 90 and 0 <= gof["p_value"] <= 1  # 99 bins of the paper's binning


def test_csi_neutron_backgrounds_keep_the_release_yield_in_the_region(csi):
    # second method, straight from the release files: the time projection carries the yield of all 0-250 PE
    # events (times the time acceptance, 1 before 0.52 us, exp(-0.0494/us (t - 0.52)) after); the PE projection
    # gives the fraction below 60 PE. Published for 0-60 PE (arXiv:2110.07730 as used by public re-analyses):
    # BRN 18.4; our files give 18.3. Tolerance 1 % (midpoint rule on the 10 ns rows vs the template's sub-bins).
    for name in ("brn", "nin"):
        pe = np.loadtxt(CSI_DIR / f"{name}PE.txt")
        t = np.loadtxt(CSI_DIR / f"{name}Trec.txt")
        in_window = (t[:, 0] >= 0) & (t[:, 0] < 6)
        acc = np.where(t[:, 0] < 0.52, 1.0, np.exp(-0.0494 * (t[:, 0] - 0.52)))
        expected = (t[in_window, 1] * acc[in_window]).sum() * pe[pe[:, 0] < 60, 1].sum() / pe[:, 1].sum()
        assert csi.backgrounds[name].sum() == pytest.approx(expected, rel=0.01)
    assert csi.backgrounds["brn"].sum() == pytest.approx(18.4, rel=0.02)


def test_csi_steady_state_time_shape_is_the_time_acceptance(csi):
    # the anti-coincidence (AC) sample's own times: ML fit of exp(-k (t - 0.52 us)) after 0.52 us (flat before)
    # to the 1295 events below 60 PE gives k = 0.035 +- 0.016 /us, compatible with the acceptance's 0.0494 /us and
    # 2 sigma away from a flat steady state (k = 0); the template's time shape follows the acceptance
    from scipy.optimize import minimize_scalar

    ac = np.loadtxt(CSI_DIR / "dataBeamOnAC.txt")
    t = ac[(ac[:, 0] < 60) & (ac[:, 1] < 6), 1]

    def nll(k):
        norm = 0.52 + (1 - np.exp(-k * (6 - 0.52))) / k
        return np.sum(k * np.clip(t - 0.52, 0, None)) + t.size * np.log(norm)

    k = minimize_scalar(nll, bounds=(1e-4, 0.5), method="bounded").x
    h = 1e-3
    sigma = 1 / np.sqrt((nll(k + h) - 2 * nll(k) + nll(k - h)) / h**2)
    assert abs(k - 0.0494) < 2 * sigma and k > sigma
    ss = csi.backgrounds["steady_state"]
    assert ss.sum() == pytest.approx(t.size)  # normalised to the AC count in the region
    per_us = ss.sum(axis=0) / np.diff(csi.edges["time"])
    assert per_us[-1] / per_us[0] == pytest.approx(np.exp(-0.0494 * (5.0 - 0.52)), rel=0.01)  # 4-6 us bin mean


def test_joint_fit_shares_flux_and_d2o_constrains_it():
    from d2oflux.analysis.model import build_model
    from d2oflux.detector import load_detector
    from d2oflux.source import Exposure, Source, load_facility

    m = build_dataset_model(load_dataset(LAR, COHERENT_DIR))
    alone = build_likelihood([m])
    assert "flux_norm" in alone.priors
    det = load_detector("d2o-module1")
    fac = load_facility("sns-fts")
    d2o = build_model(det, Source(fac, True), Exposure.from_years(fac, 1.0))
    joint = build_likelihood([m], d2o)
    assert "flux_norm" not in joint.priors  # the D2O data measure it
    assert joint.parameters.count("flux_norm") == 1
    assert "pot" in joint.parameters and "d2o/efficiency" in joint.parameters
    from d2oflux.coherent.fit import minimise

    res = minimise(joint)
    assert res.error("flux_norm") < 0.08  # 1 SNS-year of D2O beats today's 10 %


def test_cli_json_one_object(tmp_path, capsys):
    code = main(["fit", "--dataset", LAR, "--data-dir", str(COHERENT_DIR), "--json", "-o", str(tmp_path / "f.png")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"] == LAR
    assert {"value", "error"} <= set(out["parameters"]["cevns_xsec"])
    assert {"value", "error"} <= set(out["fitted_events"]["cevns"])
    assert isinstance(out["predicted_events"]["cevns"], float)
    assert (tmp_path / "f.png").stat().st_size > 1000


def _copy_releases(tmp_path):
    dst = tmp_path / "data"
    shutil.copytree(COHERENT_DIR / "lar2020", dst / "lar2020")
    return dst


def test_corrupted_release_file_is_a_one_line_error(tmp_path, capsys):
    d = _copy_releases(tmp_path)
    with (d / "lar2020" / "bkgpdf.txt").open("a") as fh:
        fh.write("\n")
    assert main(["fit", "--dataset", LAR, "--data-dir", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert "wrong SHA-256" in err and "--data-dir" in err and len(err.splitlines()) == 1


def test_missing_release_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist.*download"):
        load_dataset(LAR, tmp_path)


def _write_variant(tmp_path, preset_text: str, old: str, new: str) -> str:
    assert old in preset_text, old
    p = tmp_path / "variant.toml"
    p.write_text(preset_text.replace(old, new), encoding="utf-8")
    return str(p)


@pytest.fixture
def lar_text():
    from importlib import resources

    return (resources.files("d2oflux") / "presets/datasets/coherent-lar-2020.toml").read_text()


def test_binning_disagreeing_with_template(tmp_path, lar_text):
    path = _write_variant(
        tmp_path, lar_text, "min = 0.0, max = 120.0, width = 10.0", "min = 0.0, max = 120.0, width = 5.0"
    )
    with pytest.raises(ConfigError, match="axis 'energy' has bins"):
        load_dataset(path, COHERENT_DIR)


def test_template_with_negative_entry(tmp_path, lar_text):
    rows = (LAR_DIR / "bkgpdf.txt").read_text().splitlines()
    rows[3] = rows[3].rsplit(" ", 1)[0] + " -1.0"
    (tmp_path / "neg.txt").write_text("\n".join(rows))
    path = _write_variant(tmp_path, lar_text, 'file = "lar2020/bkgpdf.txt"', f'file = "{tmp_path / "neg.txt"}"')
    with pytest.raises(ConfigError, match="negative entry in data row 4"):
        load_dataset(path, COHERENT_DIR)


def test_axis_the_response_does_not_produce(tmp_path, lar_text):
    path = _write_variant(tmp_path, lar_text, 'energy = { unit = "keVee"', 'energy = { unit = "PE"')
    with pytest.raises(ConfigError, match="response produces keVee"):
        load_dataset(path, COHERENT_DIR)
    path = _write_variant(tmp_path, lar_text, "[pulse_shape]", "[notes]\n#")
    with pytest.raises(ConfigError):
        load_dataset(path, COHERENT_DIR)


def test_nuisance_without_effect(tmp_path, lar_text):
    path = _write_variant(
        tmp_path,
        lar_text,
        "up = [0.252, 0.00078]\ndown = [0.240, 0.00078]",
        "up = [0.246, 0.00078]\ndown = [0.246, 0.00078]",
    )
    with pytest.raises(ConfigError, match="'qf_a' .* has no effect"):
        build_dataset_model(load_dataset(path, COHERENT_DIR))
    path = _write_variant(
        tmp_path,
        lar_text,
        'acts_on = "quenching"\nup = [0.252, 0.00078]\ndown = [0.240, 0.00078]',
        'acts_on = "time_acceptance"\nrelative = 0.1',
    )
    with pytest.raises(ConfigError, match="no effect"):
        build_dataset_model(load_dataset(path, COHERENT_DIR))


def test_release_cevns_pdf_reproduces_the_published_lar_fit(tmp_path, lar_text):
    # second method for the likelihood: with COHERENT's own CEvNS PDF as the template, the fit must land on the
    # published best fit (the remaining shift with our prediction comes from the template shape, docs/coherent.md)
    path = _write_variant(
        tmp_path, lar_text, "[pulse_shape]", '[cevns_template]\nfile = "lar2020/cevnspdf.txt"\n\n[pulse_shape]'
    )
    ev = fit_datasets([path], data_dir=COHERENT_DIR)["fitted_events"]
    assert ev["cevns"]["value"] == pytest.approx(159, abs=0.1 * 43)
    assert ev["cevns"]["error"] == pytest.approx(43, rel=0.05)
    assert ev["brn_prompt"]["value"] == pytest.approx(553, abs=0.1 * 34)
    assert ev["brn_delayed"]["value"] == pytest.approx(10, abs=0.1 * 11)
    assert ev["steady_state"]["value"] == pytest.approx(3131, abs=0.1 * 23)


def test_inline_lar_acceptance_is_the_release_table():
    import tomllib
    from importlib import resources

    cfg = tomllib.loads((resources.files("d2oflux") / "presets/datasets/coherent-lar-2020.toml").read_text())
    table = np.loadtxt(LAR_DIR / "CENNS10AnlAEfficiency.txt")
    np.testing.assert_array_equal(cfg["response"]["acceptance"]["table_x"], table[:, 0])
    np.testing.assert_array_equal(cfg["response"]["acceptance"]["table_efficiency"], table[:, 2])


def test_lar_detector_preset_counts_like_the_data_set(lar):
    # the rate engine with the 'lar' preset (chain as an efficiency per recoil bin, Gaussian POT timing in its
    # -0.1..4.9 us window) against the data set's full prediction on its axes: same chain, second code path
    from d2oflux.detector import load_detector
    from d2oflux.rates import expect
    from d2oflux.source import Exposure, Source, load_facility

    fac = load_facility("sns-fts", nu_per_proton=0.09)
    res = expect(load_detector("lar"), Source(fac), Exposure.from_pot(fac, 1.38e23))
    assert res.channels["cevns_Ar"].detected == pytest.approx(predict_cevns(lar).sum(), rel=0.01)


def test_root_histogram_input(tmp_path, lar_text, lar):
    # the LAr data as a ROOT TH3 (written with uproot) must reproduce the text-format histogram exactly
    import uproot

    e = [lar.edges[a] for a in lar.axis_names]
    with uproot.recreate(tmp_path / "d.root") as f:
        f["data"] = (lar.observed, *e)
    path = _write_variant(
        tmp_path,
        lar_text,
        'file = "lar2020/datanobkgsub.txt"     # beam-on data, no background subtraction\nformat = "binned"',
        f'file = "{tmp_path / "d.root"}"\nformat = "root"\nobject = "data"',
    )
    np.testing.assert_array_equal(load_dataset(path, COHERENT_DIR).observed, lar.observed)


def test_propagation_d2o_shrinks_the_cevns_cross_section_uncertainty():
    from d2oflux.coherent.propagation import propagation_rows, propagation_table

    rows = propagation_rows([CSI], years=[1.0], data_dir=COHERENT_DIR)
    by = {r.flux_constraint.split(" ")[0]: r for r in rows}
    today, d2o, exact = by["today"], by["D2O"], by["flux"]
    assert today.flux_uncertainty == pytest.approx(0.10, rel=1e-3)
    assert exact.cevns_xsec_uncertainty < d2o.cevns_xsec_uncertainty < today.cevns_xsec_uncertainty
    # the flux part adds in quadrature: sqrt(today^2 - exact^2) is the 10 % prior times the cross section
    assert np.sqrt(today.cevns_xsec_uncertainty**2 - exact.cevns_xsec_uncertainty**2) == pytest.approx(
        0.10 * today.cevns_xsec, rel=0.1
    )
    assert "coherent-csi-2021" in propagation_table(rows)
