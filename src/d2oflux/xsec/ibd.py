"""Inverse beta decay on free protons, anti-nu_e p -> e+ n (``ibd_h``).

Total cross section: the Strumia & Vissani approximation (A. Strumia, F. Vissani, Phys. Lett. B 564,
42 (2003), astro-ph/0302055, eq. (25)), accurate to a few per mille below ~300 MeV:

    sigma = 1e-43 cm^2 p_e E_e E^(-0.07056 + 0.02018 ln E - 0.001953 ln^3 E),   E_e = E - Delta,

E and E_e, p_e in MeV, ``Delta = m_n - m_p = 1.293 MeV`` (masses from d2oflux.constants, PDG). The
threshold is 1.806 MeV ((m_n + m_e)^2 - m_p^2) / (2 m_p)); below ``E_e = m_e`` the formula gives zero.
Reference: 6.30e-41 cm^2 at 30 MeV (docs/physics.md §3; tested). Relative uncertainty 0.01 (docs/physics.md
§3: "< 1 %"; SV quote 0.4 % for their full result).

Visible energy (approximation): the positron kinetic energy ``T = E - Delta - m_e`` (zeroth order in
1/m_p). Neglected: the neutron recoil, which lowers the positron energy by up to
``~2 E^2 / m_p`` (backward positron; ~1.9 MeV at 30 MeV, ~1 MeV on average), and the spread it
causes; the neutron capture signal is not included either.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from d2oflux.constants import M_E_MEV, M_N_MEV, M_P_MEV
from d2oflux.xsec.base import CrossSection, delta_spectrum
from d2oflux.xsec.channel import Channel, register_channel

#: Neutron-proton mass difference [MeV] (PDG masses).
DELTA_NP_MEV = M_N_MEV - M_P_MEV
#: IBD threshold ((m_n + m_e)^2 - m_p^2) / (2 m_p) = 1.806 MeV.
IBD_THRESHOLD_MEV = ((M_N_MEV + M_E_MEV) ** 2 - M_P_MEV**2) / (2.0 * M_P_MEV)
#: Valid range of the SV eq. (25) approximation (SV 2003: good to few per mille below ~300 MeV).
IBD_E_MAX_MEV = 300.0
REL_UNCERTAINTY_IBD = 0.01


def sigma_sv2003(E_MeV: ArrayLike) -> np.ndarray:
    """Strumia-Vissani eq. (25) [cm^2]; zero below threshold."""
    E = np.asarray(E_MeV, dtype=float)
    Ee = E - DELTA_NP_MEV
    ok = (E > IBD_THRESHOLD_MEV) & (Ee > M_E_MEV)
    Es = np.where(ok, E, 1.0)
    Ees = np.where(ok, Ee, 2.0 * M_E_MEV)
    pe = np.sqrt(Ees * Ees - M_E_MEV**2)
    lnE = np.log(Es)
    val = 1e-43 * pe * Ees * Es ** (-0.07056 + 0.02018 * lnE - 0.001953 * lnE**3)
    return np.where(ok, val, 0.0)


class InverseBetaDecay(CrossSection):
    """anti-nu_e p -> e+ n on free protons (``ibd_h``); see module docstring.

    Parameters: ``rel_uncertainty`` (default 0.01), ``E_max_MeV`` (default 300 MeV).
    """

    name = "ibd_h"
    flavour = "anti_nu_e"
    target = "proton"
    visible_particle = "positron"
    threshold_MeV = IBD_THRESHOLD_MEV
    citation = "A. Strumia, F. Vissani, Phys. Lett. B 564, 42 (2003), astro-ph/0302055, eq. (25)"

    def __init__(self, *, rel_uncertainty: float = REL_UNCERTAINTY_IBD, E_max_MeV: float = IBD_E_MAX_MEV) -> None:
        self.rel_uncertainty = float(rel_uncertainty)
        self.E_max_MeV = float(E_max_MeV)

    def _sigma(self, E: np.ndarray) -> np.ndarray:
        return sigma_sv2003(E)

    def positron_T_MeV(self, E_MeV: ArrayLike) -> np.ndarray:
        """Positron kinetic energy ``E - Delta - m_e`` (recoil neglected), clipped at 0."""
        return np.maximum(np.asarray(E_MeV, dtype=float) - DELTA_NP_MEV - M_E_MEV, 0.0)

    def _visible_spectrum(self, E: np.ndarray, edges: np.ndarray) -> np.ndarray:
        return delta_spectrum(E.size, edges, self.positron_T_MeV(E))


register_channel(
    Channel(
        name="ibd_h",
        target="proton",
        flavours=("anti_nu_e",),
        factory=lambda flavour, o16_model, **options: InverseBetaDecay(**options),
        final_state="anti-nu_e p -> e+ n (inverse beta decay on free protons)",
        process_id=200,
        arxiv=("astro-ph/0302055", "hep-ph/9903554"),
        label=r"IBD on H",
        plot_group="inverse beta decay on hydrogen",
    )
)
