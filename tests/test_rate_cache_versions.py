"""The rate cache's key follows the installed cross-section data (:data:`d2oflux.rate_cache.DATA_DISTRIBUTIONS`):
tables cached with one release of ``snowglobes-data`` are not served after an upgrade, i.e. a changed
version string or file record is a miss that recomputes the tables."""

from importlib import metadata
from pathlib import Path

import pytest

from d2oflux import rate_cache, rates
from d2oflux.detector import load_detector
from d2oflux.rates import expect
from d2oflux.source import Exposure, Source, load_facility

FAC = load_facility("sns-fts")
SRC = Source(FAC)
ONE_YEAR = Exposure.from_years(FAC, 1.0)
REAL_DISTRIBUTION = metadata.distribution


class FakeDistribution:
    """Stands in for an installed distribution with another version or file record."""

    def __init__(self, version: str, record: str | None) -> None:
        self.version = version
        self._record = record

    def read_text(self, filename: str) -> str | None:
        return self._record if filename == "RECORD" else None


@pytest.fixture
def installed(monkeypatch):
    """``installed(version, record)`` makes ``snowglobes_data`` look installed as given (``version=None``: not
    installed); the per-process fingerprint is recomputed, and recomputed again after the test."""

    def set_snowglobes(version: str | None, record: str | None = "") -> None:
        def distribution(name: str):
            if name != "snowglobes_data":
                return REAL_DISTRIBUTION(name)
            if version is None:
                raise metadata.PackageNotFoundError(name)
            return FakeDistribution(version, record)

        monkeypatch.setattr(metadata, "distribution", distribution)
        rate_cache.code_fingerprint.cache_clear()

    rate_cache.code_fingerprint.cache_clear()
    yield set_snowglobes
    rate_cache.code_fingerprint.cache_clear()


def test_snowglobes_data_is_a_declared_data_distribution():
    assert "snowglobes_data" in rate_cache.DATA_DISTRIBUTIONS
    real = REAL_DISTRIBUTION("snowglobes_data")
    assert rate_cache.distribution_fingerprint("snowglobes_data").startswith(f"snowglobes_data {real.version}\n")


def test_fingerprint_follows_version_record_and_presence(installed):
    fingerprints = []
    for version, record in [("1.3.2", "a.dat,sha256=AAA,1"), ("1.4.0", "a.dat,sha256=AAA,1"), ("1.3.2", "x")]:
        installed(version, record)
        fingerprints.append(rate_cache.code_fingerprint())
    installed(None)
    fingerprints.append(rate_cache.code_fingerprint())
    installed("1.3.2", "a.dat,sha256=AAA,1")
    assert rate_cache.code_fingerprint() == fingerprints[0]  # deterministic
    assert len(set(fingerprints)) == 4


def test_upgraded_data_package_is_a_miss(tmp_path: Path, monkeypatch, installed):
    monkeypatch.setenv("D2OFLUX_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("D2OFLUX_NO_CACHE", raising=False)
    computed = []
    compute = rates._compute_tables

    def counting_compute(*args, **kwargs):
        computed.append(1)
        return compute(*args, **kwargs)

    monkeypatch.setattr(rates, "_compute_tables", counting_compute)
    det = load_detector("d2o-module1")
    record = REAL_DISTRIBUTION("snowglobes_data").read_text("RECORD")
    installed("1.3.2", record)
    expect(det, SRC, ONE_YEAR, disk_cache=True)
    expect(det, SRC, ONE_YEAR, disk_cache=True)
    assert len(computed) == 1  # the same installation: a hit
    installed("1.4.0", record)
    expect(det, SRC, ONE_YEAR, disk_cache=True)
    assert len(computed) == 2  # another version: a miss, stored under a new key
    assert len(list((tmp_path / "rates").glob("*.npz"))) == 2
