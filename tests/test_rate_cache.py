"""The on-disk rate-table cache (:mod:`d2oflux.rate_cache`): a hit gives exactly the numbers of a computation
without the cache (second method: the engine with the cache off), corrupt files are ignored, the cache can be
switched off, and its key follows its inputs."""

import os
from pathlib import Path

import numpy as np
import pytest

from d2oflux import rate_cache, rates
from d2oflux.binning import Axis
from d2oflux.detector import Detector, load_detector
from d2oflux.rates import expect
from d2oflux.source import Exposure, Source, load_facility

FAC = load_facility("sns-fts")
SRC = Source(FAC)
ONE_YEAR = Exposure.from_years(FAC, 1.0)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    """An empty cache folder for this test, with the cache enabled."""
    monkeypatch.setenv("D2OFLUX_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("D2OFLUX_NO_CACHE", raising=False)
    return tmp_path / "rates"


@pytest.fixture(scope="module")
def det() -> Detector:
    return load_detector("d2o-module1")


@pytest.fixture(scope="module")
def reference(det):
    """The expectation computed without the disk cache."""
    return expect(det, SRC, ONE_YEAR)


def files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.npz")) if folder.is_dir() else []


def assert_identical(a, b) -> None:
    """Every number of two expectations equal, bit for bit (exact float equality)."""
    assert list(a.channels) == list(b.channels)
    assert a.fluence_per_cm2 == b.fluence_per_cm2
    for name, ca in a.channels.items():
        cb = b.channels[name]
        assert (ca.interactions, ca.detected) == (cb.interactions, cb.detected), name
        assert ca.interactions_by_flavour == cb.interactions_by_flavour, name
        for field in ("neutrino_energy_counts", "visible_energy_counts", "reco_time_counts"):
            assert np.array_equal(getattr(ca, field), getattr(cb, field)), (name, field)
    assert [(c.channel, c.region, c.flavour, c.rel_uncertainty) for c in a.components] == [
        (c.channel, c.region, c.flavour, c.rel_uncertainty) for c in b.components
    ]
    assert np.array_equal(a.response.matrix, b.response.matrix)
    assert np.array_equal(a.response.efficiency, b.response.efficiency)
    assert a.response.visible_particles == b.response.visible_particles


def test_miss_then_hit_identical_to_no_cache(cache, det, reference, monkeypatch):
    two_years = Exposure.from_years(FAC, 2.0)
    ref2 = expect(det, SRC, two_years)
    cold = expect(det, SRC, ONE_YEAR, disk_cache=True)
    assert len(files(cache)) == 1
    assert_identical(cold, reference)

    def no_compute(*args, **kwargs):
        raise AssertionError("a warm cache must not recompute the tables")

    monkeypatch.setattr(rates, "_compute_tables", no_compute)
    warm = expect(det, SRC, ONE_YEAR, disk_cache=True)
    assert_identical(warm, reference)
    # the cached tables do not depend on the exposure: a hit scales them exactly as a miss does
    assert_identical(expect(det, SRC, two_years, disk_cache=True), ref2)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupted_file_is_ignored_and_rewritten(cache, det, reference, damage):
    expect(det, SRC, ONE_YEAR, disk_cache=True)
    (path,) = files(cache)
    good = path.read_bytes()
    bad = {"garbage": b"not a zip file at all", "truncated": good[: len(good) // 2], "empty": b""}[damage]
    path.write_bytes(bad)
    assert rate_cache.load(path.stem) is None
    assert_identical(expect(det, SRC, ONE_YEAR, disk_cache=True), reference)
    assert rate_cache.load(path.stem) is not None  # recomputed and stored again


def test_wrong_array_type_is_ignored(cache, det, reference):
    expect(det, SRC, ONE_YEAR, disk_cache=True)
    (path,) = files(cache)
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    data["time_0"] = data["time_0"].astype(np.float32)
    with path.open("wb") as fh:
        np.savez(fh, **data)
    assert rate_cache.load(path.stem) is None
    assert_identical(expect(det, SRC, ONE_YEAR, disk_cache=True), reference)


def test_no_cache_variable_bypasses_it(cache, det, reference, monkeypatch):
    monkeypatch.setenv("D2OFLUX_NO_CACHE", "1")
    assert not rate_cache.enabled()
    assert_identical(expect(det, SRC, ONE_YEAR, disk_cache=True), reference)
    assert files(cache) == []


def test_unwritable_cache_folder_is_skipped(tmp_path, det, reference, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("D2OFLUX_CACHE_DIR", str(blocker))
    monkeypatch.delenv("D2OFLUX_NO_CACHE", raising=False)
    assert_identical(expect(det, SRC, ONE_YEAR, disk_cache=True), reference)


def with_binning(det: Detector, **axes: Axis) -> Detector:
    binning = det.config.binning.model_copy(update=axes)
    return Detector(det.config.model_copy(update={"binning": binning}), det.label, det.toml_text, det.base_dir)


def test_key_follows_the_inputs(cache, det):
    expect(det, SRC, ONE_YEAR, disk_cache=True)
    expect(det, SRC, Exposure.from_years(FAC, 3.0), disk_cache=True)  # the exposure is not a table input
    assert len(files(cache)) == 1
    expect(det, SRC, ONE_YEAR, disk_cache=True, radiative_corrections=False)
    assert len(files(cache)) == 2
    finer = with_binning(det, neutrino_energy_MeV=Axis(min=0.0, max=60.0, width=0.5))
    res = expect(finer, SRC, ONE_YEAR, disk_cache=True)
    assert len(files(cache)) == 3
    assert_identical(res, expect(finer, SRC, ONE_YEAR))
    expect(det, SRC, ONE_YEAR, disk_cache=True, o16_model="nakazato")
    assert len(files(cache)) == 4
    expect(det.with_distance(30.0), SRC, ONE_YEAR, disk_cache=True)  # the detector configuration is an input
    assert len(files(cache)) == 5


def test_radiative_corrections_off_from_cache_identical(cache, det, monkeypatch):
    reference = expect(det, SRC, ONE_YEAR, radiative_corrections=False)
    expect(det, SRC, ONE_YEAR, disk_cache=True, radiative_corrections=False)
    monkeypatch.setattr(rates, "_compute_tables", None)  # a hit must not call it
    assert_identical(expect(det, SRC, ONE_YEAR, disk_cache=True, radiative_corrections=False), reference)


def test_cli_rates_cold_and_warm_identical(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from d2oflux.cli import app

    monkeypatch.setenv("D2OFLUX_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("D2OFLUX_NO_CACHE", raising=False)
    runner = CliRunner()
    cold = runner.invoke(app, ["rates", "--json"])
    warm = runner.invoke(app, ["rates", "--json"])
    monkeypatch.setenv("D2OFLUX_NO_CACHE", "1")
    off = runner.invoke(app, ["rates", "--json"])
    assert cold.exit_code == warm.exit_code == off.exit_code == 0
    assert cold.stdout == warm.stdout == off.stdout
    assert len(files(tmp_path / "rates")) == 1


def test_prune_keeps_the_newest_files(tmp_path):
    names = [f"{i:064x}.npz" for i in range(5)]
    for i, name in enumerate(names):
        p = tmp_path / name
        p.write_bytes(b"x")
        os.utime(p, (1000 + i, 1000 + i))
    other = tmp_path / "notes.npz"  # not named like a key: never touched
    other.write_bytes(b"y")
    rate_cache.prune(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names[-2:], "notes.npz"])
