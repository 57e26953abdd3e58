"""``d2oflux optics`` / ``calibrate``: bad input (one line, exit 2), the calibration closure, model = "optical"."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from d2oflux.cli import main
from d2oflux.optics.calibrate import calibrate, simulate_analytic_michel_pe

MODULE = (resources.files("d2oflux") / "presets/detectors/d2o-module1.toml").read_text(encoding="utf-8")


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def detector_file(tmp_path, extra: str, response: str | None = None):
    text = MODULE
    if response is not None:
        text = text.replace('model = "analytic"', response, 1)
    p = tmp_path / "det.toml"
    p.write_text(text + "\n" + extra, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ('[optics.pmts]\nlayout = "explicit"\npositions_cm = [[60.0, 0.0, 82.54]]', "outside the light-water"),
        ('[optics.pmts]\nlayout = "explicit"\npositions_cm = [[0.0, 0.0, 82.54], [5.0, 0.0, 82.54]]', "overlap"),
        ("[optics]\nliner_reflectivity = 1.2", "liner_reflectivity"),
        ("[optics.pmts]\nqe = { wavelength_nm = [300.0, 600.0], qe = [0.2, 1.3] }", "[0, 1]"),
        ("[optics.materials.D2O]\nrefractive_index = 0.9", "refractive index"),
        ("[optics.pmts]\ncount = 40", "do not fit"),
    ],
)
def test_bad_optics_config_is_one_line_exit_2(capsys, tmp_path, extra, needle):
    code, out, err = run(capsys, "optics", "--detector", detector_file(tmp_path, extra), "--json")
    assert code == 2 and out == ""
    assert err.startswith("d2oflux: error: ") and err.count("\n") == 1
    assert needle in err


def test_vessel_must_hold_the_d2o_regions_mass(capsys, tmp_path):
    # a 10 m vessel radius beside regions giving 592 kg of D2O was accepted; now one line naming both masses
    det = detector_file(tmp_path, "[optics.vessel]\nd2o_radius_cm = 1000.0")
    code, out, err = run(capsys, "rates", "--detector", det, "--json")
    assert code == 2 and out == "" and err.startswith("d2oflux: error: ") and err.count("\n") == 1
    assert "optics.vessel (d2o_radius_cm = 1000, d2o_height_cm = 140) holds 4.86e+05 kg" in err
    assert "region 'd2o' has mass_kg = 592 (tolerance 10%)" in err


def test_default_vessel_checked_for_model_optical(tmp_path):
    # model = "optical" without [optics] uses the built module's vessel (595 kg): wrong for the 1 t concept
    from d2oflux.detector import load_detector
    from d2oflux.errors import ConfigError

    text = (resources.files("d2oflux") / "presets/detectors/d2o-1t.toml").read_text(encoding="utf-8")
    p = tmp_path / "d.toml"
    p.write_text(text.replace('model = "analytic"', 'model = "optical"', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"the default optics.vessel .* holds 595.4 kg .* mass_kg = 1000 "):
        load_detector(str(p))


def test_vessel_within_tolerance_is_accepted(tmp_path):
    # the presets' module with model = "optical" (596 vs 592 kg) and a vessel filled to 130 of 140 cm (-6.6 %)
    from d2oflux.detector import load_detector

    assert load_detector(str(detector_file(tmp_path, "", response='model = "optical"'))).name == "d2o-module1"
    assert load_detector(str(detector_file(tmp_path, "[optics.vessel]\nd2o_height_cm = 130.0"))).config.optics


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("event,charge\n1,1\n", "no 'pe' column"),
        ("event,pe\n1,10\n2,-3\n", "row 2"),
        ("pe\n" + "0\n" * 500, "did not converge"),
    ],
)
def test_bad_michel_file_is_one_line_exit_2(capsys, tmp_path, content, needle):
    f = tmp_path / "m.csv"
    f.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "calibrate", "--michel", f, "--json")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert needle in err


def test_michel_header_names_are_stripped(capsys, tmp_path):
    # " pe" (a space after the comma of a hand-written header) was reported as "no 'pe' column"
    from d2oflux.optics.calibrate import read_michel_pe

    pe = np.arange(150) + 0.5
    f = tmp_path / "m.csv"
    f.write_text("event, pe , region\n" + "".join(f"{i}, {v}, d2o\n" for i, v in enumerate(pe)), encoding="utf-8")
    np.testing.assert_array_equal(read_michel_pe(f), pe)
    np.testing.assert_array_equal(read_michel_pe(f, region="d2o"), pe)
    f.write_text("pe, pe\n" + "1,2\n" * 150, encoding="utf-8")  # two columns named pe once stripped
    code, out, err = run(capsys, "calibrate", "--michel", f, "--json")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "column 'pe' appears more than once" in err


def test_michel_closure_returns_the_known_response(capsys, tmp_path):
    # Michel PE from a known analytic response (Y = 15 PE/MeV, c = 0.08) -> the fit returns it within
    # 3 of its standard errors, and the CLI writes the TOML section with the energy-scale systematic
    y_true, c_true = 15.0, 0.08
    pe = simulate_analytic_michel_pe(20_000, y_true, c_true, seed=11)
    cal = calibrate(pe)
    assert abs(cal.light_yield - y_true) < 3 * cal.light_yield_error
    assert abs(cal.resolution - c_true) < 3 * cal.resolution_error
    assert cal.p_value > 1e-3
    f = tmp_path / "michel.csv"
    np.savetxt(f, pe, header="pe", comments="", fmt="%.3f")
    out_toml = tmp_path / "cal.toml"
    code, out, _ = run(capsys, "calibrate", "--michel", f, "--json", "-o", out_toml)
    assert code == 0
    d = json.loads(out)
    assert d["light_yield_pe_per_MeV"]["value"] == pytest.approx(cal.light_yield, rel=1e-3)  # file: 3 decimals
    import tomllib

    t = tomllib.loads(out_toml.read_text(encoding="utf-8"))
    assert t["systematics"]["energy_scale"] == pytest.approx(d["energy_scale_uncertainty"], rel=1e-5)
    assert t["response"]["light_yield_pe_per_MeV"] == pytest.approx(d["light_yield_pe_per_MeV"]["value"], rel=1e-5)


@pytest.mark.slow
def test_michel_closure_statistics():
    # over 20 independent samples the pulls of Y have mean ~0 and width ~1 (tolerances: 4 sigma of 20 draws)
    pulls = []
    for seed in range(20):
        cal = calibrate(simulate_analytic_michel_pe(20_000, 10.0, 0.1, seed=100 + seed))
        pulls.append((cal.light_yield - 10.0) / cal.light_yield_error)
    assert abs(np.mean(pulls)) < 4 / np.sqrt(20)
    assert 0.55 < np.std(pulls, ddof=1) < 1.45


def test_optics_json_and_optical_response_in_rates(capsys, tmp_path, monkeypatch):
    # a tiny build (few events) into a temporary cache; then [response] model = "optical" in the rate engine
    monkeypatch.setenv("D2OFLUX_CACHE_DIR", str(tmp_path / "cache"))
    extra = "[optics.build]\nevents_per_energy = 30\nmap_events = 40\nenergies_MeV = [5.0, 20.0, 52.8]\n"
    det = detector_file(tmp_path, extra, response='model = "optical"')
    code, out, _ = run(capsys, "optics", "--detector", det, "--json")
    assert code == 0
    d = json.loads(out)
    for key in ("light_yield_pe_per_MeV", "light_yield_center_pe_per_MeV", "resolution_at_30MeV",
                "photons_traced_per_second", "light_water_fraction"):  # fmt: skip
        assert isinstance(d[key], float)
    assert 2 < d["light_yield_pe_per_MeV"] < 20
    assert list((tmp_path / "cache" / "optics").glob("*.npz"))  # cached
    code, out, _ = run(capsys, "rates", "--detector", det, "--years", "1", "--json")
    assert code == 0
    assert json.loads(out)["channels"]["nue_d_cc"]["detected"] > 100


def test_michel_simulation_file_is_reproducible(capsys, tmp_path):
    files = []
    for name in ("a.csv", "b.csv"):
        f = tmp_path / name
        code, _, _ = run(capsys, "optics", "--michel", 200, "--seed", 3, "-o", f)
        assert code == 0
        files.append(f.read_text(encoding="utf-8"))
    assert files[0] == files[1]
    header = next(ln for ln in files[0].splitlines() if not ln.startswith("#"))
    assert header.split(",")[:3] == ["event", "pe", "kinetic_energy_MeV"]
    code, _, err = run(capsys, "optics", "--michel", 10)
    assert code == 2 and "-o" in err


@pytest.mark.slow
def test_michel_chain_through_the_optical_model(tmp_path):
    # optical Michel events in the D2O -> calibration: the fitted light yield agrees with the derived one
    # (volume average of electrons in the D2O) within 5 % (a single Gaussian only approximates the broad,
    # position-dependent response; measured 7.02 vs 7.05 PE/MeV)
    from d2oflux.optics.config import OpticsConfig
    from d2oflux.optics.michel import simulate_michel
    from d2oflux.optics.response import build_response

    cfg = OpticsConfig.model_validate({"build": {"events_per_energy": 300, "map_events": 100}})
    cols = simulate_michel(cfg, 20_000, seed=5)
    cal = calibrate(cols["pe"][cols["region"] == "d2o"].astype(float))
    derived = build_response(cfg).light_yield_pe_per_MeV
    assert cal.light_yield == pytest.approx(derived, rel=0.05)


def test_optics_needs_a_water_detector(capsys):
    code, out, err = run(capsys, "optics", "--detector", "csi")
    assert code == 2 and out == "" and "no [optics] section" in err
