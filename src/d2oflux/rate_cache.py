"""On-disk cache of the rate engine's derived tables, so that a repeated ``d2oflux rates`` skips the physics.

What is stored, for one detector binning and one source (one ``.npz`` file per key):

* per target species, the flux-weighted cross sections folded into the neutrino- and visible-energy bins
  of every reaction (``sum_nodes w sigma`` per bin and in total [cm^2], per neutrino of the flavour), with
  the reaction's name, flavour, visible particle and relative uncertainty;
* the arrival-time fractions per flavour in the detector's time bins;
* the smearing matrix and efficiency of an analytic detector response.

The key is the SHA-256 of everything these depend on: the detector configuration (binning, response,
regions and their materials, neutron-capture settings), the cross-section options (16O model, radiative
corrections), the registered channels, the timing model, the quadrature nodes and weights of every
flavour's spectrum (they define the flux shape, analytic or tabulated), the bin edges, the package version,
a digest of the package's source files and cross-section tables (so a code change invalidates it), and the
version and installed-file record (``RECORD``, with each file's SHA-256) of every distribution in
:data:`DATA_DISTRIBUTIONS` whose tables the rates read (so upgrading ``snowglobes-data`` invalidates it).

Files live in ``$D2OFLUX_CACHE_DIR/rates``, else the user cache folder from platformdirs
(``~/.cache/d2oflux/rates``), are written atomically (temporary file in the same folder, renamed) and read
with ``np.load(allow_pickle=False)``; an unreadable or inconsistent file is ignored (recomputed and
rewritten). At most :data:`MAX_FILES` files are kept (least recently used removed first; only files named
like a key). ``D2OFLUX_NO_CACHE=1`` disables the cache. The arrays are float64, stored exactly: a cache hit
gives bit-identical results to a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import ConfigError

#: Bump when the layout of a cache file changes.
CACHE_FORMAT = "1"
#: Most files kept in the cache folder (~0.15 MB each): after a write, the least recently used beyond it are
#: removed (every code change makes new keys, so old files would otherwise pile up).
MAX_FILES = 32
#: Installed distributions whose data files the rate engine reads at run time: ``snowglobes_data`` holds the
#: Kolbe 16O CC and NC tables (:mod:`d2oflux.xsec.oxygen`). Their versions and file records enter the key.
DATA_DISTRIBUTIONS = ("snowglobes_data",)


@dataclass
class UnitTable:
    """One reaction folded with one flavour's spectrum, per neutrino of that flavour (before the target count).

    Attributes
    ----------
    name, flavour, target, visible_particle : str
    rel_uncertainty : float
    per_nu, per_vis : array
        ``sum w sigma`` per neutrino-energy and per visible-energy bin [cm^2].
    total : float
        ``sum w sigma`` over all nodes [cm^2].
    """

    name: str
    flavour: str
    target: str
    visible_particle: str
    rel_uncertainty: float
    per_nu: np.ndarray
    per_vis: np.ndarray
    total: float


@dataclass
class RateTables:
    """Everything :func:`d2oflux.rates.expect` derives that does not scale with the exposure or the mass.

    Attributes
    ----------
    by_target : dict
        Target species -> its reactions (:class:`UnitTable`), in the registry's order.
    time_fractions : dict
        Flavour -> fraction arriving in each time bin.
    response : tuple or None
        ``(visible_edges, reco_edges, matrix, efficiency, visible_particles)`` of the detector's response,
        or ``None`` when it is not cached (a response given by the caller, or read from a file).
    """

    by_target: dict[str, list[UnitTable]] = field(default_factory=dict)
    time_fractions: dict[str, np.ndarray] = field(default_factory=dict)
    response: tuple | None = None


def enabled() -> bool:
    """False when ``D2OFLUX_NO_CACHE`` is set to anything but ``""`` or ``"0"``."""
    return os.environ.get("D2OFLUX_NO_CACHE", "") in ("", "0")


def cache_dir() -> Path:
    """Folder of cached rate tables: ``$D2OFLUX_CACHE_DIR/rates`` or the platform's user cache folder."""
    env = os.environ.get("D2OFLUX_CACHE_DIR")
    if env:
        return Path(env) / "rates"
    import platformdirs

    return Path(platformdirs.user_cache_dir("d2oflux")) / "rates"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of the package version, its Python sources, its cross-section tables and the installed data
    distributions (:func:`distribution_fingerprint` of each of :data:`DATA_DISTRIBUTIONS`)."""
    from . import __version__

    root = Path(__file__).resolve().parent
    h = hashlib.sha256(f"d2oflux {__version__} format {CACHE_FORMAT}".encode())
    files = sorted([*root.glob("*.py"), *root.glob("xsec/*.py"), *root.glob("data/xsec/*")])
    for path in files:
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes())
    for name in DATA_DISTRIBUTIONS:
        h.update(b"\0" + distribution_fingerprint(name).encode())
    return h.hexdigest()


def distribution_fingerprint(name: str) -> str:
    """The installed version of distribution ``name`` and its ``RECORD`` (every installed file with its SHA-256,
    written by the installer; empty for an install without one), or a marker that it is not installed.

    Reading the record costs ~10 ms, hashing the files themselves (12 MB for ``snowglobes_data``) far more.
    """
    from importlib import metadata

    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return f"{name}: not installed"
    return f"{name} {dist.version}\n{dist.read_text('RECORD') or ''}"


def cache_key(inputs: dict, arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of the JSON ``inputs`` (sorted keys), the exact bytes of ``arrays`` and :func:`code_fingerprint`."""
    h = hashlib.sha256(code_fingerprint().encode())
    h.update(json.dumps(inputs, sort_keys=True, default=str).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name], dtype=float)
        h.update(f"\0{name}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def cache_path(key: str) -> Path:
    return cache_dir() / f"{key}.npz"


def save(key: str, tables: RateTables) -> None:
    """Write ``tables`` under ``key`` atomically; a folder that cannot be written is silently skipped."""
    meta: dict = {"format": CACHE_FORMAT, "by_target": {}, "flavours": list(tables.time_fractions)}
    arrays: dict[str, np.ndarray] = {}
    for t, (target, entries) in enumerate(tables.by_target.items()):
        meta["by_target"][target] = [
            {k: getattr(u, k) for k in ("name", "flavour", "target", "visible_particle", "rel_uncertainty")}
            for u in entries
        ]
        for j, u in enumerate(entries):
            arrays[f"t{t}_{j}_per_nu"] = u.per_nu
            arrays[f"t{t}_{j}_per_vis"] = u.per_vis
            arrays[f"t{t}_{j}_total"] = np.array(u.total)
    for i, frac in enumerate(tables.time_fractions.values()):
        arrays[f"time_{i}"] = frac
    if tables.response is not None:
        vis, reco, matrix, eff, particles = tables.response
        meta["visible_particles"] = list(particles)
        arrays.update(response_vis=vis, response_reco=reco, response_matrix=matrix, response_efficiency=eff)
    from .outputs import atomic_file

    path = cache_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # whole or not at all (the cache folder is ours: any file of that name may be replaced)
        with atomic_file(path, "rates cache", is_ours=lambda p: True) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)
        prune(path.parent)
    except (OSError, ConfigError):
        return  # a read-only or full cache folder, or another d2oflux writing there: run without caching


def load(key: str) -> RateTables | None:
    """The tables stored under ``key``, or ``None`` if missing, unreadable or inconsistent."""
    path = cache_path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: np.asarray(f[k]) for k in f.files}
        meta = json.loads(str(data["meta"]))
        if meta["format"] != CACHE_FORMAT:
            return None
        tables = RateTables()
        for t, (target, entries) in enumerate(meta["by_target"].items()):
            tables.by_target[target] = [
                UnitTable(
                    **e,
                    per_nu=_float_array(data[f"t{t}_{j}_per_nu"], 1),
                    per_vis=_float_array(data[f"t{t}_{j}_per_vis"], 1),
                    total=float(_float_array(data[f"t{t}_{j}_total"], 0)),
                )
                for j, e in enumerate(entries)
            ]
        tables.time_fractions = {f: _float_array(data[f"time_{i}"], 1) for i, f in enumerate(meta["flavours"])}
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept by prune()
        if "visible_particles" in meta:
            tables.response = (
                _float_array(data["response_vis"], 1),
                _float_array(data["response_reco"], 1),
                _float_array(data["response_matrix"], 2),
                _float_array(data["response_efficiency"], 1),
                tuple(meta["visible_particles"]),
            )
        return tables
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None  # a truncated, corrupted or foreign file: recompute (and overwrite it)


def prune(folder: Path, keep: int = MAX_FILES) -> None:
    """Remove the least recently modified cache files of ``folder`` beyond the newest ``keep``."""
    files = [p for p in folder.glob("*.npz") if len(p.stem) == 64 and all(ch in "0123456789abcdef" for ch in p.stem)]
    if len(files) <= keep:
        return
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for p in files[keep:]:
        p.unlink(missing_ok=True)


def _float_array(a: np.ndarray, ndim: int) -> np.ndarray:
    if a.dtype != np.float64 or a.ndim != ndim:
        raise ValueError(f"cached array: expected float64 with {ndim} dimensions, got {a.dtype} {a.shape}")
    return a
