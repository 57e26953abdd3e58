"""Facility presets at 1.3 GeV (labelled-assumption yields), facility files beside detector TOMLs, exposure text."""

from __future__ import annotations

import pytest

from d2oflux.cli import main
from d2oflux.report import exposure_text
from d2oflux.setup import build_setup
from d2oflux.source import Exposure, load_facility


@pytest.mark.parametrize(("name", "power", "rate"), [("sns-fts-ppu", 2.0, 60.0), ("sns-sts", 0.7, 15.0)])
def test_yield_at_1p3_gev_is_a_labelled_assumption(name, power, rate):
    fac = load_facility(name)
    assert (fac.power_MW, fac.proton_energy_GeV, fac.repetition_rate_Hz) == (power, 1.3, rate)
    # 0.09 at 1.0 GeV scaled with the proton energy, 20 % uncertainty
    assert fac.yield_at(1.3) == pytest.approx(0.09 * 1.3)
    assert fac.nu_per_proton_rel_uncertainty == 0.2
    assert fac.nu_per_proton_source.startswith("assumption")
    exp = Exposure.from_years(fac, 1.0)
    # N_POT = P t / (E e): 5000 h at the facility's power and energy
    assert exp.pot == pytest.approx(power * 1e6 * 5000 * 3600 / (1.3e9 * 1.602176634e-19), rel=1e-12)
    assert exposure_text(fac).startswith(f"5000 h at {power:g} MW, 1.3 GeV")


def test_facility_file_relative_to_detector_toml(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "fac.toml").write_text(
        'name = "myfac"\npower_MW = 1.0\nproton_energy_GeV = 1.0\nrepetition_rate_Hz = 60.0\nnu_per_proton = 0.08\n'
    )
    det = tmp_path / "sub" / "det.toml"
    det.write_text(
        'name = "x"\ndistance_m = 20.0\nfacility = "fac.toml"\n'
        '[[regions]]\nname = "d2o"\nmaterial = "D2O"\nmass_kg = 100.0\n'
    )
    monkeypatch.chdir(tmp_path)  # not the TOML's folder
    _, src, exp = build_setup(str(det), 1.0, None, None, None, None, True)
    assert src.facility.name == "myfac" and exp.nu_per_proton == 0.08


def test_report_has_facility_options(capsys):
    assert main(["report", "--help"]) == 0
    out = capsys.readouterr().out
    for opt in ("--facility", "--nu-per-proton", "--systematics", "--no-radiative-corrections"):
        assert opt in out
