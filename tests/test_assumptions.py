"""One table of defaults with sources (issue 8): the configs read it, the rows cite every number."""

from __future__ import annotations

import math
import re

import pytest

from d2oflux.assumptions import DEFAULTS, assumption_rows
from d2oflux.detector import AnalysisConfig, BackgroundConfig, ResponseConfig, SystematicsConfig, load_detector
from d2oflux.errors import ConfigError
from d2oflux.source import load_facility
from d2oflux.systematics import apply_profile, load_profile


def test_every_default_has_a_source_or_is_an_assumption():
    for key, a in DEFAULTS.items():
        assert a.source, key
        cited = any(t in a.source for t in ("arXiv", "hep-ph", "nucl-th", "d2oflux.xsec"))
        assert a.source.startswith("assumption: ") or cited, key


def test_config_defaults_read_the_table():
    classes = ((ResponseConfig, "response"), (AnalysisConfig, "analysis"))
    classes += ((BackgroundConfig, "backgrounds"), (SystematicsConfig, "systematics"))
    seen = set()
    for cls, section in classes:
        values = cls().model_dump()
        for key, a in DEFAULTS.items():
            if key.startswith(section + "."):
                v = values[key.split(".", 1)[1]]
                assert (list(v) if isinstance(v, tuple) else v) == a.value, key
                seen.add(key)
    assert seen == set(DEFAULTS)
    assert ResponseConfig().threshold_MeV == 5.0  # once 0 in the schema while the table said 5


def test_a_file_without_response_settings_gets_the_table(write_detector):
    lines = ("light_yield_pe_per_MeV = 15.0", "resolution_constant = 0.05", "threshold_MeV = 5.0", "efficiency = 1.0")
    det = load_detector(write_detector({line: "" for line in lines}))
    preset = load_detector("d2o-module1")
    assert det.config.response == preset.config.response
    rows = {r["name"]: r for r in assumption_rows(det, load_facility("sns-fts"))}
    assert rows["response.threshold_MeV"]["value"] == 5.0
    assert rows["response.threshold_MeV"]["source"] == DEFAULTS["response.threshold_MeV"].source


def test_documented_response_defaults_match(repo_root):
    # docs/extending.md lists the [response] defaults in the order of its key column
    text = (repo_root / "docs" / "extending.md").read_text(encoding="utf-8")
    row = next(ln for ln in text.splitlines() if ln.startswith("| `[response]` `light_yield_pe_per_MeV`"))
    keys = re.findall(r"`(\w+)`", row.split("|")[1])  # `[response]` does not match
    values = [float(x) for x in row.split("|")[3].split("(")[0].split(",")]
    assert keys == ["light_yield_pe_per_MeV", "resolution_constant", "energy_scale", "threshold_MeV", "efficiency"]
    defaults = ResponseConfig()
    assert values == [getattr(defaults, k) for k in keys]


def test_rows_list_only_the_response_settings_the_model_uses():
    names = {r["name"] for r in assumption_rows(load_detector("csi"), load_facility("sns-fts"))}
    assert not any(n.startswith("response.") for n in names)  # the chain has no threshold or light yield
    assert "analysis.energy_window_MeV" in names
    names = {r["name"] for r in assumption_rows(load_detector("d2o-1t"), load_facility("sns-fts"))}
    assert {k for k in DEFAULTS if k.startswith("response.")} <= names


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
