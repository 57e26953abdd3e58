"""The command line: output formats and one-line errors with exit status 2."""

import json
import subprocess
import sys

import pytest

from d2oflux.cli import main

CHANNELS = {"nue_d_cc", "nc_d", "nue_o16_cc", "nc_o16", "es_nue", "es_numu", "es_anumu", "ibd_h"}


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_rates_json_is_one_object(capsys):
    code, out, _ = run(capsys, "rates", "--detector", "d2o-module1", "--years", "2", "--json")
    assert code == 0
    obj = json.loads(out)  # exactly one JSON document on stdout
    assert set(obj) == {"detector", "exposure", "flux_per_flavour_cm2", "channels"}
    assert obj["exposure"]["years"] == pytest.approx(2.0)
    assert {"nu_mu", "nu_e", "anti_nu_mu"} <= set(obj["flux_per_flavour_cm2"])
    assert CHANNELS <= set(obj["channels"])
    assert "nue_o16_cc@h2o" in obj["channels"]
    for v in obj["channels"].values():
        assert set(v) == {"interactions", "detected"}


def test_rates_table_and_pot(capsys):
    code, out, _ = run(capsys, "rates", "--pot", "1e23")
    assert code == 0
    assert "nue_d_cc" in out and "1e+23 POT" in out


def test_beam_history(capsys, tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("start,end,power_MW,proton_energy_GeV\n2025-01-01,2025-07-28T08:00,1.4,1.0\n")
    code, out, _ = run(capsys, "rates", "--beam-history", str(p), "--json")
    assert code == 0
    # 208.33 days = 5000 h at 1.4 MW and 1 GeV = 1 SNS-year
    assert json.loads(out)["exposure"]["years"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["rates", "--detector", "d2o-modul1"], "did you mean 'd2o-module1'"),
        (["rates", "--detector", "/nope/x.toml"], "does not exist"),
        (["rates", "--years", "-1"], "years"),
        (["rates", "--years", "0"], "years"),
        (["rates", "--pot", "nan"], "pot"),
        (["rates", "--years", "1", "--pot", "1e22"], "only one of"),
        # sns-sts used to stop with "not published"; since issue 8 it ships a labelled-assumption yield
        (["rates", "--systematics", "x"], "No such option"),
        (["sensitivity", "--systematics", "nope.toml"], "theory-only or a TOML file"),
        (["rates", "--o16-model", "suzuki"], "kolbe"),
        (["rates", "--yeers", "1"], "No such option"),
        (["sensitivity", "--years", ""], "non-empty"),
        (["sensitivity", "--years", "1,-2"], "positive"),
        (["sensitivity", "--years", "a,b"], "comma-separated"),
        (["sensitivity", "--years", "1,,2"], "--years: empty item in '1,,2'"),  # was read as 1,2
        (["sensitivity", "--cevns-detectors", ""], "CEvNS detectors (presets csi, lar"),  # was an empty table
        (["sensitivity", "--cevns-detectors", "csi,,lar"], "--cevns-detectors"),
        (["fit", "--events", "x.csv"], "exposure"),
    ],
)
def test_bad_input_one_line_exit_2(capsys, args, match):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("d2oflux: error:")
    assert match in lines[0]


def test_bad_detector_key_via_entry_point(tmp_path):
    p = tmp_path / "d.toml"
    p.write_text('name = "x"\ndistance_m = 20\n[[regions]]\nname = "a"\nmaterial = "D2O"\nmas_kg = 1\n')
    r = subprocess.run(
        [sys.executable, "-m", "d2oflux.cli", "rates", "--detector", str(p)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "did you mean 'mass_kg'" in r.stderr


def test_model_options_group_packs_the_options_into_settings():
    """options.model_options: the named options replace ``settings`` in the signature, with the ModelSettings
    defaults, and reach the command as one ModelSettings (the fields not named keep their defaults)."""
    import inspect
    from dataclasses import fields

    from d2oflux.options import model_options
    from d2oflux.settings import ModelSettings, O16Model

    seen = []

    @model_options("detector", "o16_model", "flux_file")
    def command(first: int = 0, *, settings: ModelSettings, last: bool = False) -> None:
        seen.append((first, settings, last))

    params = inspect.signature(command).parameters
    assert list(params) == ["first", "detector", "o16_model", "flux_file", "last"]
    defaults = {f.name: f.default for f in fields(ModelSettings)}
    assert all(params[n].default == defaults[n] for n in ("detector", "o16_model", "flux_file"))
    command(first=1, detector="csi", o16_model=O16Model.nakazato, flux_file=None, last=True)
    assert seen == [(1, ModelSettings(detector="csi", o16_model=O16Model.nakazato), True)]


def test_cevns_detectors_none_skips_the_propagation():
    """``--cevns-detectors none`` is the way to ask for no CEvNS propagation (an empty string is refused)."""
    from d2oflux.cli import parse_cevns_detectors

    assert parse_cevns_detectors("none") == []
    assert parse_cevns_detectors(" None ") == []
    assert parse_cevns_detectors("csi, lar") == ["csi", "lar"]


def test_sensitivity_without_cevns_detectors(capsys):
    assert main(["sensitivity", "--years", "1", "--cevns-detectors", "none", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out


@pytest.mark.parametrize("text", ["nue_d_cc,,nue_o16_cc", "nue_d_cc,", ","])
def test_generate_channels_with_an_empty_item_is_an_error(text):
    """``--channels a,,b`` used to skip the empty item silently (like ``--years``, now refused)."""
    from d2oflux.errors import ConfigError
    from d2oflux.generate.plan import parse_channels

    with pytest.raises(ConfigError, match="--channels"):
        parse_channels(text)
    assert parse_channels(" nue_d_cc , nue_o16_cc") == ["nue_d_cc", "nue_o16_cc"]
