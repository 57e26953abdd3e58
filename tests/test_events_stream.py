"""Event files are read in chunks and histogrammed on the fly: same counts as reading them whole, and
memory that does not grow with the number of events.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from d2oflux.analysis.events import bin_event_file, bin_events, iter_event_chunks, read_events
from d2oflux.analysis.model import build_model
from d2oflux.detector import load_detector
from d2oflux.source import Exposure, Source, load_facility

EXAMPLE = resources.files("d2oflux") / "data/examples/events_d2o-module1_1y_seed1.csv"


@pytest.fixture(scope="module")
def model():
    fac = load_facility("sns-fts")
    return build_model(load_detector("d2o-module1"), Source(fac, True), Exposure.from_years(fac, 1.0))


def test_chunked_equals_whole_csv_and_parquet(model, tmp_path):
    whole = bin_events(model, read_events(EXAMPLE), EXAMPLE)
    # 4 kB chunks: the 9000-event example file is read in about 50 pieces
    assert len(list(iter_event_chunks(EXAMPLE, chunk_bytes=4096))) > 20
    assert bin_event_file(model, EXAMPLE, chunk_bytes=4096) == whole
    ev = read_events(EXAMPLE)
    pq.write_table(pa.table({k: ev[k] for k in ("energy_MeV", "time_ns", "window")}), tmp_path / "ev.parquet")
    assert bin_event_file(model, tmp_path / "ev.parquet", chunk_bytes=24 * 500) == whole


def test_comment_lines_inside_the_file_are_skipped(model, tmp_path):
    p = tmp_path / "ev.csv"
    p.write_text("# head\nenergy_MeV,time_ns,window\n20.5,1200,on\n# a note\n33.0,400, off\n")
    ev = read_events(p)
    assert list(ev["window"]) == ["on", "off"] and list(ev["energy_MeV"]) == [20.5, 33.0]


def write_big_csv(path, n_rows: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("energy_MeV,time_ns,window\n")
        for start in range(0, n_rows, 500_000):
            m = min(500_000, n_rows - start)
            e, t = rng.uniform(0, 60, m), rng.uniform(0, 10000, m)
            w = np.where(rng.random(m) < 0.1, "on", "off")
            fh.write("".join(f"{a:.3f},{b:.1f},{c}\n" for a, b, c in zip(e, t, w, strict=True)))


@pytest.mark.slow
def test_six_million_rows_fit_in_a_few_hundred_megabytes(model, tmp_path):
    """Peak Python (tracemalloc) plus Arrow memory while binning 6e6 rows stays below 300 MB."""
    import tracemalloc

    p = tmp_path / "big.csv"
    write_big_csv(p, 6_000_000)
    pool = pa.default_memory_pool()
    tracemalloc.start()
    _, info = bin_event_file(model, p)
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert info["events"] == 6_000_000
    peak_mb = (python_peak + pool.max_memory()) / 1e6
    assert peak_mb < 300, f"{peak_mb:.0f} MB"
