"""Regressions from a hostile user's sweep of the command line and the readers.

Each case once ended in an internal error (exit 1), in several stderr lines, or in exit 0 on bad input. The
contract (docs, README): bad input exits 2 with one line ``d2oflux: error: ...`` naming the file or field and
what was expected, and leaves no output behind.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from d2oflux.cli import main
from d2oflux.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "src/d2oflux/data/examples/events_d2o-module1_1y_seed1.csv"


def _one_error_line(capsys, *words: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("d2oflux: error: "), err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


# --- a string or a boolean where a number goes (pydantic would convert "592" to 592 and true to 1) ----------
@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("mass_kg = 592.0", 'mass_kg = "592"', "regions.0.mass_kg"),
        ("mass_kg = 592.0", "mass_kg = true", "regions.0.mass_kg"),
        ("distance_m = 20.0", 'distance_m = "20"', "distance_m"),
        ("efficiency = 1.0", "efficiency = false", "response.efficiency"),
        ("energy_window_MeV = [10.0, 55.0]", 'energy_window_MeV = ["10", 55.0]', "analysis.energy_window_MeV"),
    ],
)
def test_detector_text_or_bool_for_a_number(write_detector, capsys, old, new, field):
    det = write_detector({old: new})
    assert main(["rates", "-d", str(det)]) == 2
    _one_error_line(capsys, field, "expected a number")


def test_facility_and_dataset_text_for_a_number():
    from d2oflux.beam import load_facility
    from d2oflux.coherent.dataset import DatasetConfig
    from d2oflux.config import parse_toml, read_preset_text, validate

    with pytest.raises(ConfigError, match="power_MW.*expected a number"):
        load_facility("sns-fts", power_MW="1.4")
    data = parse_toml(*read_preset_text("datasets", "coherent-csi-2021"))
    data["exposure"]["gwh"] = "13.99"
    with pytest.raises(ConfigError, match="exposure.gwh.*expected a number"):
        validate(DatasetConfig, data, "dataset 'x'")


def test_numbers_and_mixed_fields_still_accepted():
    """Integers for floats stay valid; a field that also takes text keeps its text."""
    from d2oflux.config import _text_for_number

    assert not _text_for_number(float, 592)
    assert not _text_for_number(float | str, "auto")
    assert not _text_for_number(tuple[float, float], [10, 55.0])
    assert _text_for_number(tuple[float, ...], [1.0, "2"])
    assert _text_for_number(float | None, True)


# --- D2O event files: header problems that were KeyErrors -----------------------------------------------------
@pytest.mark.parametrize(
    ("header", "row", "match"),
    [
        ("energy_MeV,time_ns,window,energy_MeV", "12,100,on,13", "'energy_MeV' appears more than once"),
    ],
)
def test_event_file_header_problems(tmp_path, header, row, match):
    from d2oflux.analysis.events import read_events

    path = tmp_path / "ev.csv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        read_events(path)


def test_event_parquet_with_a_repeated_column(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from d2oflux.analysis.events import read_events

    path = tmp_path / "ev.parquet"
    cols = [pa.array([12.0]), pa.array([100.0]), pa.array(["on"]), pa.array([1.0])]
    pq.write_table(pa.table(cols, names=["energy_MeV", "time_ns", "window", "time_ns"]), path)
    with pytest.raises(ConfigError, match="'time_ns' appears more than once"):
        read_events(path)


# --- COHERENT data-set event lists (CSV / parquet) and release text tables -------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("e.csv", b"energy,time\n1,0.5\n# caf\xe9\n", "not UTF-8"),
        ("e.parquet", b"PAR1" + bytes(range(256)), "not a readable parquet file"),
        ("e.csv", b"energy,time\n", "no events"),
        ("e.csv", b"energy,time\n1,0.5\n2\n", "data row 2 has 1 values"),
        ("e.csv", b"energy,time\n1,0.5\n\n2,0.4\n", None),  # a blank line is no row
    ],
)
def test_dataset_event_lists(tmp_path, name, data, match):
    from d2oflux.coherent.releases import read_event_list

    path = tmp_path / name
    path.write_bytes(data)
    if match is None:
        out = read_event_list(path, ["energy", "time"])
        np.testing.assert_array_equal(out["energy"], [1.0, 2.0])
        return
    with pytest.raises(ConfigError, match=match):
        read_event_list(path, ["energy", "time"])


def test_release_table_with_only_comments_is_one_error_and_no_warning(tmp_path):
    from d2oflux.coherent.releases import read_binned

    path = tmp_path / "t.txt"
    path.write_text("# nothing here\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match="no rows"):
            read_binned(path, 1)


# --- Michel PE files (calibrate) ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "match"),
    [(b"pe\n1\n# caf\xe9\n", "not UTF-8"), (bytes(range(256)) * 4, "not UTF-8"), (None, "is a directory")],
)
def test_michel_file_not_text(tmp_path, capsys, data, match):
    path = tmp_path / "m.csv"
    if data is None:
        path.mkdir()
    else:
        path.write_bytes(data)
    assert main(["calibrate", "--michel", str(path)]) == 2
    _one_error_line(capsys, "Michel file", match)


# --- fit -o: the figure of a data-set fit -----------------------------------------------------------------------
def test_fit_plot_without_dataset_is_refused(tmp_path, capsys):
    out = tmp_path / "p.png"
    assert main(["fit", "--events", str(EXAMPLE), "--years", "1", "-o", str(out)]) == 2
    _one_error_line(capsys, "--plot", "--dataset")
    assert not out.exists()


@pytest.mark.parametrize("name", ["p.xyz", "p.jpg"])
def test_fit_plot_unknown_suffix_is_refused_before_the_fit(tmp_path, capsys, name):
    """Refused before any data are read: the data folder here does not even exist."""
    out = tmp_path / name
    args = ["fit", "--dataset", "coherent-csi-2021", "--data-dir", str(tmp_path / "none"), "-o", str(out)]
    assert main(args) == 2
    _one_error_line(capsys, "--plot", ".png, .pdf, .svg")
    assert list(tmp_path.iterdir()) == []


def test_fit_plot_existing_user_file_is_refused_before_the_fit(tmp_path, capsys):
    out = tmp_path / "p.png"
    out.write_text("mine", encoding="utf-8")
    args = ["fit", "--dataset", "coherent-csi-2021", "--data-dir", str(tmp_path / "none"), "-o", str(out)]
    assert main(args) == 2
    _one_error_line(capsys, "--plot", "not written by d2oflux")
    assert out.read_text(encoding="utf-8") == "mine"


# --- response tables (CSV): a repeated matrix element, clashing efficiencies, a zero matrix -------------------
def _response_csv(tmp_path: Path, rows: list[str], efficiency: bool = False) -> Path:
    header = "visible_lo_MeV,visible_hi_MeV,reco_lo_MeV,reco_hi_MeV,probability" + (",efficiency" if efficiency else "")
    path = tmp_path / "r.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _diagonal(n: int = 4, p: float = 1.0) -> list[str]:
    return [f"{5 * i},{5 * i + 5},{5 * j},{5 * j + 5},{p if i == j else 0.0}" for i in range(n) for j in range(n)]


def test_response_csv_repeated_element(tmp_path):
    from d2oflux.response import load_response_file

    path = _response_csv(tmp_path, [*_diagonal(), "0,5,0,5,0.5"])
    with pytest.raises(ConfigError, match="data row 17 repeats the bin visible 0-5 MeV, reco 0-5 MeV"):
        load_response_file(path)


def test_response_csv_efficiency_differs_within_a_visible_bin(tmp_path):
    from d2oflux.response import load_response_file

    rows = [r + (",0.5" if r.startswith("5,10,0,") else ",0.9") for r in _diagonal()]
    with pytest.raises(ConfigError, match="data row 5: efficiency 0.5 differs .* visible bin 5-10 MeV"):
        load_response_file(_response_csv(tmp_path, rows, efficiency=True))


def test_response_csv_zero_matrix(tmp_path, write_detector, capsys):
    path = _response_csv(tmp_path, _diagonal(p=0.0))
    det = write_detector({'model = "analytic"': f'model = "table"\nfile = "{path}"'})
    assert main(["rates", "-d", str(det)]) == 2
    _one_error_line(capsys, "r.csv", "zero everywhere")


def test_response_csv_sparse_and_consistent_is_accepted(tmp_path):
    """Missing elements are zeros (a sparse table) and a repeated, equal efficiency is fine."""
    from d2oflux.response import load_response_file

    rows = [r + ",0.9" for r in _diagonal() if not r.endswith(",0.0")]
    resp = load_response_file(_response_csv(tmp_path, rows, efficiency=True))
    np.testing.assert_array_equal(resp.matrix, np.eye(4))
    np.testing.assert_array_equal(resp.efficiency, [0.9] * 4)


@pytest.mark.parametrize("value", [1e300, 1e308])
def test_michel_calibration_of_absurd_values_is_one_error_without_warnings(value):
    from d2oflux.optics.calibrate import calibrate

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match="does not look like a Michel spectrum"):
            calibrate(np.full(200, value))


# --- scan specifications ----------------------------------------------------------------------------------------
def test_scan_parameter_that_is_the_whole_list_of_regions(tmp_path):
    """Was a TypeError (exit 1) once a second parameter stepped into the replaced list."""
    from d2oflux.scan.space import make_base
    from d2oflux.scan.spec import load_spec

    path = tmp_path / "spec.toml"
    path.write_text(
        '[scan]\ndetector = "d2o-module1"\nyears = [1.0]\n\n[parameters]\nregions = [1, 2]\n'
        '"regions.d2o.mass_kg" = [500.0, 600.0]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="parameter 'regions': is a list of tables"):
        make_base(load_spec(path))


# --- optics: -o is the Michel CSV -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["-o", "m.csv"], "give their number with --michel N"),  # was exit 0 with -o silently ignored
        (["--michel", "100", "-o", "m.parquet"], "expected a name ending in .csv"),  # was CSV text named .parquet
    ],
)
def test_optics_output_mistakes(tmp_path, capsys, monkeypatch, args, match):
    monkeypatch.chdir(tmp_path)
    assert main(["optics", *args]) == 2
    _one_error_line(capsys, "--output", match)
    assert list(tmp_path.iterdir()) == []


# --- scan stores damaged outside d2oflux (were ArrowInvalid / KeyError, exit 1) ----------------------------------
def test_scan_store_with_a_damaged_chunk_or_manifest(tmp_path, capsys):
    import json

    from d2oflux.scan.store import MANIFEST, ScanStore

    store = tmp_path / "st"
    store.mkdir()
    (store / MANIFEST).write_text('{"spec_hash": "x"}', encoding="utf-8")
    with pytest.raises(ConfigError, match="has no spec, parameters, d2oflux_version"):
        ScanStore.open(store)
    manifest = {"spec_hash": "x", "spec": {}, "parameters": [], "d2oflux_version": "0"}
    (store / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    (store / "part-00000000-deadbeef.parquet").write_bytes(b"PAR1 not parquet")
    opened = ScanStore.open(store)
    for read in (opened.read, opened.completed_hashes):
        with pytest.raises(ConfigError, match="chunk 'part-00000000-deadbeef.parquet' is not a readable scan chunk"):
            read()
    assert main(["scan-report", str(store), "-o", str(tmp_path / "rep")]) == 2
    _one_error_line(capsys, "part-00000000-deadbeef.parquet", "remove it and rerun")
    assert not (tmp_path / "rep").exists()


# --- a hand-edited model sidecar (workspace -o) ------------------------------------------------------------------
def test_hand_edited_sidecar_is_one_line_error(tmp_path):
    """Wrong types were AttributeErrors (exit 1); a shape error was wrapped twice ("malformed (ConfigError: ...")."""
    import json
    import shutil

    from d2oflux.analysis.saved import load_model, sidecar_path

    saved = tmp_path / "ws.json"
    assert main(["workspace", "--years", "1", "-o", str(saved)]) == 0
    meta = json.loads(sidecar_path(saved).read_text(encoding="utf-8"))
    edits = {
        "settings": ([], "malformed \\(AttributeError"),
        "fluence_per_cm2": ("x", "malformed \\(AttributeError"),
        "events_in_window": (None, "malformed \\(AttributeError"),
        "beam_mask": (meta["beam_mask"][:2], "sidecar '[^']*': the beam mask does not match"),
    }
    for key, (value, match) in edits.items():
        folder = tmp_path / key
        folder.mkdir()
        shutil.copy(saved, folder / "ws.json")
        sidecar_path(folder / "ws.json").write_text(json.dumps({**meta, key: value}), encoding="utf-8")
        with pytest.raises(ConfigError, match=match) as exc:
            load_model(folder / "ws.json")
        assert str(exc.value).count("--model sidecar") == 1


# --- a data set's 2-D flux table (flux_table = "...") -------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"E_MeV,t_us,nu_mu\n10,0.5,1\n10,1.0,1\n# caf\xe9\n", "not UTF-8"),  # was UnicodeDecodeError, exit 1
        (b"E_MeV,t_us,nu_mu\n", "no data rows after the header"),  # was 'expected finite, non-negative values'
    ],
)
def test_dataset_flux_table_not_text_or_empty(tmp_path, data, match):
    from d2oflux.coherent.dataset import FluxTable2D

    path = tmp_path / "flux.csv"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match=match):
            FluxTable2D.read(path)


def test_dataset_flux_table_reads_comments_bom_and_crlf(tmp_path):
    from d2oflux.coherent.dataset import FluxTable2D

    path = tmp_path / "flux.csv"
    path.write_bytes(b"\xef\xbb\xbf# a comment\r\nE_MeV,t_us,nu_mu\r\n10,0.5,1\r\n10,1.0,3\r\n20,0.5,1\r\n20,1.0,1\r\n")
    table = FluxTable2D.read(path)
    np.testing.assert_array_equal(table.energies_MeV, [10, 20])
    np.testing.assert_array_equal(table.density["nu_mu"], [[1, 3], [1, 1]])


# --- beam history with a 'pot' column: the same power bound as the 'power_MW' column ------------------------------
def test_beam_history_pot_implying_an_impossible_power(tmp_path):
    """1e22 protons in one second at 1 GeV is 1.6 TW; it was accepted as 0.064 SNS-years."""
    from d2oflux.beam import read_beam_history

    path = tmp_path / "history.csv"
    path.write_text("start,end,pot,proton_energy_GeV\n2025-01-01,2025-01-01T00:00:01,1e22,1.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 2: pot 1e\+22 in 1 s at 1 GeV is an average power of 1.6e\+06 MW"):
        read_beam_history(path)
    path.write_text("start,end,pot,proton_energy_GeV\n2025-01-01,2026-01-01,3e23,1.0\n", encoding="utf-8")
    assert read_beam_history(path)[0]["pot"] == 3e23  # a year at ~1.5 MW stays accepted


# --- [optics.pmts] qe table: the message of its first problem (was pydantic's help link or its repr tail) ---------
@pytest.mark.parametrize(
    ("table", "match"),
    [
        ("{ wavelength_nm = [400, 300], qe = [0.2, 0.3] }", "'optics.pmts.qe': wavelength_nm must increase$"),
        ("{ wavelength_nm = [300, 400], qe = [0.2] }", "'optics.pmts.qe': 'qe': Tuple should have at least 2 items"),
        ("{ wavelength_nm = [300, 400, 500], qe = [0.2, 0.3] }", "wavelength_nm and qe must have the same length$"),
    ],
)
def test_optics_qe_table_errors_are_readable(write_detector, table, match):
    from d2oflux.detector import load_detector

    det = write_detector({"[analysis]": f"[optics.pmts]\nqe = {table}\n\n[analysis]"})
    with pytest.raises(ConfigError, match=match) as exc:
        load_detector(det)
    assert "errors.pydantic.dev" not in str(exc.value) and "[type=" not in str(exc.value)


def test_scan_report_folder_is_checked_before_the_scan(tmp_path, capsys):
    """--report into a folder of user files: refused before the store is created (it was after the whole scan,
    with the message naming '-o')."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    store = tmp_path / "store"
    assert main(["scan", "smoke", "-o", str(store), "--workers", "0", "--report", str(mine)]) == 2
    _one_error_line(capsys, "--report", "not a d2oflux report")
    assert not store.exists()
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_folders_where_files_go_are_named_as_folders(tmp_path, capsys):
    (tmp_path / "ws.json").mkdir()
    assert main(["toys", "--model", str(tmp_path / "ws.json"), "--ntoys", "10", "--seed", "1"]) == 2
    _one_error_line(capsys, "--model", "is a folder; expected a file")  # was 'no such file'
    (tmp_path / "events.txt").mkdir()
    text = (Path(__file__).resolve().parents[1] / "src/d2oflux/presets/datasets/coherent-csi-2021.toml").read_text(
        encoding="utf-8"
    )
    dataset = tmp_path / "ds.toml"
    dataset.write_text(text.replace('file = "csi2021/dataBeamOnC.txt"', 'file = "events.txt"'), encoding="utf-8")
    assert main(["fit", "--dataset", str(dataset), "--data-dir", str(tmp_path)]) == 2
    _one_error_line(capsys, "events.txt", "is a folder; expected a file")  # was 'does not exist'


@pytest.mark.parametrize(
    "header", ["energy_MeV, time_ns, window", "energy_MeV,time_ns,window ", " energy_MeV ,time_ns,window\r"]
)
def test_event_file_header_names_are_stripped(tmp_path, header):
    """Spaces around a CSV header name are stripped, as the Michel and COHERENT readers do (they were refused)."""
    from d2oflux.analysis.events import read_events

    path = tmp_path / "ev.csv"
    path.write_text(f"# a comment\n{header}\n12,100,on\n13,200,off\n", encoding="utf-8")
    ev = read_events(path)
    assert list(ev["energy_MeV"]) == [12.0, 13.0] and list(ev["window"]) == ["on", "off"]
