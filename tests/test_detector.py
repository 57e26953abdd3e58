"""Detector files, materials and the response: presets, user files, and every bad input."""

import numpy as np
import pytest

from d2oflux.detector import load_detector
from d2oflux.errors import ConfigError
from d2oflux.materials import material
from d2oflux.response import Response, load_response_file

AVOGADRO = 6.02214076e23


def test_d2o_targets_per_kg_by_hand():
    # 1000 g / 20.0276 g/mol x N_A molecules; 2 d, 1 16O, 10 electrons each (docs/physics.md §4)
    t = material("D2O", deuterium_fraction=1.0).targets_per_kg()
    molecules = 1000 / 20.0276 * AVOGADRO
    assert t["deuteron"] == pytest.approx(2 * molecules, rel=2e-5)  # molar mass quoted to 6 digits
    assert t["o16"] == pytest.approx(molecules, rel=2e-5)
    assert t["electron"] == pytest.approx(10 * molecules, rel=2e-5)
    assert "proton" not in t


def test_isotopic_purity_moves_deuterons_to_protons():
    t = material("D2O", deuterium_fraction=0.99).targets_per_kg()
    assert t["proton"] / (t["deuteron"] + t["proton"]) == pytest.approx(0.01)


def test_other_materials_by_hand():
    water = material("H2O").targets_per_kg()
    assert water["proton"] == pytest.approx(2 * 1000 / 18.0153 * AVOGADRO, rel=1e-4)
    csi = material("CsI").targets_per_kg()
    assert csi["nucleus:Cs"] == pytest.approx(1000 / 259.8099 * AVOGADRO, rel=1e-5)
    assert csi["electron"] == pytest.approx(108 * csi["nucleus:Cs"])
    acrylic = material("acrylic").targets_per_kg()
    assert acrylic["electron"] == pytest.approx(54 * 1000 / 100.117 * AVOGADRO, rel=1e-4)


def test_presets_load():
    for name in ("d2o-module1", "d2o-1t", "csi", "lar"):
        det = load_detector(name)
        assert det.distance_m > 0
    mod = load_detector("d2o-module1")
    assert [r.name for r in mod.regions] == ["d2o", "acrylic", "h2o"]
    # the D2O cylinder: 70 cm x 140 cm at 1.105 g/cm^3 is 595 kg, "consistent with 592 kg" (docs/physics.md §5)
    assert mod.regions[0].geometry.volume_cm3 * 1.105e-3 == pytest.approx(595, abs=1)


def test_user_file_equals_preset(tmp_path):
    from importlib import resources

    text = (resources.files("d2oflux") / "presets/detectors/d2o-module1.toml").read_text()
    p = tmp_path / "mine.toml"
    p.write_text(text)
    a, b = load_detector("d2o-module1"), load_detector(p)
    assert a.config == b.config
    assert np.array_equal(a.response.matrix, b.response.matrix)


BASE = """
name = "x"
distance_m = 20
[[regions]]
name = "d2o"
material = "D2O"
mass_kg = 100
"""


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (BASE.replace("mass_kg", "mas_kg"), "unknown key 'regions.0.mas_kg'.*did you mean 'mass_kg'"),
        (BASE.replace("mass_kg = 100", "mass_kg = -1"), "regions.0.mass_kg.*greater than 0"),
        (BASE.replace("mass_kg = 100", "mass_kg = 0"), "regions.0.mass_kg"),
        (BASE.replace("distance_m = 20", "distance_m = 0"), "distance_m"),
        (BASE.replace('"D2O"', '"D20"'), "material 'D20'.*did you mean 'D2O'"),
        (BASE + "\n[binning]\nreco_energy_MeV = {edges = [0, 10, 5]}\n", "strictly increasing"),
        (BASE + "\n[binning]\nreco_energy_MeV = {min = 10, max = 0, width = 1}\n", "not increasing"),
        (BASE + "\n[analysis]\nenergy_window_MeV = [11, 55]\n", "not a bin edge"),
        (BASE + "\n[respons]\nefficiency = 1\n", "unknown key 'respons'.*did you mean 'response'"),
        (BASE.replace('name = "x"', 'name = "x"\nname = "y"'), "malformed TOML"),
        (BASE.replace("distance_m = 20", ""), "missing required key 'distance_m'"),
    ],
)
def test_bad_detector_files(tmp_path, text, match):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_detector(p)


def test_unknown_preset_suggests():
    with pytest.raises(ConfigError, match="unknown detector 'd2o-modul1'.*did you mean 'd2o-module1'"):
        load_detector("d2o-modul1")
    with pytest.raises(ConfigError, match="does not exist"):
        load_detector("/no/such/file.toml")


def test_analytic_response_resolution_matches_formula():
    # a narrow visible bin at 30 MeV smeared with sigma/E = sqrt(1/(Y E) + c^2); compare the variance of the
    # reconstructed distribution with the formula (fine reco bins: binning error < 0.1 %)
    vis = np.array([29.999, 30.001])
    reco = np.linspace(0, 60, 6001)
    r = Response.analytic(vis, reco, light_yield_pe_per_MeV=15.0, resolution_constant=0.05)
    centers = 0.5 * (reco[1:] + reco[:-1])
    p = r.matrix[0]
    mean = (p * centers).sum()
    sd = np.sqrt((p * (centers - mean) ** 2).sum())
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert mean == pytest.approx(30.0, abs=1e-3)
    assert sd == pytest.approx(30 * np.sqrt(1 / (15 * 30) + 0.05**2), rel=1e-3)


def test_threshold_and_efficiency():
    vis = np.linspace(0, 20, 81)
    reco = np.linspace(0, 20, 21)
    r = Response.analytic(
        vis, reco, light_yield_pe_per_MeV=1e6, resolution_constant=1e-4, threshold_MeV=5.0, efficiency=0.8
    )
    folded = r.fold(np.ones(80))
    assert folded[:5].sum() == pytest.approx(0.0, abs=1e-6)
    assert folded[10] == pytest.approx(0.8 * 4, rel=1e-3)


def _write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_response_files_round_trip(tmp_path):
    vis = np.linspace(0, 10, 6)
    reco = np.linspace(0, 10, 3)
    m = np.tile([[0.5, 0.5]], (5, 1))
    eff = np.full(5, 0.9)
    npz = load_response_file(
        _write_npz(tmp_path / "r.npz", visible_edges_MeV=vis, reco_edges_MeV=reco, matrix=m, efficiency=eff)
    )
    assert np.allclose(npz.matrix, m) and np.allclose(npz.efficiency, eff)
    rows = ["visible_lo_MeV,visible_hi_MeV,reco_lo_MeV,reco_hi_MeV,probability,efficiency"]
    for i in range(5):
        for j in range(2):
            rows.append(f"{vis[i]},{vis[i + 1]},{reco[j]},{reco[j + 1]},0.5,0.9")
    (tmp_path / "r.csv").write_text("\n".join(rows))
    csv = load_response_file(tmp_path / "r.csv")
    assert np.allclose(csv.matrix, m) and np.allclose(csv.efficiency, eff)


def test_response_root_th2(tmp_path):
    uproot = pytest.importorskip("uproot")
    vis = np.linspace(0, 10, 6)
    reco = np.linspace(0, 10, 3)
    counts = np.tile([[30.0, 10.0]], (5, 1))
    with uproot.recreate(tmp_path / "r.root") as f:
        f["smearing"] = (counts, vis, reco)
    r = load_response_file(tmp_path / "r.root", normalise_rows=True)
    assert np.allclose(r.matrix, [[0.75, 0.25]] * 5)
    assert np.allclose(r.visible_edges_MeV, vis)


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"matrix": np.ones((4, 2)) * 0.5}, "shape .* does not match its binning"),
        ({"matrix": np.full((5, 2), np.nan)}, "NaN"),
        ({"matrix": np.full((5, 2), -0.1)}, "negative"),
        ({"matrix": np.ones((5, 2))}, "sums to more than 1"),
        ({"visible_edges_MeV": np.array([0, 2, 1, 3, 4, 5.0])}, "not strictly increasing"),
    ],
)
def test_bad_response_files(tmp_path, arrays, match):
    base = {
        "visible_edges_MeV": np.linspace(0, 10, 6),
        "reco_edges_MeV": np.linspace(0, 10, 3),
        "matrix": np.full((5, 2), 0.5),
    }
    base.update(arrays)
    with pytest.raises(ConfigError, match=match):
        load_response_file(_write_npz(tmp_path / "bad.npz", **base))
    with pytest.raises(ConfigError, match="unknown suffix"):
        load_response_file(_write_npz(tmp_path / "bad.npz", **base).rename(tmp_path / "bad.txt"))
