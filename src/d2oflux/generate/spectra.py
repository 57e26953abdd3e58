"""The source's neutrino-energy spectrum of one flavour, as the generator samples it.

A thin layer over :class:`d2oflux.spectra.Spectrum`, the one spectrum type the rate engine uses too
(:meth:`d2oflux.source.Source.spectrum_nodes`), adding the energy grid on which the generator tabulates
flux x sigma. The spectra are the analytic piDAR shapes (Michel spectra up to m_mu/2, the prompt nu_mu line
at 29.79 MeV), or, when the source carries a :class:`~d2oflux.spectra.FluxTable`, the tabulated dN/dE
interpolated linearly between the table's points (the nu_mu spectrum is then the table's, not a line).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from ..spectra import Spectrum

#: Points of the flux x sigma grid of the analytic spectra; a flux table's intervals are split in
#: :data:`TABLE_REFINE` (at least) so that the product is resolved as finely.
N_E_GRID = 8193
TABLE_REFINE = 16


class FlavourSpectrum:
    """Energy spectrum of one flavour of a source (module docstring), built from the source's
    :meth:`~d2oflux.source.Source.spectrum` (so a flux table without ``anti_nu_e`` leaves the mu- DAR
    contamination its Michel shape, as in the rate engine).

    Attributes
    ----------
    flavour : str
    line : float or None
        Energy of a monoenergetic spectrum (analytic nu_mu), else None.
    E_lo, E_hi : float
        Support [MeV] (``E_lo`` = 0 for the analytic spectra).
    """

    def __init__(self, spectrum: Spectrum) -> None:
        self.spectrum = spectrum
        self.flavour = spectrum.flavour
        self.line = spectrum.line_MeV
        self.E_lo, self.E_hi = spectrum.support_MeV
        if not self.tabulated:
            self.E_lo = 0.0

    @property
    def tabulated(self) -> bool:
        return self.spectrum.table is not None

    def pdf(self, E: np.ndarray) -> np.ndarray:
        """dN/dE (normalised over the support) [1/MeV]."""
        return self.spectrum.pdf(E)

    def grid(self, lo: float) -> np.ndarray:
        """Energies from ``max(lo, E_lo)`` to ``E_hi`` on which ``pdf x sigma`` is tabulated."""
        lo = max(lo, self.E_lo)
        if not self.tabulated:
            return np.linspace(lo, self.E_hi, N_E_GRID)
        x = self.spectrum.table.energies_MeV
        refine = max(TABLE_REFINE, int(np.ceil(N_E_GRID / max(x.size - 1, 1))))
        fine = np.concatenate([np.linspace(a, b, refine, endpoint=False) for a, b in pairwise(x)])
        fine = np.append(fine, x[-1])
        return np.concatenate([[lo], fine[fine > lo]])

    def bin_fractions(self, edges: np.ndarray) -> np.ndarray:
        """Fraction of the neutrinos in each bin of ``edges`` (for the NuHepMC beam description)."""
        return np.diff(self.spectrum.cdf(np.asarray(edges, dtype=float)))
