"""Legitimate input that the bad-input sweep must keep accepting (found by reviewing the sweep)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg", ".eps", ".ps", ".EPS", ""])
def test_fit_plot_accepts_every_format_whose_metadata_carries_the_mark(tmp_path, suffix):
    """``fit --dataset -o fig.eps`` worked before the suffix check: EPS and PS carry matplotlib's ``Creator``
    metadata like PNG, PDF and SVG, so a rerun recognises its own figure and replaces it (the overwrite rule)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from d2oflux.coherent.plots import _MARK_KEY, check_plot_path, drawn_by_d2oflux

    path = tmp_path / f"fig{suffix}"
    assert check_plot_path(path) == path
    fig = plt.figure()
    try:  # the call plot_fit makes
        fig.savefig(path, format=path.suffix.lstrip(".") or "png", metadata={_MARK_KEY: "d2oflux test"})
    finally:
        plt.close(fig)
    assert drawn_by_d2oflux(path)
    assert check_plot_path(path) == path  # an earlier figure of d2oflux: replaced, not refused


def test_fit_plot_refuses_formats_without_the_mark(tmp_path):
    from d2oflux.coherent.plots import check_plot_path
    from d2oflux.errors import ConfigError

    with pytest.raises(ConfigError, match=r"--plot '.*fig\.jpg': unknown suffix '\.jpg'; expected one of .*\.eps"):
        check_plot_path(Path(tmp_path / "fig.jpg"))


def test_damaged_parquet_pages_are_one_line_errors_in_both_event_readers(tmp_path):
    """A parquet file whose header is intact but a data page is zeroed raises OSError (not an ArrowException)
    in pyarrow; both event readers (D2O ``fit --events``, COHERENT event lists) name the file in one line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from d2oflux.analysis.events import read_events
    from d2oflux.coherent.releases import read_event_list
    from d2oflux.errors import ConfigError

    path = tmp_path / "ev.parquet"
    n = 2000
    table = {"energy_MeV": [20.0] * n, "time_ns": [100.0] * n, "window": ["on"] * n}
    pq.write_table(pa.table(table), path)
    data = path.read_bytes()
    path.write_bytes(data[:100] + bytes(50) + data[150:])
    with pytest.raises(ConfigError, match=r"event file '.*ev\.parquet': not a readable parquet file \(.+\)$"):
        read_event_list(path, ["energy_MeV", "time_ns"])
    with pytest.raises(ConfigError, match=r"event file '.*ev\.parquet': unreadable or wrongly typed column \(.+\)$"):
        read_events(path)  # was the CLI's generic two-line 'cannot write or read' without the file name


def test_first_line_of_an_exception():
    from d2oflux.errors import first_line

    assert first_line(ValueError("\n  bad thing\nmore detail")) == "bad thing"
    assert first_line(OSError()) == "OSError"


def test_a_preset_name_wins_over_a_namesake_in_the_working_folder(tmp_path, monkeypatch):
    """``fit --dataset coherent-csi-2021 -o csi`` writes a PNG called ``csi``; the data set's ``detector = "csi"``
    (and ``-d csi``) then read that figure as a TOML file. A data folder ``lar/`` did the same to ``-d lar``."""
    from d2oflux.beam import load_facility
    from d2oflux.detector import load_detector
    from d2oflux.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "csi").write_bytes(b"\x89PNG\r\n\x1a\n not toml")
    (tmp_path / "lar").mkdir()
    (tmp_path / "sns-fts").write_text("power_MW = 1\n", encoding="utf-8")
    assert load_detector("csi").config.name == load_detector("csi").label == "csi"
    assert load_detector("lar").label == "lar"
    assert load_facility("sns-fts").power_MW == 1.4  # the preset, not the file
    with pytest.raises(ConfigError, match="detector file 'csi': not UTF-8"):
        load_detector("./csi")  # a path names the file


@pytest.mark.parametrize(
    ("table", "match"),
    [
        (
            "{ wavelength_nm = [300, 400], qe = [0.2, 0.3], bogus = 1 }",
            r"'optics.pmts.qe': unknown key 'bogus'; allowed keys here: qe, source, wavelength_nm$",
        ),
        ("{ qe = [0.2, 0.3] }", r"'optics.pmts.qe': missing required key 'wavelength_nm'$"),
    ],
)
def test_optics_qe_table_keys_are_reported_like_the_detector_files_own(write_detector, table, match):
    """The [optics.pmts] qe table's errors use the detector file's wording (was pydantic's 'Extra inputs are
    not permitted' / 'Field required')."""
    from d2oflux.detector import load_detector
    from d2oflux.errors import ConfigError

    det = write_detector({"[analysis]": f"[optics.pmts]\nqe = {table}\n\n[analysis]"})
    with pytest.raises(ConfigError, match=match):
        load_detector(det)
