"""The interface every cross-section model implements.

A :class:`CrossSection` describes one reaction for one neutrino flavour on one kind of target:
its total cross section per target, its threshold, the relative theory uncertainty to carry, its
citation, and the distribution of the *visible* kinetic energy of the detectable particle (electron,
positron, gamma, nuclear recoil) for a given neutrino energy. The rate engine folds the last one with
the detector response.

Units: neutrino and kinetic energies in MeV, cross sections in cm^2 per target.
"""

from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import ArrayLike

from d2oflux.errors import as_energy_array

#: Flavour names used everywhere in d2oflux, with their PDG codes.
FLAVOUR_PDG: dict[str, int] = {
    "nu_e": 12,
    "anti_nu_e": -12,
    "nu_mu": 14,
    "anti_nu_mu": -14,
    "nu_tau": 16,
    "anti_nu_tau": -16,
}
#: The flavours d2oflux's cross sections and sources handle (piDAR: nu_mu, nu_e, anti-nu_mu; plus the
#: anti-nu_e of mu- decay at rest): the one list of source flavours used across the package.
SUPPORTED_FLAVOURS: tuple[str, ...] = ("nu_e", "anti_nu_e", "nu_mu", "anti_nu_mu")


class CrossSection(ABC):
    """One reaction of one flavour on one target species (template: subclasses implement ``_sigma`` and
    ``_visible_spectrum``; the public methods check the arguments and apply the threshold once).

    Objects are immutable once constructed (setting or deleting an attribute raises ``AttributeError``), so
    the registry and the rate engine can cache and share them. ``functools.cached_property`` values, computed
    on first use, are allowed.

    Attributes
    ----------
    name : str
        Channel identifier, e.g. ``"nue_d_cc"``, ``"nc_d"``, ``"es_nue"``, ``"cevns_Ar"``.
    flavour : str
        Incoming neutrino flavour, a key of :data:`FLAVOUR_PDG`.
    target : str
        Target species counted by :mod:`d2oflux.materials`: ``"deuteron"``, ``"o16"``, ``"electron"``,
        ``"proton"`` (free hydrogen nuclei) or ``"nucleus:<Symbol>"`` for CEvNS.
    threshold_MeV : float
        Neutrino energy at and below which ``sigma`` and ``visible_spectrum`` are zero [MeV].
    E_max_MeV : float
        Upper end of the model's valid range [MeV] (default: unbounded).
    rel_uncertainty : float
        Relative (1 sigma) theory uncertainty of the total cross section, as a fraction.
    citation : str
        Where the model and its numbers come from.
    visible_particle : str
        What the detector sees: ``"electron"``, ``"positron"``, ``"gamma"`` or ``"nuclear_recoil"``.
    """

    name: str
    flavour: str
    target: str
    threshold_MeV: float
    E_max_MeV: float = math.inf
    rel_uncertainty: float
    citation: str
    visible_particle: str

    def __init_subclass__(cls, **kwargs) -> None:
        """Freeze instances when the outermost ``__init__`` of their class returns."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def init_then_freeze(self, *args, **kw) -> None:
            init(self, *args, **kw)
            if type(self).__init__ is init_then_freeze:
                object.__setattr__(self, "_frozen", True)

        cls.__init__ = init_then_freeze

    def __setattr__(self, name: str, value) -> None:
        if self.__dict__.get("_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self.__dict__.get("_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable: cannot delete {name!r}")
        object.__delattr__(self, name)

    @property
    def range_label(self) -> str:
        """What errors about the energy range name (default: the channel name)."""
        return self.name

    def sigma(self, E_MeV: ArrayLike) -> np.ndarray:
        """Total cross section per target [cm^2] at neutrino energies ``E_MeV`` [MeV] (any shape).

        Zero at and below threshold. Raises ``ValueError`` for a NaN energy and (naming the energy) above
        the model's range.
        """
        E = as_energy_array(E_MeV)
        check_below(E, self.E_max_MeV, self.range_label)
        flat = np.atleast_1d(E).ravel()
        out = np.zeros(flat.shape)
        above = flat > self.threshold_MeV
        if above.any():
            out[above] = self._sigma(flat[above])
        return out.reshape(E.shape) if E.ndim else out[0]

    def visible_spectrum(self, E_MeV: ArrayLike, T_edges_MeV: ArrayLike) -> np.ndarray:
        """Distribution of the visible kinetic energy T for interactions at each neutrino energy.

        Parameters
        ----------
        E_MeV : array, shape (n,)
            Neutrino energies [MeV].
        T_edges_MeV : array, shape (m + 1,)
            Increasing bin edges of the visible kinetic energy [MeV].

        Returns
        -------
        array, shape (n, m)
            ``P[i, j]``: fraction of the interactions at ``E_MeV[i]`` whose visible energy falls in bin
            ``j``, integrated over the bin (not a density at its centre). Rows sum to 1 where the whole
            kinematic range lies inside the edges, to less where part of it falls outside (or where the
            model has a detection probability below 1, e.g. neutron capture), and to 0 at and below threshold.
        """
        E = np.atleast_1d(as_energy_array(E_MeV)).astype(float).ravel()
        edges = check_edges(T_edges_MeV)
        check_below(E, self.E_max_MeV, self.range_label)
        out = self._visible_spectrum(E, edges)
        out[E <= self.threshold_MeV] = 0.0
        return out

    @abstractmethod
    def _sigma(self, E: np.ndarray) -> np.ndarray:
        """Total cross section [cm^2] at 1-D energies ``E`` [MeV], all above threshold and inside the range."""

    @abstractmethod
    def _visible_spectrum(self, E: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """Visible spectrum, shape (n, m), for checked 1-D energies ``E`` [MeV] and checked edges [MeV] (rows at
        and below threshold are zeroed by :meth:`visible_spectrum`)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, flavour={self.flavour!r}, target={self.target!r})"


# ------------------------------------------------------------------------------------------------
# argument checks and grid helpers shared by the models
# ------------------------------------------------------------------------------------------------
def check_below(E: np.ndarray, E_max: float, source: str) -> None:
    """Raise ``ValueError`` naming the energy if any of ``E`` exceeds the valid range ``E_max``."""
    if E.size and np.nanmax(E) > E_max * (1 + 1e-12):
        raise ValueError(
            f"{source}: neutrino energy {float(np.nanmax(E)):g} MeV is above the valid range (maximum {E_max:g} MeV)"
        )


def check_edges(T_edges_MeV: ArrayLike) -> np.ndarray:
    """Validate visible-energy bin edges: 1-D, at least two, finite, strictly increasing."""
    edges = np.asarray(T_edges_MeV, dtype=float)
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError("T_edges_MeV: need a one-dimensional array of at least two bin edges")
    if not np.isfinite(edges).all():
        raise ValueError("T_edges_MeV: bin edges must be finite")
    if (np.diff(edges) <= 0).any():
        raise ValueError("T_edges_MeV: bin edges must be strictly increasing")
    return edges


def log_grid_weights(x: np.ndarray, log_grid: np.ndarray, x_min: float) -> tuple[np.ndarray, np.ndarray]:
    """Where values fall on a grid uniform in log: the lower row and the weight of the next one.

    Parameters
    ----------
    x : array, shape (n,)
        Values in the unit of the grid (an energy [MeV]); raised to ``x_min`` first.
    log_grid : array, shape (k,)
        Equally spaced natural logarithms of the grid values, k >= 2.
    x_min : float
        Smallest value looked up (values below it are looked up at it).

    Returns
    -------
    i : array of int, shape (n,)
        Lower row, in [0, k - 2].
    w : array, shape (n,)
        Weight of row ``i + 1`` for linear interpolation in log(x), clipped to [0, 1] (beyond the grid: the
        last row's value). The pair as :func:`grid_cdf_lookup` takes it.
    """
    pos = (np.log(np.maximum(x, x_min)) - log_grid[0]) / (log_grid[1] - log_grid[0])
    i = np.clip(np.floor(pos).astype(int), 0, log_grid.size - 2)
    w = np.clip(pos - i, 0.0, 1.0)
    return i, w


def grid_cdf_lookup(table: np.ndarray, i: np.ndarray, w: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Bilinear lookup in a 2-D table of CDFs (rows: a neutrino-energy grid; columns: a uniform grid).

    ``i`` (n,) lower row index and ``w`` (n,) weight of row ``i + 1``; ``pos`` (n, m) fractional
    column index. Returns (n, m). Indexes the flattened table (no row copies), for speed.
    """
    nc = table.shape[1]
    pos = np.clip(pos, 0.0, nc - 1.0)
    j = np.minimum(pos.astype(np.intp), nc - 2)
    f = pos - j
    flat = table.ravel()
    b0 = (i.astype(np.intp) * nc)[:, None] + j
    c0 = flat[b0]
    c0 += f * (flat[b0 + 1] - c0)
    b0 += nc
    c1 = flat[b0]
    c1 += f * (flat[b0 + 1] - c1)
    c1 -= c0
    c1 *= w[:, None]
    c0 += c1
    return c0


def bin_fractions_from_cdf(cdf_at_edges: np.ndarray) -> np.ndarray:
    """Turn a CDF evaluated at bin edges (shape (n, m + 1)) into per-bin fractions (shape (n, m))."""
    return np.clip(np.diff(cdf_at_edges, axis=1), 0.0, None)


def delta_spectrum(n_energies: int, T_edges_MeV: ArrayLike, T_MeV: ArrayLike) -> np.ndarray:
    """Visible spectrum for a single visible energy per row (a delta function).

    ``T_MeV`` is either a scalar or one value per row; rows whose value lies outside the edges are zero.
    """
    edges = np.asarray(T_edges_MeV, dtype=float)
    T = np.broadcast_to(np.asarray(T_MeV, dtype=float), (n_energies,))
    out = np.zeros((n_energies, edges.size - 1))
    idx = np.searchsorted(edges, T, side="right") - 1
    ok = (idx >= 0) & (idx < edges.size - 1)
    out[np.nonzero(ok)[0], idx[ok]] = 1.0
    return out
