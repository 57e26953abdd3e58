"""The response cache of ``Detector.make_response``: a table file is parsed once per version, edits are seen,
shared arrays are read-only, and the cache is bounded."""

from __future__ import annotations

import os

import numpy as np
import pytest

from d2oflux import detector as detector_module
from d2oflux import response as response_module
from d2oflux.detector import load_detector


def _write_csv(path, resp, efficiency: float = 1.0) -> None:
    """``resp``'s matrix as a response CSV (one row per element), with a flat efficiency."""
    v, e = resp.visible_edges_MeV.tolist(), resp.reco_edges_MeV.tolist()  # Python floats: repr is exact
    rows = ["visible_lo_MeV,visible_hi_MeV,reco_lo_MeV,reco_hi_MeV,probability,efficiency"]
    for i in range(len(v) - 1):
        for j in range(len(e) - 1):
            rows.append(f"{v[i]!r},{v[i + 1]!r},{e[j]!r},{e[j + 1]!r},{float(resp.matrix[i, j])!r},{efficiency!r}")
    path.write_text("\n".join(rows) + "\n")


@pytest.fixture
def table_detector(tmp_path, write_detector):
    """A d2o-module1 variant whose response is its own analytic matrix, read from ``resp.csv`` beside it."""
    analytic = load_detector("d2o-module1").response
    _write_csv(tmp_path / "resp.csv", analytic)
    path = write_detector({'model = "analytic"': 'model = "table"\nfile = "resp.csv"'})
    return path, tmp_path / "resp.csv", analytic


@pytest.fixture
def count_reads(monkeypatch):
    """Count the parses of CSV response files."""
    calls: list = []
    real = response_module._read_csv

    def counting(p):
        calls.append(p)
        return real(p)

    monkeypatch.setattr(response_module, "_read_csv", counting)
    return calls


def test_table_file_is_read_once(table_detector, count_reads):
    det_path, _, analytic = table_detector
    det = load_detector(det_path)  # the analysis-window check builds the response: one read
    assert len(count_reads) == 1
    nominal = det.make_response()
    shifted = det.make_response(energy_scale=1.02)  # another response, from the same parsed file
    again = load_detector(det_path).make_response(resolution_constant=0.07)  # another Detector object
    assert len(count_reads) == 1
    # the table holds the analytic matrix: same numbers (CSV written with repr, exact)
    np.testing.assert_array_equal(nominal.matrix, analytic.matrix)
    assert not np.allclose(shifted.matrix, nominal.matrix)
    assert not np.allclose(again.matrix, nominal.matrix)
    assert det.make_response() is nominal  # built once, shared


def test_edited_table_file_is_read_again(table_detector, count_reads):
    det_path, csv, analytic = table_detector
    det = load_detector(det_path)
    assert det.make_response().efficiency[0] == 1.0 and len(count_reads) == 1
    _write_csv(csv, analytic, efficiency=0.9)  # new content
    st = csv.stat()
    os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a new time stamp even on coarse clocks
    edited = det.make_response()
    assert len(count_reads) == 2
    np.testing.assert_array_equal(edited.efficiency, 0.9)
    os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10**9))  # touched only: read again, same numbers
    np.testing.assert_array_equal(det.make_response().efficiency, 0.9)
    assert len(count_reads) == 3


def test_shared_arrays_are_read_only(table_detector):
    det = load_detector(table_detector[0])
    for resp in (det.make_response(), det.make_response(energy_scale=0.98), load_detector("d2o-1t").response):
        for a in (resp.matrix, resp.efficiency, resp.visible_edges_MeV, resp.reco_edges_MeV):
            with pytest.raises(ValueError, match="read-only"):
                a[0] = 0.5
    direct = response_module.load_response_file(table_detector[1])
    with pytest.raises(ValueError, match="read-only"):
        direct.matrix[0, 0] = 0.5


def test_analytic_responses_shared_between_detectors_with_the_same_response():
    base = load_detector("d2o-module1")
    farther = base.with_distance(25.0).with_mass_scale(2.0)  # a scan point: other distance and mass
    assert farther.make_response(energy_scale=1.02) is base.make_response(energy_scale=1.02)
    brighter = base.config.model_copy(
        update={"response": base.config.response.model_copy(update={"light_yield_pe_per_MeV": 30.0})}
    )
    other = type(base)(brighter, base.label, base.toml_text, base.base_dir).make_response()
    assert other is not base.make_response()
    assert not np.allclose(other.matrix, base.make_response().matrix)


def test_file_cache_keeps_the_most_recent_files(tmp_path, count_reads):
    small = response_module.Response([0.0, 1.0, 2.0], [0.0, 1.0], [[0.5], [0.5]], [1.0, 1.0])
    paths = [tmp_path / f"r{k}.csv" for k in range(response_module.FILE_CACHE_SIZE + 1)]
    for p in paths:
        _write_csv(p, small)
    for p in paths[1:]:
        response_module.load_response_file(p)
    response_module.load_response_file(paths[-1])  # the latest file: kept
    assert len(count_reads) == len(paths) - 1
    response_module.load_response_file(paths[0])  # one more file: the least recently used is dropped
    response_module.load_response_file(paths[1])
    assert len(count_reads) == len(paths) + 1


def test_cache_is_bounded(monkeypatch):
    det = load_detector("d2o-1t")
    monkeypatch.setattr(detector_module, "RESPONSE_CACHE_MAX_ELEMENTS", 10)  # a "large" matrix: not kept
    first = det.make_response(energy_scale=1.013)
    assert det.make_response(energy_scale=1.013) is not first
    monkeypatch.undo()
    for k in range(detector_module.RESPONSE_CACHE_SIZE + 5):
        det.make_response(energy_scale=1.0 + 1e-3 * k)
    assert len(detector_module._RESPONSES) <= detector_module.RESPONSE_CACHE_SIZE
