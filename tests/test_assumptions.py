"""One table of defaults with sources (issue 8): the configs read it, the rows cite every number."""

from __future__ import annotations

import math

import pytest

from d2oflux.assumptions import DEFAULTS, assumption_rows
from d2oflux.detector import BackgroundConfig, SystematicsConfig, load_detector
from d2oflux.errors import ConfigError
from d2oflux.source import load_facility
from d2oflux.systematics import apply_profile, load_profile


def test_every_default_has_a_source_or_is_an_assumption():
    for key, a in DEFAULTS.items():
        assert a.source, key
        cited = any(t in a.source for t in ("arXiv", "hep-ph", "nucl-th", "d2oflux.xsec"))
        assert a.source.startswith("assumption: ") or cited, key


def test_config_defaults_read_the_table():
    for cls, section in ((BackgroundConfig, "backgrounds"), (SystematicsConfig, "systematics")):
        values = cls().model_dump()
        for key, a in DEFAULTS.items():
            if key.startswith(section + "."):
                assert values[key.split(".", 1)[1]] == a.value, key


@pytest.mark.parametrize("name", ["d2o-module1", "d2o-1t"])
def test_presets_use_the_documented_response_and_window(name):
    cfg = load_detector(name).config
    for key, a in DEFAULTS.items():
        section, field = key.split(".", 1)
        if section in ("response", "analysis"):
            v = getattr(getattr(cfg, section), field)
            assert (list(v) if isinstance(v, tuple) else v) == a.value, key


def test_d2o_1t_geometry_holds_one_tonne():
    (region,) = load_detector("d2o-1t").regions
    assert region.mass_kg == 1000.0
    assert region.geometry.volume_cm3 * 1.105 / 1000 == pytest.approx(1000.0, rel=1e-5)


def test_rows_cover_response_window_backgrounds_systematics_facility():
    rows = assumption_rows(load_detector("d2o-module1"), load_facility("sns-fts-ppu"), "theory-only")
    names = {r["name"] for r in rows}
    assert {"response.threshold_MeV", "analysis.energy_window_MeV", "backgrounds.steady_state_rate_per_MeV_s"} <= names
    assert {"systematics.efficiency", "facility.nu_per_proton", "physics.nd_capture_probability"} <= names
    for r in rows:
        assert set(r) == {"name", "value", "unit", "source"} and r["source"], r
    by = {r["name"]: r for r in rows}
    assert by["systematics.efficiency"]["value"] == 0.0
    assert "theory-only" in by["systematics.efficiency"]["source"]
    assert by["facility.nu_per_proton"]["source"].startswith("assumption")
    assert 0.005 < by["physics.nd_capture_probability"]["value"] < 0.02


def test_profiles(tmp_path):
    det = load_detector("d2o-module1")
    theory = apply_profile(det, "theory-only").config
    assert theory.systematics.efficiency == 0 and theory.systematics.nud_cross_section == 0.03
    assert theory.backgrounds.beam_neutron_rel_uncertainty == 0
    f = tmp_path / "mine.toml"
    f.write_text("[systematics]\nefficiency = 0.05\n")
    mine = apply_profile(det, str(f)).config.systematics
    assert mine.efficiency == 0.05 and mine.pot == 0.01
    f.write_text("effciency = 0.05\n")
    with pytest.raises(ConfigError, match="unknown key 'effciency'"):
        load_profile(str(f))
    f.write_text("pot = -1\n")
    with pytest.raises(ConfigError, match="'pot' must be a number >= 0"):
        load_profile(str(f))
    assert not math.isnan(SystematicsConfig().radiative_correction)


def test_markdown_table(capsys):
    from d2oflux.assumptions import main

    main(["d2o-1t", "sns-sts", "theory-only"])
    out = capsys.readouterr().out
    assert out.startswith("| name | value | unit | source |")
    assert "| facility.power_MW | 0.7 | MW |" in out
