"""Neutrino energy spectra of the pion-decay-at-rest source: the analytic piDAR shapes and tabulated ones.

Physics (docs/physics.md §2; Michel, Proc. Phys. Soc. A 63 (1950) 514, without radiative corrections):

* ``nu_mu`` from pi+ -> mu+ nu_mu at rest: a line at (m_pi^2 - m_mu^2)/(2 m_pi) = 29.79 MeV, prompt.
* ``nu_e`` and ``anti_nu_mu`` from mu+ -> e+ nu_e anti-nu_mu at rest: Michel spectra up to m_mu/2,
  ``f(E) = (192/m)(E/m)^2(1/2 - E/m)`` and ``f(E) = (64/m)(E/m)^2(3/4 - E/m)``
  (:func:`michel_pdf`, the one place the formula is written).
* ``anti_nu_e`` from mu- decay at rest has the ``nu_e`` shape.
* A :class:`FluxTable` (``--flux-file``) replaces the shapes by tabulated dN/dE, linear between its points.

:class:`Spectrum` is one flavour's spectrum, analytic or tabulated, with its pdf, cdf, mean, sampling and
quadrature nodes. Units: MeV.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from . import constants as c
from .errors import ConfigError, as_energy_array

_MICHEL_SHAPES = {"nu_e": "nu_e", "anti_nu_mu": "anti_nu_mu", "anti_nu_e": "nu_e"}


def michel_pdf(shape: str, E_MeV: ArrayLike) -> np.ndarray:
    """Michel spectrum dN/dE [1/MeV] of a neutrino from mu+ decay at rest, zero outside [0, m_mu/2].

    Raises ``ValueError`` for a NaN energy.

    Parameters
    ----------
    shape : {"nu_e", "anti_nu_mu"}
        ``nu_e``: ``(192/m)(E/m)^2(1/2 - E/m)``; ``anti_nu_mu``: ``(64/m)(E/m)^2(3/4 - E/m)``.
    E_MeV : array_like
        Neutrino energies [MeV].
    """
    m = c.M_MU_MEV
    x = as_energy_array(E_MeV) / m
    inside = (x >= 0) & (x <= 0.5)
    if shape == "nu_e":
        f = (192.0 / m) * x**2 * (0.5 - x)
    elif shape == "anti_nu_mu":
        f = (64.0 / m) * x**2 * (0.75 - x)
    else:
        raise ConfigError(f"Michel shape '{shape}': expected 'nu_e' or 'anti_nu_mu'")
    return np.where(inside, f, 0.0)


def spectrum_pdf(flavour: str, E_MeV: ArrayLike) -> np.ndarray:
    """Normalised energy spectrum dN/dE [1/MeV] of a Michel flavour (``nu_e``, ``anti_nu_mu``).

    ``anti_nu_e`` (from mu- decay at rest) has the ``nu_e`` shape. ``nu_mu`` is a line: use
    :func:`spectrum_nodes` or :data:`d2oflux.constants.E_NUMU_PROMPT_MEV`.
    """
    return michel_pdf(_michel_shape(flavour), E_MeV)


def spectrum_cdf(flavour: str, E_MeV: ArrayLike) -> np.ndarray:
    """Cumulative distribution of :func:`spectrum_pdf` (closed form); a step for ``nu_mu``."""
    E = as_energy_array(E_MeV)
    if flavour == "nu_mu":
        return np.where(E >= c.E_NUMU_PROMPT_MEV, 1.0, 0.0)
    x = np.clip(E / c.M_MU_MEV, 0.0, 0.5)
    if _michel_shape(flavour) == "nu_e":
        return 32.0 * x**3 - 48.0 * x**4
    return 16.0 * x**3 - 16.0 * x**4


def spectrum_mean(flavour: str) -> float:
    """Mean energy [MeV]: 0.3 m_mu (nu_e), 0.35 m_mu (anti-nu_mu), the line for nu_mu (closed form)."""
    if flavour == "nu_mu":
        return c.E_NUMU_PROMPT_MEV
    return (0.3 if _michel_shape(flavour) == "nu_e" else 0.35) * c.M_MU_MEV


@lru_cache(maxsize=32)
def spectrum_nodes(
    flavour: str, breakpoints: tuple[float, ...] | None = None, n_intervals: int = 240, order: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes and weights that integrate a smooth function against the spectrum.

    ``sum(w * g(E))`` approximates ``int f(E) g(E) dE``; the weights sum to 1. Michel spectra use
    Gauss-Legendre of ``order`` on ``n_intervals`` equal pieces of [0, m_mu/2], or, if ``breakpoints`` (e.g.
    histogram bin edges [MeV]) are given, on the pieces between them, so that every node's weight belongs to
    exactly one bin and histograms of the nodes are exact bin integrals. The nu_mu line is one node.

    Returns
    -------
    E_MeV, weights : arrays of the same shape
    """
    if flavour == "nu_mu":
        line, one = np.array([c.E_NUMU_PROMPT_MEV]), np.array([1.0])
        line.flags.writeable = False
        one.flags.writeable = False
        return line, one
    x, w = np.polynomial.legendre.leggauss(order)
    if breakpoints is None:
        edges = np.linspace(0.0, c.E_MICHEL_MAX_MEV, n_intervals + 1)
    else:
        inner = [b for b in breakpoints if 0.0 < b < c.E_MICHEL_MAX_MEV]
        edges = np.unique(np.array([0.0, *inner, c.E_MICHEL_MAX_MEV]))
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    E = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    weights = (half[:, None] * w[None, :]).ravel() * spectrum_pdf(flavour, E)
    E.flags.writeable = False  # cached: shared between callers
    weights.flags.writeable = False
    return E, weights


def _michel_shape(flavour: str) -> str:
    try:
        return _MICHEL_SHAPES[flavour]
    except KeyError:
        raise ConfigError(
            f"flavour '{flavour}': no Michel spectrum; expected one of {', '.join(_MICHEL_SHAPES)}"
        ) from None


#: Highest energy a flux table may reach [MeV]: the upper end of the 16O CC table (SNOwGLoBES, 100 MeV), the
#: lowest among the cross-section tables.
MAX_FLUX_TABLE_ENERGY_MEV = 100.0


@dataclass(frozen=True)
class FluxTable:
    """Energy spectra per flavour read from a file, replacing the analytic piDAR shapes.

    The CSV has a header ``E_MeV,nu_mu,nu_e,anti_nu_mu[,anti_nu_e]`` (:data:`d2oflux.formats.FLUX_FILE`;
    without ``anti_nu_e`` the mu- DAR contamination keeps its analytic Michel shape) and one row per energy,
    up to 100 MeV; values are dN/dE in any unit (each flavour is normalised to 1 over the table, the
    normalisation still comes from the neutrinos per proton). ``#`` lines are comments. Use it for, e.g.,
    a simulated spectrum with decay-in-flight tails.
    """

    path: str
    energies_MeV: np.ndarray
    spectra: dict[str, np.ndarray]

    @classmethod
    def read(cls, path: str | Path) -> FluxTable:
        """Read and validate a flux table (columns: :data:`d2oflux.formats.FLUX_FILE`)."""
        import csv

        from .errors import read_text_file
        from .formats import FLUX_FILE

        text = read_text_file(path, "flux file", FLUX_FILE.header())
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        try:
            rows = list(csv.reader(lines))
        except csv.Error as exc:
            raise ConfigError(f"flux file '{path}': malformed CSV ({exc})") from None
        if len(rows) < 3:
            raise ConfigError(f"flux file '{path}': expected a header and at least two rows")
        header = [h.strip() for h in rows[0]]
        if header[0] != "E_MeV":
            raise ConfigError(f"flux file '{path}': the first column must be 'E_MeV', got '{header[0]}'")
        known = FLUX_FILE.names[1:]
        if len(set(header)) != len(header):
            twice = sorted({h for h in header if header.count(h) > 1})
            raise ConfigError(f"flux file '{path}': column {', '.join(twice)} appears more than once")
        for h in header[1:]:
            if h not in known:
                raise ConfigError(f"flux file '{path}': unknown column '{h}'; expected some of {', '.join(known)}")
        for k, r in enumerate(rows[1:], start=2):
            if len(r) != len(header):
                raise ConfigError(f"flux file '{path}' row {k}: {len(r)} values, the header has {len(header)}")
        try:
            data = np.array([[float(v) for v in r] for r in rows[1:]], dtype=float)
        except ValueError:
            raise ConfigError(f"flux file '{path}': non-numeric value") from None
        if not np.all(np.isfinite(data)):
            raise ConfigError(f"flux file '{path}': NaN or infinite values")
        if np.any(data < 0):
            raise ConfigError(f"flux file '{path}': negative values")
        E = data[:, 0]
        if not np.all(np.diff(E) > 0):
            raise ConfigError(f"flux file '{path}': E_MeV is not strictly increasing")
        if E[-1] > MAX_FLUX_TABLE_ENERGY_MEV:
            raise ConfigError(
                f"flux file '{path}': E_MeV reaches {E[-1]:g} MeV; the cross sections are tabulated up to "
                f"{MAX_FLUX_TABLE_ENERGY_MEV:g} MeV (16O CC), so the table must stop there"
            )
        spectra = {}
        for j, name in enumerate(header[1:], start=1):
            norm = np.trapezoid(data[:, j], E)
            if not norm > 0 or not np.isfinite(norm):
                raise ConfigError(f"flux file '{path}': column '{name}' is zero everywhere or not integrable")
            spectra[name] = data[:, j] / norm
        return cls(str(path), E, spectra)

    def nodes(self, flavour: str, refine: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Quadrature nodes and weights (summing to 1) of the linearly interpolated spectrum."""
        if flavour not in self.spectra:
            raise ConfigError(f"flux file '{self.path}': no column for flavour '{flavour}'")
        E = self.energies_MeV
        fine = np.linspace(E[0], E[-1], refine * (E.size - 1) + 1)
        mid = 0.5 * (fine[1:] + fine[:-1])
        w = np.interp(mid, E, self.spectra[flavour]) * np.diff(fine)
        return mid, w / w.sum()


#: Points of the grid on which the CDF is inverted for sampling (a sampled energy lies within one grid step,
#: 2.6 keV for the Michel spectra, of the exact inverse).
N_SAMPLING_GRID = 20001


@dataclass(frozen=True)
class Spectrum:
    """The energy spectrum of one flavour: analytic (piDAR) or, with ``table``, tabulated.

    Parameters
    ----------
    flavour : str
        ``nu_mu``, ``nu_e``, ``anti_nu_mu`` or ``anti_nu_e``.
    table : FluxTable or None
        A flux table holding ``flavour``; None for the analytic shape.
    """

    flavour: str
    table: FluxTable | None = None

    def __post_init__(self) -> None:
        if self.table is None:
            if self.flavour != "nu_mu":
                _michel_shape(self.flavour)
        elif self.flavour not in self.table.spectra:
            raise ConfigError(f"flux file '{self.table.path}': no column for flavour '{self.flavour}'")

    @property
    def line_MeV(self) -> float | None:
        """Energy of a monoenergetic spectrum (the analytic nu_mu line) [MeV], else None."""
        return float(c.E_NUMU_PROMPT_MEV) if self.table is None and self.flavour == "nu_mu" else None

    @property
    def support_MeV(self) -> tuple[float, float]:
        """Lowest and highest energy [MeV]."""
        if self.table is not None:
            return float(self.table.energies_MeV[0]), float(self.table.energies_MeV[-1])
        line = self.line_MeV
        return (0.0, float(c.E_MICHEL_MAX_MEV)) if line is None else (line, line)

    def pdf(self, E_MeV: ArrayLike) -> np.ndarray:
        """dN/dE [1/MeV], normalised to 1; not defined for a line (use :attr:`line_MeV`)."""
        if self.table is None:
            return spectrum_pdf(self.flavour, E_MeV)
        return np.interp(
            as_energy_array(E_MeV), self.table.energies_MeV, self.table.spectra[self.flavour], left=0, right=0
        )

    def cdf(self, E_MeV: ArrayLike) -> np.ndarray:
        """Fraction of the neutrinos below ``E_MeV`` (exact for both kinds); ``ValueError`` for a NaN energy."""
        if self.table is None:
            return spectrum_cdf(self.flavour, E_MeV)
        E = self.table.energies_MeV
        f = self.table.spectra[self.flavour]
        pieces = 0.5 * (f[1:] + f[:-1]) * np.diff(E)  # exact integrals of the linear interpolation
        norm = pieces.sum()
        cum = np.concatenate([[0.0], np.cumsum(pieces)]) / norm
        x = np.clip(as_energy_array(E_MeV), E[0], E[-1])
        k = np.clip(np.searchsorted(E, x, side="right") - 1, 0, E.size - 2)
        dx = x - E[k]
        slope = (f[k + 1] - f[k]) / (E[k + 1] - E[k])
        return cum[k] + (f[k] * dx + 0.5 * slope * dx**2) / norm

    def mean(self) -> float:
        """Mean energy [MeV]."""
        if self.table is None:
            return spectrum_mean(self.flavour)
        E, w = self.nodes()
        return float(np.sum(E * w))

    def nodes(self, breakpoints: tuple[float, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Quadrature nodes [MeV] and weights (summing to 1): :func:`spectrum_nodes` or :meth:`FluxTable.nodes`."""
        if self.table is None:
            return spectrum_nodes(self.flavour, breakpoints)
        return self.table.nodes(self.flavour)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` energies [MeV] drawn from the spectrum (inverse CDF, linear on a fine grid)."""
        from .errors import is_whole_number

        if not is_whole_number(n, at_least=0):
            raise ConfigError(f"n: expected a whole number >= 0 of energies to draw, got {n!r}")
        n = int(n)
        line = self.line_MeV
        if line is not None:
            return np.full(n, line)
        lo, hi = self.support_MeV
        if self.table is None:
            grid = np.linspace(lo, hi, N_SAMPLING_GRID)
        else:
            E = self.table.energies_MeV
            grid = np.union1d(E, np.linspace(lo, hi, N_SAMPLING_GRID))
        cdf = self.cdf(grid)
        keep = np.concatenate([[True], np.diff(cdf) > 0])  # strictly increasing for the inversion
        return np.interp(rng.random(n), cdf[keep], grid[keep])
