"""Kinematics of inverse beta decay on free protons (``ibd_h``): exact two-body."""

from __future__ import annotations

import numpy as np

from d2oflux import constants as c

from .common import (
    G_A,
    PDG_NEUTRON,
    PDG_POSITRON,
    ChannelModel,
    FinalState,
    _assemble,
    register_kinematics,
)
from .relativistic import (
    lab_direction,
    orthonormal_basis,
    sample_linear_cos,
)


class IBDKinematics(ChannelModel):
    """anti-nu_e p -> e+ n on free protons (``ibd_h``): exact two-body kinematics.

    Angle: ``d sigma/d cos(theta) ∝ 1 + a v_e cos(theta)`` with ``a = (1 - g_A^2)/(1 + 3 g_A^2) = -0.10``,
    the O(1/M^0) result of P. Vogel and J. F. Beacom, PRD 60, 053003 (1999), hep-ph/9903554, eq. (14)
    (``v_e`` at zeroth order, ``E_e = E - Delta``). The positron energy then follows exactly from
    ``(cos(theta), E)`` (the neutron takes the rest, on its mass shell). **Difference to the rate
    engine**: :mod:`d2oflux.xsec.ibd` counts ``T = E - Delta - m_e`` (recoil neglected); here the positron
    is lower by the neutron recoil (up to ~2 E^2/m_p, ~1.9 MeV at 30 MeV). The O(E/M) weak-magnetism and
    recoil terms of the angular distribution are neglected.
    """

    K = 2

    def final_state(self, E, flavour, d, rng):
        n = E.shape[0]
        me, mp, mn = c.M_E_MEV, c.M_P_MEV, c.M_N_MEV
        Ee0 = np.maximum(E - (mn - mp), me)
        v0 = np.sqrt(np.maximum(1.0 - (me / Ee0) ** 2, 0.0))
        a = (1.0 - G_A**2) / (1.0 + 3.0 * G_A**2) * v0
        cos = sample_linear_cos(a, rng.random(n))
        K = 0.5 * (mp * mp - mn * mn + me * me + 2.0 * E * mp)
        A = (E + mp) ** 2 - (E * cos) ** 2
        Ee = (K * (E + mp) + E * cos * np.sqrt(np.maximum(K * K - me * me * A, 0.0))) / A
        Ee = np.maximum(Ee, me)
        pe = np.sqrt(Ee * Ee - me * me)
        e1, e2 = orthonormal_basis(d)
        p_e = lab_direction(cos, rng.uniform(0.0, 2.0 * np.pi, n), d, e1, e2) * pe[:, None]
        p_n = E[:, None] * d - p_e
        pdg, Ea, pa, ma = _assemble([(PDG_POSITRON, Ee, p_e, me), (PDG_NEUTRON, E + mp - Ee, p_n, mn)], n, self.K)
        tp, tm = self._target_arrays(flavour, n)
        return FinalState(pdg, pa, Ea, ma, np.full(n, 2), Ee - me, cos, tp, tm)


register_kinematics("ibd_h", IBDKinematics)
