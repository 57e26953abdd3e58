"""Tabulated cross sections: validation, interpolation and file readers.

:class:`TabulatedCrossSection` turns a table of (neutrino energy, total cross section) into a
:class:`~d2oflux.xsec.base.CrossSection`: interpolation (log-log by default, log-linear or linear on
request), zero below threshold, ``ValueError`` above the table end. Every table is validated on
construction (no NaN or infinities, no negative cross sections, strictly increasing energies); the
error message is one line naming the file (or source label) and the field.

Readers
-------
* :func:`read_snowglobes_xsec`: SNOwGLoBES cross-section files (``xscns/xs_*.dat``), either a path or a
  bare file name looked up at run time in the installed PyPI package ``snowglobes_data``
  (``snowglobes_data/xscns/``). Those files are GPL: we read them, we never copy them into d2oflux.
  Format (SNOwGLoBES documentation, and the header of each file): comment lines start with ``#``;
  each data row holds ``log10(E/GeV)`` then six flavour columns
  ``nu_e nu_mu nu_tau nu_e_bar nu_mu_bar nu_tau_bar`` holding ``sigma/E`` in units of
  1e-38 cm^2/GeV. (The header of ``xs_nue_O16.dat`` says "10^-8 cm^2/GeV": a typo, see docs/design.md
  "Pitfalls"; the numbers are in 1e-38 cm^2/GeV like every other file.)
* :func:`read_csv_xsec`: a plain CSV file with header ``E_MeV,sigma_cm2`` (``#`` comment lines allowed),
  for user-supplied cross sections; :func:`read_csv_columns` reads any CSV with named columns (used for
  the NSAPMGK deuteron table shipped in ``d2oflux/data/xsec``).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from d2oflux.xsec.base import (
    FLAVOUR_PDG,
    CrossSection,
    delta_spectrum,
)

#: Column order of SNOwGLoBES cross-section files after the log10(E/GeV) column (SNOwGLoBES manual).
SNOWGLOBES_COLUMNS: tuple[str, ...] = (
    "nu_e",
    "nu_mu",
    "nu_tau",
    "anti_nu_e",
    "anti_nu_mu",
    "anti_nu_tau",
)
#: Unit of the SNOwGLoBES columns: sigma/E in 1e-38 cm^2/GeV (SNOwGLoBES manual; file headers).
SNOWGLOBES_UNIT_CM2_PER_GEV = 1e-38

INTERPOLATIONS = ("loglog", "loglinear", "linear")


# ------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------
def validate_table(
    energies_MeV: ArrayLike,
    sigma_cm2: ArrayLike,
    source: str = "table",
    energy_field: str = "E_MeV",
    sigma_field: str = "sigma_cm2",
) -> tuple[np.ndarray, np.ndarray]:
    """Check a cross-section table and return it as float arrays.

    Raises ``ValueError`` with a one-line message naming ``source`` and the offending field on: NaN or
    infinite values, negative cross sections or energies, energies that do not strictly increase,
    mismatched lengths, fewer than two rows. Rows are counted from 1 (data rows, comments excluded).
    """
    E = np.asarray(energies_MeV, dtype=float)
    s = np.asarray(sigma_cm2, dtype=float)
    if E.ndim != 1 or s.ndim != 1:
        raise ValueError(f"{source}: fields {energy_field} and {sigma_field} must be one-dimensional")
    if E.size != s.size:
        raise ValueError(
            f"{source}: fields {energy_field} ({E.size} rows) and {sigma_field} ({s.size} rows) differ in length"
        )
    if E.size < 2:
        raise ValueError(f"{source}: needs at least two rows, got {E.size}")
    for arr, field in ((E, energy_field), (s, sigma_field)):
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{source}: field {field} has a non-finite value ({arr[i]}) at row {i + 1}")
    if (E < 0).any():
        i = int(np.argmax(E < 0))
        raise ValueError(f"{source}: field {energy_field} is negative ({E[i]:g}) at row {i + 1}")
    if (s < 0).any():
        i = int(np.argmax(s < 0))
        raise ValueError(f"{source}: field {sigma_field} is negative ({s[i]:g}) at row {i + 1}")
    d = np.diff(E)
    if (d <= 0).any():
        i = int(np.argmax(d <= 0)) + 1
        raise ValueError(
            f"{source}: field {energy_field} is not strictly increasing at row {i + 1} ({E[i]:g} after {E[i - 1]:g})"
        )
    return E, s


# ------------------------------------------------------------------------------------------------
# interpolation
# ------------------------------------------------------------------------------------------------
def interpolate_sigma(E: np.ndarray, E_tab: np.ndarray, s_tab: np.ndarray, interpolation: str = "loglog") -> np.ndarray:
    """Interpolate a validated table at energies ``E`` (inside ``[E_tab[0], E_tab[-1]]``).

    ``loglog``: log(sigma) linear in log(E) (exact for power laws, the natural shape of these cross
    sections); ``loglinear``: log(sigma) linear in E; ``linear``: sigma linear in E. In a segment where
    one end is zero the log forms are undefined and the segment is interpolated linearly.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    i = np.clip(np.searchsorted(E_tab, E, side="right") - 1, 0, E_tab.size - 2)
    e0, e1 = E_tab[i], E_tab[i + 1]
    s0, s1 = s_tab[i], s_tab[i + 1]
    t = (E - e0) / (e1 - e0)
    out = s0 + t * (s1 - s0)
    if interpolation == "linear":
        return out
    pos = (s0 > 0) & (s1 > 0) & (E > 0)
    if pos.any():
        ls0, ls1 = np.log(s0[pos]), np.log(s1[pos])
        if interpolation == "loglog":
            tl = np.log(E[pos] / e0[pos]) / np.log(e1[pos] / e0[pos])
        else:
            tl = t[pos]
        out[pos] = np.exp(ls0 + tl * (ls1 - ls0))
    return out


# ------------------------------------------------------------------------------------------------
# the generic tabulated model
# ------------------------------------------------------------------------------------------------
class TabulatedCrossSection(CrossSection):
    """A cross section given as a table of total cross sections against neutrino energy.

    Parameters
    ----------
    energies_MeV, sigma_cm2 : arrays
        The table (validated: see :func:`validate_table`).
    name, flavour, target, citation, visible_particle : str
        As in :class:`~d2oflux.xsec.base.CrossSection`.
    rel_uncertainty : float
        Relative theory uncertainty to carry.
    threshold_MeV : float, optional
        Below it ``sigma`` is zero. Default: the last tabulated energy with zero cross section before
        the first positive one (or the first energy if the table starts positive). If it lies below
        the first tabulated energy the table is extended with a zero at the threshold.
    interpolation : {"loglog", "loglinear", "linear"}
        See :func:`interpolate_sigma`.
    scale : float
        Multiplies every cross section (e.g. a radiative-correction factor). Default 1.
    visible_offset_MeV : float, optional
        Generic visible-energy model: a single visible kinetic energy ``T = E - visible_offset_MeV`` per
        neutrino energy (a delta function; default offset: the threshold). Subclasses replace
        :meth:`visible_spectrum` with a physical model.
    visible_T : callable, optional
        Alternatively a function ``E -> T`` giving the single visible energy.
    source : str
        Label used in error messages (file name or table name).
    """

    def __init__(
        self,
        energies_MeV: ArrayLike,
        sigma_cm2: ArrayLike,
        *,
        name: str,
        flavour: str,
        target: str,
        rel_uncertainty: float,
        citation: str,
        visible_particle: str = "electron",
        threshold_MeV: float | None = None,
        interpolation: str = "loglog",
        scale: float = 1.0,
        visible_offset_MeV: float | None = None,
        visible_T: Callable[[np.ndarray], np.ndarray] | None = None,
        source: str = "table",
    ) -> None:
        if flavour not in FLAVOUR_PDG:
            raise ValueError(f"{source}: unknown flavour {flavour!r} (known: {', '.join(FLAVOUR_PDG)})")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"{source}: interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
        if not (math.isfinite(scale) and scale >= 0):
            raise ValueError(f"{source}: scale must be a finite non-negative number, got {scale!r}")
        E, s = validate_table(energies_MeV, sigma_cm2, source)
        if threshold_MeV is None:
            pos = np.nonzero(s > 0)[0]
            if pos.size == 0:
                raise ValueError(f"{source}: field sigma_cm2 is zero everywhere")
            k = int(pos[0])
            threshold_MeV = float(E[k - 1]) if k > 0 else float(E[0])
        threshold_MeV = float(threshold_MeV)
        if not math.isfinite(threshold_MeV) or threshold_MeV < 0:
            raise ValueError(f"{source}: threshold_MeV must be finite and >= 0, got {threshold_MeV!r}")
        if threshold_MeV < E[0]:
            E = np.concatenate([[threshold_MeV], E])
            s = np.concatenate([[0.0], s])
        self.name = name
        self.flavour = flavour
        self.target = target
        self.threshold_MeV = threshold_MeV
        self.rel_uncertainty = float(rel_uncertainty)
        self.citation = citation
        self.visible_particle = visible_particle
        self.interpolation = interpolation
        self.scale = float(scale)
        self.source = source
        self.energies_MeV = E
        self.sigma_table_cm2 = s
        self.E_max_MeV = float(E[-1])
        self._visible_offset = threshold_MeV if visible_offset_MeV is None else float(visible_offset_MeV)
        self._visible_T = visible_T

    # -- total cross section -----------------------------------------------------------------------
    @property
    def range_label(self) -> str:
        return f"{self.name} ({self.source})"

    def _sigma(self, E: np.ndarray) -> np.ndarray:
        return interpolate_sigma(E, self.energies_MeV, self.sigma_table_cm2, self.interpolation) * self.scale

    # -- visible spectrum (generic: one visible energy per neutrino energy) -------------------------
    def visible_T_MeV(self, E_MeV: ArrayLike) -> np.ndarray:
        """The single visible kinetic energy of the generic model at each neutrino energy [MeV]."""
        E = np.asarray(E_MeV, dtype=float)
        if self._visible_T is not None:
            return np.asarray(self._visible_T(E), dtype=float)
        return np.maximum(E - self._visible_offset, 0.0)

    def _visible_spectrum(self, E: np.ndarray, edges: np.ndarray) -> np.ndarray:
        return delta_spectrum(E.size, edges, self.visible_T_MeV(E))


class TableBackedCrossSection(CrossSection):
    """A model whose total cross section is that of a :class:`TabulatedCrossSection` it holds as ``_table``.

    Subclasses set ``self._table`` in their ``__init__`` and give the visible spectrum; the total cross
    section [cm^2] and the range named in errors are the table's.
    """

    _table: TabulatedCrossSection

    @property
    def range_label(self) -> str:
        return self._table.range_label

    def _sigma(self, E: np.ndarray) -> np.ndarray:
        return self._table.sigma(E)


# ------------------------------------------------------------------------------------------------
# readers
# ------------------------------------------------------------------------------------------------
def snowglobes_path(name_or_path: str | Path) -> Path:
    """Resolve a SNOwGLoBES cross-section file.

    A bare file name (no folder part, e.g. ``"xs_nue_O16.dat"``) is looked up in the installed
    ``snowglobes_data`` package (``snowglobes_data/xscns/<name>``) first, so that a file of the same name in
    the working folder cannot silently replace a packaged table; a name the package does not have, or a
    path with a folder part (``"./my_xs.dat"``, ``Path`` objects), is a user file.
    """
    text = str(name_or_path)
    p = Path(name_or_path)
    if not (isinstance(name_or_path, str) and "/" not in text and os.sep not in text):
        if not p.is_file():
            raise FileNotFoundError(f"{name_or_path}: no such file")
        return p
    try:
        packaged = Path(str(resources.files("snowglobes_data") / "xscns" / text))
    except ModuleNotFoundError:  # pragma: no cover - dependency is declared in pyproject
        packaged = None
    if packaged is not None and packaged.is_file():
        return packaged
    if p.is_file():
        return p
    if packaged is None:  # pragma: no cover
        raise FileNotFoundError(
            f"{name_or_path}: not a file, and the package snowglobes_data (PyPI snowglobes-data) is not installed"
        )
    raise FileNotFoundError(f"{name_or_path}: no such file, nor in snowglobes_data/xscns/")


def read_snowglobes_xsec(name_or_path: str | Path, flavour: str) -> tuple[np.ndarray, np.ndarray]:
    """Read one flavour column of a SNOwGLoBES cross-section file.

    Returns ``(E_MeV, sigma_cm2)``: ``E = 10**col0 GeV`` converted to MeV and
    ``sigma = col * 1e-38 cm^2/GeV * E[GeV]``. Validation errors name the file and the column.
    """
    if flavour not in SNOWGLOBES_COLUMNS:
        raise ValueError(f"flavour {flavour!r} is not a SNOwGLoBES column ({', '.join(SNOWGLOBES_COLUMNS)})")
    path = snowglobes_path(name_or_path)
    col = 1 + SNOWGLOBES_COLUMNS.index(flavour)
    rows: list[list[float]] = []
    with path.open() as fh:
        for lineno, line in enumerate(fh, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            parts = text.split()
            if len(parts) != 7:
                raise ValueError(f"{path.name}: line {lineno} has {len(parts)} columns, expected 7")
            try:
                rows.append([float(x) for x in parts])
            except ValueError as exc:
                raise ValueError(f"{path.name}: line {lineno} is not numeric: {text[:60]!r}") from exc
    if not rows:
        raise ValueError(f"{path.name}: no data rows")
    data = np.array(rows)
    log10E = data[:, 0]
    if not np.isfinite(log10E).all():
        i = int(np.argmax(~np.isfinite(log10E)))
        raise ValueError(f"{path.name}: field log10(E/GeV) has a non-finite value at row {i + 1}")
    E_GeV = 10.0**log10E
    sigma = data[:, col] * SNOWGLOBES_UNIT_CM2_PER_GEV * E_GeV
    E_MeV, sigma = validate_table(E_GeV * 1e3, sigma, path.name, energy_field="log10(E/GeV)", sigma_field=flavour)
    return E_MeV, sigma


def read_csv_columns(path: str | Path) -> dict[str, np.ndarray]:
    """Read a CSV file with a header row of column names (``#`` lines are comments) into arrays.

    Every value must be numeric; an error names the file, the line and the column.
    """
    path = Path(path)
    with path.open(newline="") as fh:
        lines = [(n, ln) for n, ln in enumerate(fh, start=1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"{path.name}: empty file")
    reader = csv.reader([ln for _, ln in lines])
    header = [h.strip() for h in next(reader)]
    if len(set(header)) != len(header):
        raise ValueError(f"{path.name}: duplicate column names in header {header}")
    cols: dict[str, list[float]] = {h: [] for h in header}
    for (lineno, _), row in zip(lines[1:], reader, strict=True):
        if len(row) != len(header):
            raise ValueError(f"{path.name}: line {lineno} has {len(row)} fields, expected {len(header)}")
        for h, v in zip(header, row, strict=True):
            try:
                cols[h].append(float(v))
            except ValueError as exc:
                raise ValueError(f"{path.name}: line {lineno}, field {h}: {v!r} is not a number") from exc
    return {h: np.asarray(v, dtype=float) for h, v in cols.items()}


def read_csv_xsec(
    path: str | Path, energy_field: str = "E_MeV", sigma_field: str = "sigma_cm2"
) -> tuple[np.ndarray, np.ndarray]:
    """Read a user cross-section CSV (header ``E_MeV,sigma_cm2``); returns validated ``(E_MeV, sigma_cm2)``."""
    path = Path(path)
    cols = read_csv_columns(path)
    for field in (energy_field, sigma_field):
        if field not in cols:
            raise ValueError(f"{path.name}: missing column {field} (header has {', '.join(cols)})")
    return validate_table(cols[energy_field], cols[sigma_field], path.name, energy_field, sigma_field)


def load_snowglobes(
    name_or_path: str | Path, flavour: str, *, column: str | None = None, **kwargs
) -> TabulatedCrossSection:
    """A :class:`TabulatedCrossSection` from a SNOwGLoBES file; ``column`` defaults to ``flavour``."""
    E, s = read_snowglobes_xsec(name_or_path, column or flavour)
    kwargs.setdefault("source", Path(name_or_path).name)
    return TabulatedCrossSection(E, s, flavour=flavour, **kwargs)


def load_csv(path: str | Path, **kwargs) -> TabulatedCrossSection:
    """A :class:`TabulatedCrossSection` from a user CSV file with columns ``E_MeV,sigma_cm2``."""
    E, s = read_csv_xsec(path)
    kwargs.setdefault("source", Path(path).name)
    return TabulatedCrossSection(E, s, **kwargs)


def flavour_list(flavours: str | Sequence[str]) -> list[str]:
    """Normalise a flavour or list of flavours, checking the names."""
    fl = [flavours] if isinstance(flavours, str) else list(flavours)
    for f in fl:
        if f not in FLAVOUR_PDG:
            raise ValueError(f"unknown flavour {f!r} (known: {', '.join(FLAVOUR_PDG)})")
    return fl
