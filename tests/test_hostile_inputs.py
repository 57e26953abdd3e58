"""A catalogue of hostile inputs, run through the CLI in-process: each must end as promised.

Clean means: the expected exit status; for status 2 exactly one stderr line ``d2oflux: error: ...`` that
names the file or field; for status 3 the result then one line ``d2oflux: invalid result: ...``; for
status 0 output without NaN or Infinity; never a traceback, an internal error or a stray warning.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from d2oflux.cli import main
from d2oflux.errors import ConfigError, check_readable, read_text_file, strict_json

GARBAGE = bytes(range(256)) * 4  # invalid UTF-8 (0x80-0xff continuation bytes out of place) and NUL
EXAMPLE = Path(__file__).resolve().parents[1] / "src/d2oflux/data/examples/events_d2o-module1_1y_seed1.csv"


@dataclass(frozen=True)
class Case:
    """One hostile input: ``argv(tmp_path, write_detector)`` builds the command line."""

    id: str
    argv: Callable[[Path, Callable], list[str]]
    status: int = 2
    mention: str = ""  # a word the error line must contain (the field or file)


def _file(tmp: Path, name: str, data: bytes | str) -> str:
    p = tmp / name
    if isinstance(data, str):
        p.write_text(data, encoding="utf-8")
    else:
        p.write_bytes(data)
    return str(p)


def _table_response(tmp: Path, w: Callable, filename: str, data: bytes | None = None, **extra: str) -> list[str]:
    path = _file(tmp, filename, data) if data is not None else str(tmp / filename)
    lines = "\n".join(f"{k} = {v}" for k, v in extra.items())
    det = w({'model = "analytic"': f'model = "table"\nfile = "{path}"\n{lines}'})
    return ["rates", "-d", str(det)]


def _root_with(tmp: Path, what: str) -> str:
    import uproot

    path = tmp / "resp.root"
    with uproot.recreate(path) as f:
        if what == "th1":
            f["smearing"] = np.histogram(np.linspace(0, 50, 100), bins=10)
        else:
            f["smearing"] = {"x": np.arange(5.0)}
    return str(path)


def _truncated_root(tmp: Path) -> bytes:
    import uproot

    path = tmp / "full.root"
    with uproot.recreate(path) as f:
        f["smearing"] = (np.eye(10) * 0.5, np.linspace(0, 60, 11), np.linspace(0, 60, 11))
    data = path.read_bytes()
    return data[: len(data) // 3]


def _beam(tmp: Path, text: str) -> list[str]:
    return ["rates", "--beam-history", _file(tmp, "history.csv", text)]


def _flux(tmp: Path, header: str, emax: float = 52.0) -> list[str]:
    cols = header.count(",")
    rows = "".join(f"{e}" + ",1" * cols + "\n" for e in np.linspace(0, emax, 30))
    return ["rates", "--flux-file", _file(tmp, "flux.csv", header + "\n" + rows)]


def _facility(tmp: Path, old: str, new: str) -> list[str]:
    from importlib import resources

    text = (resources.files("d2oflux") / "presets/facilities/sns-fts.toml").read_text(encoding="utf-8")
    assert old in text
    return ["rates", "--facility", _file(tmp, "fac.toml", text.replace(old, new))]


def _det(replacements: dict[str, str], command: tuple[str, ...] = ("rates",)) -> Callable:
    return lambda tmp, w: [*command, "-d", str(w(replacements))]


def _copies(tmp: Path, k: int) -> str:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    header = [ln for ln in lines if ln.startswith("#") or ln.startswith("energy_MeV")]
    body = [ln for ln in lines if ln not in header]
    return _file(tmp, "copies.csv", "".join(header) + "".join(body) * k)


FIT = ("fit", "--events", str(EXAMPLE), "--years", "1")
CYL = 'geometry = { shape = "cylinder", radius_cm = 35.0, height_cm = 140.0 }'

CASES = [
    # --- undecodable, unreadable, malformed files -------------------------------------------------
    Case("toml-random-bytes", lambda t, w: ["rates", "-d", _file(t, "det.toml", GARBAGE)], mention="det.toml"),
    Case("toml-directory", lambda t, w: ["rates", "-d", str((t / "dir.toml").mkdir() or t / "dir.toml")]),
    Case("facility-random-bytes", lambda t, w: ["rates", "--facility", _file(t, "f.toml", GARBAGE)]),
    Case("response-csv-random-bytes", lambda t, w: _table_response(t, w, "r.csv", GARBAGE), mention="r.csv"),
    Case("response-npz-zip-garbage", lambda t, w: _table_response(t, w, "r.npz", b"PK\x03\x04" + GARBAGE)),
    Case("response-npz-random-bytes", lambda t, w: _table_response(t, w, "r.npz", GARBAGE)),
    Case("response-root-garbage", lambda t, w: _table_response(t, w, "r.root", b"root" + GARBAGE)),
    Case("response-root-truncated", lambda t, w: _table_response(t, w, "r.root", _truncated_root(t))),
    Case("response-root-th1", lambda t, w: _table_response(t, w, Path(_root_with(t, "th1")).name), mention="TH2"),
    Case("response-root-tree", lambda t, w: _table_response(t, w, Path(_root_with(t, "tree")).name), mention="TH2"),
    Case("response-missing", lambda t, w: _table_response(t, w, "none.npz"), mention="does not exist"),
    Case("beam-history-random-bytes", lambda t, w: ["rates", "--beam-history", _file(t, "h.csv", GARBAGE)]),
    Case(
        "beam-history-mixed-time-zones",
        lambda t, w: _beam(
            t,
            "start,end,power_MW,proton_energy_GeV\n2025-01-01T00:00+00:00,2025-02-01,1.4,1.0\n"
            "2025-02-01,2025-03-01T00:00-05:00,1.4,1.0\n",
        ),
        status=0,
    ),
    Case(
        "beam-history-overlap-across-zones",
        lambda t, w: _beam(
            t,
            "start,end,power_MW,proton_energy_GeV\n2025-01-01,2025-02-01T06:00,1.4,1.0\n"
            "2025-02-01T00:00-05:00,2025-03-01,1.4,1.0\n",
        ),
        mention="overlap",
    ),
    Case(
        "beam-history-power-1e308",
        lambda t, w: _beam(t, "start,end,power_MW,proton_energy_GeV\n2025-01-01,2025-02-01,1e308,1.0\n"),
        mention="power_MW",
    ),
    Case("flux-random-bytes", lambda t, w: ["rates", "--flux-file", _file(t, "flux.csv", GARBAGE)]),
    Case("flux-help-format-default-options", lambda t, w: _flux(t, "E_MeV,nu_mu,nu_e,anti_nu_mu"), status=0),
    Case("flux-extreme-energy", lambda t, w: _flux(t, "E_MeV,nu_mu,nu_e,anti_nu_mu", 1e5), mention="flux file"),
    Case("events-random-bytes", lambda t, w: ["fit", "--years", "1", "--events", _file(t, "ev.csv", GARBAGE)]),
    Case("events-parquet-garbage", lambda t, w: ["fit", "--years", "1", "--events", _file(t, "e.parquet", GARBAGE)]),
    Case("events-directory", lambda t, w: ["fit", "--years", "1", "--events", str(t)], mention="directory"),
    # --- numbers: non-finite, extreme, inconsistent -----------------------------------------------
    Case("distance-1e-300", _det({"distance_m = 20.0": "distance_m = 1e-300"}), mention="distance_m"),
    Case("distance-5-cm", _det({"distance_m = 20.0": "distance_m = 0.05"}), mention="distance_m"),
    Case("distance-nan", _det({"distance_m = 20.0": "distance_m = nan"}), mention="distance_m"),
    Case(
        "binning-width-1e-6",
        _det({"[analysis]": "[binning]\nreco_energy_MeV = { min = 0.0, max = 60.0, width = 1e-6 }\n\n[analysis]"}),
        mention="binning",
    ),
    Case("mass-1e308", _det({"mass_kg = 592.0": "mass_kg = 1e308"}), mention="mass_kg"),
    Case("mass-nan", _det({"mass_kg = 592.0": "mass_kg = nan"}), mention="mass_kg"),
    Case(
        "mass-vs-geometry",
        _det({CYL: 'geometry = { shape = "cylinder", radius_cm = 0.5, height_cm = 1.0 }'}),
        mention="mass_kg",
    ),
    Case("years-1e308", lambda t, w: ["rates", "--years", "1e308"], mention="years"),
    Case("years-1e308-json", lambda t, w: ["rates", "--years", "1e308", "--json"], mention="years"),
    Case("pot-1e308", lambda t, w: ["rates", "--pot", "1e308", "--json"]),
    Case("pot-1", lambda t, w: ["rates", "--pot", "1"], mention="pot"),
    Case("sensitivity-years-1e308", lambda t, w: ["sensitivity", "--years", "1,1e308", "--json"], mention="years"),
    Case("sensitivity-years-1e-300", lambda t, w: ["sensitivity", "--years", "1e-300"], mention="years"),
    Case("nu-per-proton-1e308", lambda t, w: ["rates", "--nu-per-proton", "1e308", "--json"], mention="nu_per_proton"),
    Case("facility-pot-sigma-1e308", lambda t, w: _facility(t, "pot_sigma_ns = 150.0", "pot_sigma_ns = 1e308")),
    Case("facility-power-1e308", lambda t, w: _facility(t, "power_MW = 1.4", "power_MW = 1e308")),
    Case(
        "facility-repetition-inf",
        lambda t, w: _facility(t, "repetition_rate_Hz = 60.0", "repetition_rate_Hz = inf"),
        mention="repetition_rate_Hz",
    ),
    Case("threshold-1e308", _det({"threshold_MeV = 5.0": "threshold_MeV = 1e308"}), mention="threshold_MeV"),
    Case("threshold-above-endpoint", _det({"threshold_MeV = 5.0": "threshold_MeV = 54.0"}), mention="threshold"),
    Case(
        "background-rate-1e308",
        _det({"[analysis]": "[backgrounds]\nsteady_state_rate_per_MeV_s = 1e308\n\n[analysis]"}, ("sensitivity",)),
        mention="steady_state_rate_per_MeV_s",
    ),
    Case(
        "systematic-1e308",
        _det({"[analysis]": "[systematics]\nefficiency = 1e308\n\n[analysis]"}, ("sensitivity",)),
        mention="systematics.efficiency",
    ),
    Case("light-yield-inf", _det({"light_yield_pe_per_MeV = 15.0": "light_yield_pe_per_MeV = inf"})),
    Case("resolution-inf", _det({"resolution_constant = 0.05": "resolution_constant = inf"})),
    Case("efficiency-nan", _det({"efficiency = 1.0": "efficiency = nan"}), mention="efficiency"),
    Case("window-inf", _det({"energy_window_MeV = [10.0, 55.0]": "energy_window_MeV = [10.0, inf]"})),
    Case(
        "center-nan-generate",
        lambda t, w: [
            "generate",
            "--years",
            "1",
            "--seed",
            "1",
            "-o",
            str(t / "never-written.parquet"),
            "-d",
            str(w({CYL: CYL.replace("height_cm = 140.0", "height_cm = 140.0, center_cm = [nan, 0, 0]")})),
        ],
        mention="center_cm",
    ),
    # --- fits and toys that must not fail silently -----------------------------------------------
    Case("fit-20-copies", lambda t, w: ["fit", "--years", "1", "--events", _copies(t, 20)], status=3),
    Case(
        "fit-20-copies-allowed",
        lambda t, w: ["fit", "--years", "1", "--events", _copies(t, 20), "--allow-invalid", "--json"],
        status=0,
    ),
    Case(
        "toys-detector-at-1000-m",
        _det({"distance_m = 20.0": "distance_m = 1000.0"}, ("toys", "--ntoys", "20")),
        status=3,
    ),
    Case("toys-1e-6-years", lambda t, w: ["toys", "--years", "1e-6", "--ntoys", "50"], status=3),
    Case("sensitivity-efficiency-0", _det({"efficiency = 1.0": "efficiency = 0.0"}, ("sensitivity",)), mention="0"),
    Case("fit-efficiency-0", _det({"efficiency = 1.0": "efficiency = 0.0"}, FIT), mention="efficiency"),
    Case("toys-efficiency-0", _det({"efficiency = 1.0": "efficiency = 0.0"}, ("toys", "--ntoys", "10"))),
    Case(
        "toys-window-above-signal",
        _det({"energy_window_MeV = [10.0, 55.0]": "energy_window_MeV = [57.5, 60.0]"}, ("toys", "--ntoys", "10")),
        status=3,
    ),
]


def run_case(case: Case, tmp_path: Path, write_detector, capsys) -> tuple[int, str, str]:
    code = main(case.argv(tmp_path, write_detector))
    out, err = capsys.readouterr()
    return code, out, err


def is_clean(case: Case, code: int, out: str, err: str) -> bool:
    """Whether one run behaved as the README promises (see the module docstring)."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if code != case.status or "internal error" in err or "Traceback" in err:
        return False
    if case.status == 2:
        return len(lines) == 1 and lines[0].startswith("d2oflux: error: ") and case.mention in lines[0]
    if case.status == 3:
        return len(lines) == 1 and lines[0].startswith("d2oflux: invalid result: ")
    bad_numbers = any(w in out for w in ("NaN", "Infinity", " nan", " inf"))
    return not bad_numbers and not any(ln.startswith("d2oflux:") for ln in lines)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_clean(case, tmp_path, write_detector, capsys):
    code, out, err = run_case(case, tmp_path, write_detector, capsys)
    assert is_clean(case, code, out, err), f"exit {code}\nstdout: {out[-500:]}\nstderr: {err}"


def test_strict_json_refuses_non_finite():
    assert json.loads(strict_json({"a": [1.0, 2]})) == {"a": [1.0, 2]}
    with pytest.raises(ConfigError, match=r"'channels.x\[1\]' is not finite"):
        strict_json({"channels": {"x": [1.0, float("nan")]}})
    with pytest.raises(ConfigError, match="not finite"):
        strict_json({"v": np.float64("inf")})


def test_permission_denied_is_one_line(tmp_path, monkeypatch):
    """Unreadable files (simulated: the tests may run as root, who reads everything)."""
    target = tmp_path / "history.csv"
    target.write_text("start,end,pot,proton_energy_GeV\n")
    real_open = Path.open

    def deny(self, *args, **kwargs):
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    with pytest.raises(ConfigError, match="permission denied"):
        check_readable(target, "beam history")
    with pytest.raises(ConfigError, match="permission denied"):
        read_text_file(target, "beam history")
    from d2oflux.beam import read_beam_history

    with pytest.raises(ConfigError, match="beam history .* permission denied"):
        read_beam_history(target)


def test_undecodable_text_names_file_and_offset(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b"E_MeV,nu_e\n\xff\xfe")
    with pytest.raises(ConfigError, match=r"flux file '.*x.csv': not UTF-8 text \(undecodable byte at offset 11\)"):
        read_text_file(p, "flux file")
    p.write_bytes("\ufeffE_MeV\n".encode())  # a byte-order mark is fine
    assert read_text_file(p, "flux file") == "E_MeV\n"


def test_npz_never_unpickles(tmp_path):
    from d2oflux.response import load_response_file

    p = tmp_path / "r.npz"
    np.savez(p, visible_edges_MeV=np.array([0, 1.0]), reco_edges_MeV=np.array([0, 1.0]), matrix=np.array([object()]))
    with pytest.raises(ConfigError, match="not a readable NPZ"):
        load_response_file(p)
    with zipfile.ZipFile(tmp_path / "z.npz", "w") as z:
        for name in ("visible_edges_MeV", "reco_edges_MeV", "matrix"):
            z.writestr(f"{name}.npy", b"\x93NUMPY garbage")
    with pytest.raises(ConfigError, match="not a readable NPZ"):
        load_response_file(tmp_path / "z.npz")


def test_mass_tolerance_accepts_percent_level_differences(write_detector):
    from d2oflux.detector import MASS_GEOMETRY_TOLERANCE, load_detector

    assert MASS_GEOMETRY_TOLERANCE == 0.05
    # the cylinder holds 595.4 kg of D2O at 1.105 g/cm^3: 1 % and 4 % off are accepted, 6 % is not
    load_detector(write_detector({"mass_kg = 592.0": "mass_kg = 589.4"}))
    load_detector(write_detector({"mass_kg = 592.0": "mass_kg = 571.6"}))
    with pytest.raises(ConfigError, match="does not match the geometry"):
        load_detector(write_detector({"mass_kg = 592.0": "mass_kg = 559.7"}))


def test_beam_history_time_zone_rule(tmp_path):
    """Naive date-times are UTC: 05:00 UTC and 00:00-05:00 are the same instant."""
    from d2oflux.beam import read_beam_history

    p = tmp_path / "h.csv"
    p.write_text(
        "start,end,pot,proton_energy_GeV\n2025-01-01T00:00,2025-01-01T05:00,1e20,1\n"
        "2025-01-01T00:00-05:00,2025-01-02T00:00Z,1e20,1\n"
    )
    rows = read_beam_history(p)
    assert rows[0]["end"] == rows[1]["start"] == "2025-01-01T05:00:00+00:00"


def test_help_shows_the_formats_the_readers_use(capsys):
    from d2oflux.formats import BEAM_HISTORY, EVENT_FILE, FLUX_FILE

    for command, fmt in (("rates", FLUX_FILE), ("rates", BEAM_HISTORY), ("fit", EVENT_FILE)):
        main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert fmt.header() in out


def test_readme_shows_the_formats_the_readers_use(repo_root):
    from d2oflux.formats import BEAM_HISTORY, EVENT_FILE, FLUX_FILE, RESPONSE_CSV

    readme = (repo_root / "README.md").read_text(encoding="utf-8").replace("\\|", "|")
    for fmt in (FLUX_FILE, BEAM_HISTORY, EVENT_FILE, RESPONSE_CSV):
        assert f"`{fmt.header()}`" in readme


def test_bins_finer_than_the_resolution_warn_in_one_line(write_detector, capsys):
    det = write_detector(
        {"[analysis]": "[binning]\nreco_energy_MeV = { min = 0.0, max = 60.0, width = 0.05 }\n\n[analysis]"}
    )
    assert main(["rates", "-d", str(det), "--json"]) == 0
    out, err = capsys.readouterr()
    json.loads(out)
    assert err.startswith("d2oflux: warning: detector") and "finer than 1/10 of the resolution" in err
    assert len(err.strip().splitlines()) == 1


def test_binning_memory_estimate_refuses_before_allocating(write_detector):
    from d2oflux.detector import MAX_BINNING_BYTES, binning_memory_bytes, load_detector

    # 60 000 visible x 24 000 reconstructed bins would need ~140 GB in the analytic response
    assert binning_memory_bytes(240, 60_000, 24_000, 14) > MAX_BINNING_BYTES
    axis = "visible_energy_MeV = { min = 0.0, max = 60.0, width = 0.001 }\n"
    axis += "reco_energy_MeV = { min = 0.0, max = 60.0, width = 0.0025 }\n"
    with pytest.raises(ConfigError, match=r"binning needs about \d+\.\d GiB of memory"):
        load_detector(write_detector({"[analysis]": "[binning]\n" + axis + "\n[analysis]"}))
