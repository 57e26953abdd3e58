"""Shared fixtures: the repository root, the shared reference data, a detector-file writer, and a reset of
pyhf's global backend after every test (tests that pick an optimiser must not leak it into others).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top folder."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Reference data beside the repository (``<repo>/../shared/data``); skips the test when absent."""
    path = REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared reference data not found at {path}")
    return path


@pytest.fixture
def write_detector(tmp_path: Path) -> Callable[..., Path]:
    """A function writing a variant of a detector preset into ``tmp_path`` and returning its path.

    ``write_detector({"distance_m = 20.0": "distance_m = 1e-300"}, base="d2o-module1", name="det.toml")``
    replaces each key (an exact line fragment of the preset, which must occur) by its value.
    """
    from d2oflux.detector import load_detector

    def write(replacements: dict[str, str] | None = None, base: str = "d2o-module1", name: str = "det.toml") -> Path:
        text = load_detector(base).toml_text
        for old, new in (replacements or {}).items():
            assert old in text, f"{old!r} not in preset {base}"
            text = text.replace(old, new)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def _reset_pyhf_backend():
    """Put pyhf back on its default numpy backend after each test."""
    yield
    import sys

    if "pyhf" in sys.modules:
        sys.modules["pyhf"].set_backend("numpy")


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """Keep the on-disk caches (rates, optical response) of a test session out of the user's cache folder.

    A folder shared by the session's tests (so cached optical responses are built once per session); a test
    that needs its own folder sets ``D2OFLUX_CACHE_DIR`` itself.
    """
    import os

    if "D2OFLUX_CACHE_DIR" in os.environ:
        yield
        return
    os.environ["D2OFLUX_CACHE_DIR"] = str(tmp_path_factory.mktemp("d2oflux-cache"))
    yield
    os.environ.pop("D2OFLUX_CACHE_DIR", None)
