"""Kinematics of neutrino-electron elastic scattering (``es_*``): exact two-body."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from d2oflux import constants as c
from d2oflux.xsec.base import FLAVOUR_PDG, CrossSection
from d2oflux.xsec.electron import ES_NAMES, electron_cos_theta
from d2oflux.xsec.electron import T_max as es_T_max

from ..sampling import ConditionalQuantileTable
from .common import (
    N_U,
    PDG_ELECTRON,
    ChannelModel,
    FinalState,
    _assemble,
    _rows,
    _rows_key,
    _visible_cdf_rows,
    register_kinematics,
)
from .relativistic import (
    lab_direction,
    orthonormal_basis,
)


@lru_cache(maxsize=64)
def _es_table(xs: CrossSection, rows: tuple) -> ConditionalQuantileTable:
    return ConditionalQuantileTable(_rows(rows), _visible_cdf_rows(xs, lambda E: float(es_T_max(E))), N_U)


class ElectronScatteringKinematics(ChannelModel):
    """nu e- -> nu e- (``es_nue``, ``es_nuebar``, ``es_numu``, ``es_anumu``): exact two-body kinematics.

    ``T`` from the model's d sigma/dT (with radiative corrections; its ``visible_spectrum`` tabulated
    in ``T / T_max(E)``), the electron angle from ``cos(theta) = (1 + m_e/E) sqrt(T/(T + 2 m_e))``
    (:func:`~d2oflux.xsec.electron.electron_cos_theta`), the neutrino takes the rest. **Approximation**:
    the bremsstrahlung photon of the QED correction is not generated (the electron carries its
    energy): the spectrum is the radiatively corrected one, the kinematics tree level.
    """

    K = 2

    def final_state(self, E, flavour, d, rng):
        n = E.shape[0]
        xs = self.xs[flavour]
        me = c.M_E_MEV
        T = _es_table(xs, _rows_key(0.1, self.spectra[flavour]))(E, rng.random(n)) * es_T_max(E)
        cos = np.minimum(electron_cos_theta(E, T), 1.0)
        pe = np.sqrt(T * (T + 2.0 * me))
        e1, e2 = orthonormal_basis(d)
        p_e = lab_direction(cos, rng.uniform(0.0, 2.0 * np.pi, n), d, e1, e2) * pe[:, None]
        p_nu = E[:, None] * d - p_e
        pdg, Ea, pa, ma = _assemble(
            [(PDG_ELECTRON, T + me, p_e, me), (FLAVOUR_PDG[flavour], E - T, p_nu, 0.0)], n, self.K
        )
        tp, tm = self._target_arrays(flavour, n)
        return FinalState(pdg, pa, Ea, ma, np.full(n, 2), T, cos, tp, tm)


for _name in ES_NAMES.values():
    register_kinematics(_name, ElectronScatteringKinematics)
