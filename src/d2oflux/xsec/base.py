"""The interface every cross-section model implements.

A :class:`CrossSection` describes one reaction for one neutrino flavour on one kind of target:
its total cross section per target, its threshold, the relative theory uncertainty to carry, its
citation, and the distribution of the *visible* kinetic energy of the detectable particle (electron,
positron, gamma, nuclear recoil) for a given neutrino energy. The rate engine folds the last one with
the detector response.

Units: neutrino and kinetic energies in MeV, cross sections in cm^2 per target.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import ArrayLike

#: Flavour names used everywhere in d2oflux, with their PDG codes.
FLAVOUR_PDG: dict[str, int] = {
    "nu_e": 12,
    "anti_nu_e": -12,
    "nu_mu": 14,
    "anti_nu_mu": -14,
    "nu_tau": 16,
    "anti_nu_tau": -16,
}


class CrossSection(ABC):
    """One reaction of one flavour on one target species.

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
        Neutrino energy below which ``sigma`` is zero [MeV].
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
    rel_uncertainty: float
    citation: str
    visible_particle: str

    @abstractmethod
    def sigma(self, E_MeV: ArrayLike) -> np.ndarray:
        """Total cross section per target [cm^2] at neutrino energies ``E_MeV`` [MeV].

        Zero below threshold. Raises ``ValueError`` (naming the energy) above the model's range.
        """

    @abstractmethod
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
            model has a detection probability below 1, e.g. neutron capture), and to 0 below threshold.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, flavour={self.flavour!r}, target={self.target!r})"


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
