"""Shared settings, saved models (``workspace -o`` + ``--model``) and the lazily registered commands.

A saved model must give the same numbers as the model built from the options: every float round-trips exactly
through JSON, so the comparison is to 1e-12 relative (rounding only). The pyhf workspace must stay valid for
pyhf (its schema forbids extra keys), which pyhf itself checks here.
"""

import importlib
import json
import subprocess
import sys

import pytest

from d2oflux.cli import LAZY_COMMANDS, main
from d2oflux.settings import ModelSettings, O16Model


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def close(a, b, rtol=1e-12):
    """Equal JSON values: numbers to ``rtol`` relative, everything else exactly."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], rtol) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y, rtol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= rtol * max(abs(a), abs(b))
    return a == b


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.json"
    assert main(["workspace", "--years", "1", "-o", str(path)]) == 0
    return path


def test_workspace_and_sidecar_are_written_and_pyhf_accepts_the_workspace(saved):
    pyhf = pytest.importorskip("pyhf")
    spec = json.loads(saved.read_text())
    pyhf.Workspace(spec).model()  # schema validation: no extra keys anywhere
    side = json.loads(saved.with_name("model.d2oflux.json").read_text())
    assert side["format"] == "d2oflux-model"
    assert side["settings"]["o16_model"] == "kolbe" and side["settings"]["years"] == 1.0
    assert sum(map(sum, side["beam_mask"])) == len(spec["channels"][0]["samples"][0]["data"])


@pytest.mark.parametrize(
    "args",
    [
        ["fit", "--events", "example", "--json"],
        ["toys", "--ntoys", "50", "--seed", "7", "--json"],
        ["sensitivity", "--years", "1,3", "--cevns-detectors", "csi", "--json"],
    ],
)
def test_saved_model_gives_the_numbers_of_the_built_one(capsys, saved, args):
    built = args + (["--years", "1"] if args[0] == "fit" else [])
    code, out_built, _ = run(capsys, *built)
    assert code == 0
    code, out_saved, _ = run(capsys, *args, "--model", str(saved))
    assert code == 0
    assert close(json.loads(out_built), json.loads(out_saved))


def test_saved_model_refuses_options_and_edited_workspaces(capsys, saved, tmp_path):
    code, _, err = run(capsys, "toys", "--model", str(saved), "--detector", "d2o-1t", "--json")
    assert code == 2 and "--detector" in err
    edited = tmp_path / "model.json"
    spec = json.loads(saved.read_text())
    spec["observations"][0]["data"][0] += 1.0
    edited.write_text(json.dumps(spec))
    code, _, err = run(capsys, "toys", "--model", str(edited))
    assert code == 2 and "sidecar" in err  # no sidecar beside it
    (tmp_path / "model.d2oflux.json").write_text(saved.with_name("model.d2oflux.json").read_text())
    code, _, err = run(capsys, "toys", "--model", str(edited))
    assert code == 2 and "differs" in err


def test_sidecar_of_a_user_file_is_not_overwritten(capsys, tmp_path):
    (tmp_path / "ws.d2oflux.json").write_text("mine")
    code, _, err = run(capsys, "workspace", "-o", str(tmp_path / "ws.json"))
    assert code == 2 and "not written by d2oflux" in err
    assert (tmp_path / "ws.d2oflux.json").read_text() == "mine" and not (tmp_path / "ws.json").exists()


def test_settings_round_trip_and_enum():
    s = ModelSettings(detector="d2o-1t", years=2.0, o16_model="nakazato", systematics="theory-only")
    assert s.o16_model is O16Model.nakazato
    assert ModelSettings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert s.changed() == ["--detector", "--years", "--o16-model", "--systematics"]


def test_help_lists_the_o16_choices(capsys):
    code, out, _ = run(capsys, "rates", "--help")
    assert code == 0 and "<kolbe|nakazato>" in out


def test_cli_import_leaves_heavy_modules_alone():
    code = (
        "import sys, d2oflux.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'scipy', 'pydantic') "
        "or m.startswith(('d2oflux.generate', 'd2oflux.optics', 'd2oflux.scan', 'd2oflux.analysis'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_lazy_command_help_is_the_docstring(name):
    module, function, short = LAZY_COMMANDS[name]
    doc = getattr(importlib.import_module(module), function).__doc__
    assert doc.strip().splitlines()[0] == short
