"""The source's neutrino-energy spectrum of one flavour, as the generator samples it.

The same spectra as the rate engine (:meth:`d2oflux.source.Source.spectrum_nodes`): the analytic piDAR
shapes (Michel spectra up to m_mu/2, the prompt nu_mu line at 29.79 MeV), or, when the source carries a
:class:`~d2oflux.source.FluxTable`, the tabulated dN/dE interpolated linearly between the table's points
(the nu_mu spectrum is then the table's, not a line).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from .. import constants as c
from ..errors import ConfigError
from ..source import Source, spectrum_pdf

#: Points of the flux x sigma grid of the analytic spectra; a flux table's intervals are split in
#: :data:`TABLE_REFINE` (at least) so that the product is resolved as finely.
N_E_GRID = 8193
TABLE_REFINE = 16


class FlavourSpectrum:
    """Energy spectrum of one flavour of a source (module docstring).

    Attributes
    ----------
    flavour : str
    line : float or None
        Energy of a monoenergetic spectrum (analytic nu_mu), else None.
    E_lo, E_hi : float
        Support [MeV].
    key : tuple
        Identifies the spectrum for caches (analytic spectra are shared by every source).
    """

    def __init__(self, source: Source, flavour: str) -> None:
        self.flavour = flavour
        table = source.flux_table
        self._table = None
        if table is None:
            self.line = float(c.E_NUMU_PROMPT_MEV) if flavour == "nu_mu" else None
            self.E_lo = 0.0
            self.E_hi = self.line if self.line is not None else float(c.E_MICHEL_MAX_MEV)
            self.key: tuple = ("analytic", flavour)
        else:
            if flavour not in table.spectra:
                raise ConfigError(f"flux file '{table.path}': no column for flavour '{flavour}'")
            self._table = (np.asarray(table.energies_MeV, float), np.asarray(table.spectra[flavour], float))
            self.line = None
            self.E_lo, self.E_hi = float(table.energies_MeV[0]), float(table.energies_MeV[-1])
            self.key = ("table", table.path, flavour, self._table[0].tobytes(), self._table[1].tobytes())

    @property
    def tabulated(self) -> bool:
        return self._table is not None

    def pdf(self, E: np.ndarray) -> np.ndarray:
        """dN/dE (normalised over the support) [1/MeV]."""
        if self._table is None:
            return spectrum_pdf(self.flavour, E)
        x, f = self._table
        return np.interp(E, x, f, left=0.0, right=0.0)

    def grid(self, lo: float) -> np.ndarray:
        """Energies from ``max(lo, E_lo)`` to ``E_hi`` on which ``pdf x sigma`` is tabulated."""
        lo = max(lo, self.E_lo)
        if self._table is None:
            return np.linspace(lo, self.E_hi, N_E_GRID)
        x = self._table[0]
        refine = max(TABLE_REFINE, int(np.ceil(N_E_GRID / max(x.size - 1, 1))))
        fine = np.concatenate([np.linspace(a, b, refine, endpoint=False) for a, b in pairwise(x)])
        fine = np.append(fine, x[-1])
        return np.concatenate([[lo], fine[fine > lo]])

    def bin_fractions(self, edges: np.ndarray) -> np.ndarray:
        """Fraction of the neutrinos in each bin of ``edges`` (for the NuHepMC beam description)."""
        from ..source import spectrum_cdf

        if self._table is None:
            return np.diff(spectrum_cdf(self.flavour, edges))
        x, f = self._table
        fine = np.union1d(x, np.clip(edges, x[0], x[-1]))
        y = np.interp(fine, x, f)
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(fine))])
        return np.diff(np.interp(edges, fine, cum / cum[-1]))
