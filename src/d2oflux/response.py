"""Detector response: visible energy -> reconstructed energy, as a smearing matrix plus efficiency.

Two ways to get one:

* :meth:`Response.analytic`: photo-electron statistics plus a constant term,
  ``sigma_E / E = sqrt(1/(Y E) + c^2)`` (docs/physics.md §6), a Gaussian around ``scale x E``,
  integrated over each visible-energy bin (4-point Gauss-Legendre) and each reconstructed bin (exact).
  ``Y``, ``c``, the threshold and the efficiency are design assumptions with documented defaults.
* :func:`load_response_file`: a matrix computed elsewhere (e.g. a Geant4 simulation), from a CSV,
  an NPZ or a ROOT ``TH2`` (x = true/visible energy, y = reconstructed energy) through uproot.
  A file is parsed once per process and version: the arrays are kept (read-only) under the file's resolved
  path, size and modification time (:func:`file_identity`), so an edited file is read again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import (
    ConfigError,
    check_readable,
    first_line,
    read_text_file,
    require_non_negative,
    require_positive,
)

#: Largest accepted response matrix (visible x reconstructed bins): 5e7 elements, 400 MB of floats.
MAX_MATRIX_ELEMENTS = 50_000_000
#: Response files whose parsed arrays are kept in memory (least recently used dropped first).
FILE_CACHE_SIZE = 8


@dataclass(frozen=True)
class Response:
    """A smearing matrix and an efficiency on fixed visible and reconstructed energy bins.

    Attributes
    ----------
    visible_edges_MeV : array (n + 1,)
        Visible (true deposited) energy bin edges [MeV].
    reco_edges_MeV : array (m + 1,)
        Reconstructed energy bin edges [MeV].
    matrix : array (n, m)
        ``matrix[i, j]`` = probability that an event with visible energy in bin i is reconstructed in bin j.
        Rows sum to at most 1 (the rest falls outside the reconstructed range or below threshold).
    efficiency : array (n,)
        Detection efficiency per visible-energy bin, applied before smearing.
    visible_particles : tuple of str
        Particles this detector sees (``electron``, ``positron``, ``gamma``, ``nuclear_recoil``).
    """

    visible_edges_MeV: np.ndarray
    reco_edges_MeV: np.ndarray
    matrix: np.ndarray
    efficiency: np.ndarray
    visible_particles: tuple[str, ...] = ("electron", "positron", "gamma")

    def __post_init__(self) -> None:
        for name in ("visible_edges_MeV", "reco_edges_MeV", "matrix", "efficiency"):
            value = getattr(self, name)
            if not isinstance(value, np.ndarray):  # lists are accepted; arrays (maybe read-only) are kept as given
                object.__setattr__(self, name, np.asarray(value, dtype=float))
        _check_edges(self.visible_edges_MeV, "visible_edges_MeV")
        _check_edges(self.reco_edges_MeV, "reco_edges_MeV")
        if isinstance(self.visible_particles, str):
            raise ConfigError(f"visible_particles: expected a tuple of particle names, got {self.visible_particles!r}")
        n, m = self.visible_edges_MeV.size - 1, self.reco_edges_MeV.size - 1
        if self.matrix.shape != (n, m):
            raise ConfigError(
                f"smearing matrix shape {self.matrix.shape} does not match its binning: expected ({n}, {m}) "
                f"from {n + 1} visible and {m + 1} reconstructed edges"
            )
        if self.efficiency.shape != (n,):
            raise ConfigError(f"efficiency has {self.efficiency.size} values, expected {n} (one per visible bin)")
        _check_values(self.matrix, "smearing matrix")
        _check_values(self.efficiency, "efficiency")
        if np.any(self.efficiency > 1 + 1e-9):
            raise ConfigError("efficiency: values must lie in [0, 1]")
        if np.any(self.matrix.sum(axis=1) > 1 + 1e-6):
            raise ConfigError("smearing matrix: a row sums to more than 1 (rows are probabilities)")

    def sees(self, particle: str) -> bool:
        """Whether a channel whose visible particle is ``particle`` produces a signal."""
        return particle in self.visible_particles

    def fold(self, visible_counts: np.ndarray) -> np.ndarray:
        """Expected counts per reconstructed bin for counts per visible bin (last axis)."""
        return (visible_counts * self.efficiency) @ self.matrix

    @classmethod
    def analytic(
        cls,
        visible_edges_MeV: np.ndarray,
        reco_edges_MeV: np.ndarray,
        *,
        light_yield_pe_per_MeV: float,
        resolution_constant: float,
        energy_scale: float = 1.0,
        threshold_MeV: float = 0.0,
        efficiency: float = 1.0,
        visible_particles: tuple[str, ...] = ("electron", "positron", "gamma"),
    ) -> Response:
        """Gaussian smearing with ``sigma/E = sqrt(1/(Y E) + c^2)`` around ``energy_scale x E``.

        Parameters
        ----------
        visible_edges_MeV, reco_edges_MeV : arrays
            Bin edges [MeV].
        light_yield_pe_per_MeV : float
            Y, photo-electrons per MeV of visible energy.
        resolution_constant : float
            c, the constant relative term.
        energy_scale : float
            Multiplies the mean reconstructed energy (1 = perfect calibration).
        threshold_MeV : float
            Events reconstructed below it are not detected.
        efficiency : float
            Flat detection efficiency in [0, 1].
        """
        from scipy.special import ndtr  # lazily: `d2oflux rates` with a warm rate cache never imports scipy

        require_positive(light_yield_pe_per_MeV, "light_yield_pe_per_MeV", "photo-electrons per MeV")
        require_positive(energy_scale, "energy_scale")
        require_non_negative(resolution_constant, "resolution_constant")
        require_non_negative(threshold_MeV, "threshold_MeV", "MeV")  # as the detector schema (ge=0)
        vis = np.asarray(visible_edges_MeV, dtype=float)
        reco = np.asarray(reco_edges_MeV, dtype=float)
        _check_edges(vis, "visible_edges_MeV")
        _check_edges(reco, "reco_edges_MeV")
        if isinstance(visible_particles, str):
            raise ConfigError(f"visible_particles: expected a tuple of particle names, got {visible_particles!r}")
        x, w = np.polynomial.legendre.leggauss(4)
        half = 0.5 * np.diff(vis)
        E = 0.5 * (vis[1:] + vis[:-1])[:, None] + half[:, None] * x[None, :]  # (n, 4) sub-points
        mean = energy_scale * E
        sigma = np.sqrt(np.clip(E, 0, None) / light_yield_pe_per_MeV + (resolution_constant * E) ** 2)
        sigma = np.maximum(sigma, 1e-9)
        upper = np.maximum(reco, threshold_MeV)  # a reconstructed bin only counts above threshold
        cdf = ndtr((upper[None, None, :] - mean[..., None]) / sigma[..., None])  # (n, 4, m + 1)
        per_point = np.diff(cdf, axis=-1)
        matrix = np.einsum("k,ikj->ij", 0.5 * w, per_point)
        return cls(vis, reco, matrix, np.full(vis.size - 1, float(efficiency)), tuple(visible_particles))


def read_only(resp: Response) -> Response:
    """``resp`` with its arrays made read-only (for a response shared through a cache); returns ``resp``."""
    for a in (resp.visible_edges_MeV, resp.reco_edges_MeV, resp.matrix, resp.efficiency):
        a.setflags(write=False)
    return resp


def _check_edges(edges: np.ndarray, what: str) -> None:
    """Raise :class:`ConfigError` unless ``edges`` are one-dimensional, at least two, finite and increasing."""
    if edges.ndim != 1 or edges.size < 2:
        raise ConfigError(f"{what}: expected a one-dimensional array of at least two bin edges [MeV]")
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ConfigError(f"{what}: bin edges must be finite and strictly increasing [MeV]")


def _check_values(a: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(a)):
        raise ConfigError(f"{what}: contains NaN or infinite values")
    if np.any(a < 0):
        raise ConfigError(f"{what}: contains negative values")


def load_response_file(
    path: str | Path,
    *,
    matrix_name: str = "smearing",
    efficiency_name: str | None = None,
    normalise_rows: bool = False,
    visible_particles: tuple[str, ...] = ("electron", "positron", "gamma"),
) -> Response:
    """Load a smearing matrix and efficiency from CSV, NPZ or ROOT.

    Formats
    -------
    ``.npz``
        Arrays ``visible_edges_MeV`` (n+1), ``reco_edges_MeV`` (m+1), ``matrix`` (n, m) and optionally
        ``efficiency`` (n).
    ``.csv``
        One row per matrix element: ``visible_lo_MeV, visible_hi_MeV, reco_lo_MeV, reco_hi_MeV,
        probability`` and optionally ``efficiency`` (per visible bin, repeated). Edges must tile.
    ``.root``
        A ``TH2`` named ``matrix_name`` (x: visible energy, y: reconstructed energy, MeV) and optionally
        a ``TH1`` named ``efficiency_name`` on the same visible bins.

    ``normalise_rows`` turns a matrix of counts (e.g. simulated events) into probabilities per row.
    The arrays of the returned response are read-only: they are shared with later loads of the same file
    version (see :func:`file_identity`).
    """
    p = Path(path)
    check_readable(p, "response file")
    identity = file_identity(p)
    if identity is None:  # vanished since the check
        raise ConfigError(f"response file '{path}': cannot be read")
    vis, reco, matrix, eff = _read_arrays(*identity, matrix_name, efficiency_name, normalise_rows)
    if matrix.size and not np.any(matrix):
        raise ConfigError(f"response file '{path}': the smearing matrix is zero everywhere; no event would be seen")
    try:
        return Response(vis, reco, matrix, eff, visible_particles)
    except ConfigError as exc:
        raise ConfigError(f"response file '{p}': {exc}") from None


def file_identity(path: str | Path) -> tuple[str, int, int] | None:
    """``(resolved path, size [bytes], modification time [ns])`` of a file, or None if it cannot be stat'ed.

    A file edited in place or replaced changes its size or its modification time, so this identifies one
    version of the file (on file systems with coarse time stamps, an edit that keeps the size within the same
    time stamp is not seen).
    """
    try:
        p = Path(path).resolve()
        st = p.stat()
    except OSError:
        return None
    return str(p), st.st_size, st.st_mtime_ns


@lru_cache(maxsize=FILE_CACHE_SIZE)
def _read_arrays(
    resolved: str,
    size: int,
    mtime_ns: int,
    matrix_name: str,
    efficiency_name: str | None,
    normalise_rows: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Visible edges, reconstructed edges, matrix and efficiency of one version of a response file, checked
    and read-only. ``size`` and ``mtime_ns`` only key the cache (an edited file is a new entry)."""
    p = Path(resolved)
    suffix = p.suffix.lower()
    if suffix == ".npz":
        vis, reco, matrix, eff = _read_npz(p)
    elif suffix == ".csv":
        vis, reco, matrix, eff = _read_csv(p)
    elif suffix == ".root":
        vis, reco, matrix, eff = _read_root(p, matrix_name, efficiency_name)
    else:
        raise ConfigError(f"response file '{p}': unknown suffix '{suffix}'; expected .csv, .npz or .root")
    for edges, what in ((vis, "visible"), (reco, "reconstructed")):
        if edges.ndim != 1 or edges.size < 2 or not np.all(np.isfinite(edges)) or not np.all(np.diff(edges) > 0):
            raise ConfigError(f"response file '{p}': {what} energy edges are not finite or not strictly increasing")
    if matrix.ndim != 2:
        raise ConfigError(f"response file '{p}': the matrix has {matrix.ndim} dimensions, expected 2")
    _check_values(matrix, f"response file '{p}' matrix")
    if normalise_rows:
        sums = matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix, sums, out=np.zeros_like(matrix), where=sums > 0)
    if eff is None:
        eff = np.ones(vis.size - 1)
    arrays = (vis, reco, matrix, eff)
    for a in arrays:
        a.setflags(write=False)
    return arrays


def _read_npz(p: Path):
    try:
        with np.load(p, allow_pickle=False) as f:
            missing = [k for k in ("visible_edges_MeV", "reco_edges_MeV", "matrix") if k not in f]
            if missing:
                raise ConfigError(f"response file '{p}': missing array(s) {', '.join(missing)}")
            eff = np.asarray(f["efficiency"], dtype=float) if "efficiency" in f else None
            return (
                np.asarray(f["visible_edges_MeV"], float),
                np.asarray(f["reco_edges_MeV"], float),
                np.asarray(f["matrix"], float),
                eff,
            )
    except ConfigError:
        raise
    except Exception as exc:  # numpy/zipfile raise many types (BadZipFile, EOFError, ValueError, ...)
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(
            f"response file '{p}': not a readable NPZ file of numeric arrays ({type(exc).__name__}: {reason})"
        ) from None


def _read_csv(p: Path):
    import csv

    need = ("visible_lo_MeV", "visible_hi_MeV", "reco_lo_MeV", "reco_hi_MeV", "probability")
    text = read_text_file(p, "response file", "CSV columns " + ", ".join(need))
    reader = csv.DictReader(ln for ln in text.splitlines() if not ln.startswith("#"))
    cols = reader.fieldnames or []
    missing = [k for k in need if k not in cols]
    if missing:
        raise ConfigError(f"response file '{p}': missing column(s) {', '.join(missing)}")
    try:
        rows = [[float(r[k]) for k in need] + [float(r["efficiency"]) if "efficiency" in cols else 1.0] for r in reader]
    except (TypeError, ValueError, csv.Error):
        raise ConfigError(f"response file '{p}' line {reader.line_num}: missing or non-numeric value") from None
    a = np.asarray(rows, dtype=float)
    if a.size == 0:
        raise ConfigError(f"response file '{p}': no rows")
    if not np.all(np.isfinite(a)):
        raise ConfigError(f"response file '{p}': NaN or infinite values")
    vis = np.unique(np.concatenate([a[:, 0], a[:, 1]]))
    reco = np.unique(np.concatenate([a[:, 2], a[:, 3]]))
    i = np.searchsorted(vis, a[:, 0])
    j = np.searchsorted(reco, a[:, 2])
    if np.any(vis[np.minimum(i + 1, vis.size - 1)] != a[:, 1]) or np.any(
        reco[np.minimum(j + 1, reco.size - 1)] != a[:, 3]
    ):
        raise ConfigError(f"response file '{p}': bins do not tile (each *_hi must be the next *_lo)")
    if (vis.size - 1) * (reco.size - 1) > MAX_MATRIX_ELEMENTS:
        raise ConfigError(f"response file '{p}': {vis.size - 1} x {reco.size - 1} bins is more than the accepted size")
    flat = i * (reco.size - 1) + j
    first, counts = np.unique(flat, return_index=True, return_counts=True)[1:]
    if np.any(counts > 1):
        k = int(np.setdiff1d(np.arange(flat.size), first)[0])  # the first row repeating an earlier bin
        raise ConfigError(
            f"response file '{p}': data row {k + 1} repeats the bin visible {a[k, 0]:g}-{a[k, 1]:g} MeV, "
            f"reco {a[k, 2]:g}-{a[k, 3]:g} MeV; expected one row per matrix element"
        )
    matrix = np.zeros((vis.size - 1, reco.size - 1))
    matrix[i, j] = a[:, 4]
    eff = np.ones(vis.size - 1)
    eff[i] = a[:, 5]
    if not np.array_equal(eff[i], a[:, 5]):
        k = int(np.flatnonzero(eff[i] != a[:, 5])[0])
        raise ConfigError(
            f"response file '{p}': data row {k + 1}: efficiency {a[k, 5]:g} differs from another row of the "
            f"visible bin {a[k, 0]:g}-{a[k, 1]:g} MeV; expected one efficiency per visible bin"
        )
    return vis, reco, matrix, eff


def _read_root(p: Path, matrix_name: str, efficiency_name: str | None):
    import uproot

    try:
        f = uproot.open(p)
    except Exception as exc:  # uproot raises many types for a bad file
        raise ConfigError(f"response file '{p}': not a readable ROOT file ({first_line(exc)})") from None
    with f:
        values, vis, reco = _root_hist(f, p, matrix_name, "TH2", "matrix_name")
        eff = None
        if efficiency_name:
            eff, eff_edges = _root_hist(f, p, efficiency_name, "TH1", "efficiency_name")
            if eff_edges.shape != vis.shape or not np.allclose(eff_edges, vis):
                raise ConfigError(f"response file '{p}': efficiency binning differs from the matrix x axis")
    return np.asarray(vis, float), np.asarray(reco, float), np.asarray(values, float), eff


def _root_hist(f, p: Path, name: str, kind: str, key: str) -> tuple[np.ndarray, ...]:
    """``to_numpy()`` of the histogram ``name`` in an open ROOT file, checking it is a ``kind`` (TH1/TH2)."""
    try:
        present = name in f
    except Exception:  # a damaged directory
        present = False
    if not present:
        keys = [k.split(";")[0] for k in f.keys(recursive=False)][:10]
        raise ConfigError(
            f"response file '{p}': no object '{name}' (response.{key}); has: {', '.join(keys) or 'nothing'}"
        )
    try:
        obj = f[name]
        classname = getattr(obj, "classname", type(obj).__name__)
    except Exception as exc:  # a truncated or corrupt object
        raise ConfigError(f"response file '{p}': object '{name}' cannot be read ({first_line(exc)})") from None
    if not str(classname).startswith(kind):
        raise ConfigError(
            f"response file '{p}': object '{name}' (response.{key}) is a {classname}; expected a {kind} histogram"
        )
    try:
        arrays = obj.to_numpy(flow=False)
    except Exception as exc:
        raise ConfigError(f"response file '{p}': histogram '{name}' cannot be read ({first_line(exc)})") from None
    return tuple(np.asarray(a, dtype=float) for a in arrays)
