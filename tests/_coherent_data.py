"""Where the COHERENT public releases live for the tests: <repo root>/../shared/data/coherent.

``D2OFLUX_TEST_COHERENT_DIR`` overrides it (e.g. in a worktree that has no ``../shared`` beside it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

COHERENT_DIR = Path(
    os.environ.get("D2OFLUX_TEST_COHERENT_DIR")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "coherent"
)

_MISSING = not (COHERENT_DIR / "csi2021").is_dir() or not (COHERENT_DIR / "lar2020").is_dir()
if _MISSING and os.environ.get("CI"):  # in CI the releases are beside the clone: a missing copy is a failure
    raise RuntimeError(f"COHERENT releases not found at {COHERENT_DIR} (CI must not skip the data-set tests)")

needs_releases = pytest.mark.skipif(_MISSING, reason=f"COHERENT releases not found at {COHERENT_DIR}")

CSI_DIR = COHERENT_DIR / "csi2021"
LAR_DIR = COHERENT_DIR / "lar2020"
