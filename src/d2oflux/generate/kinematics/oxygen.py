"""Kinematics of the reactions on 16O (``nue_o16_cc``, ``nuebar_o16_cc``, ``nc_o16``)."""

from __future__ import annotations

import numpy as np

from d2oflux import constants as c
from d2oflux.xsec.base import FLAVOUR_PDG
from d2oflux.xsec.oxygen import E_TH_NUEBAR_O16_MEV, o16_cc_cos_theta_pdf

from .common import (
    M_O16_MEV,
    NC_O16_EXCITATION_MAX_MEV,
    PDG_ELECTRON,
    PDG_F16,
    PDG_GAMMA,
    PDG_N16,
    PDG_O16,
    PDG_POSITRON,
    S_P_O16_MEV,
    ChannelModel,
    FinalState,
    _assemble,
    _linear_coefficient,
    register_kinematics,
)
from .relativistic import (
    invariant_mass,
    isotropic_directions,
    lab_direction,
    orthonormal_basis,
    sample_linear_cos,
    two_body_decay,
)


class OxygenCCKinematics(ChannelModel):
    """nu_e 16O -> e- 16F* (``nue_o16_cc``) and anti-nu_e 16O -> e+ 16N* (``nuebar_o16_cc``).

    * ``nue_o16_cc``: the excitation group ``g`` is drawn with the model's group fractions at ``E``
      (:meth:`~d2oflux.xsec.oxygen.NueO16CC.group_fractions`; Nakazato et al. for both totals), the
      electron takes ``E_e = E - E_g`` (the rate engine's lines), the angle follows Tomas et al.
      hep-ph/0307050 eq. (B7) (:func:`~d2oflux.xsec.oxygen.o16_cc_cos_theta_pdf`).
    * ``nuebar_o16_cc``: the positron takes ``T = E - E_th - E_x`` (the model's single line);
      **assumption**: isotropic (no angular model is given for it).
    * The residual nucleus takes the rest of the four-momentum (module docstring); its decay
      (16F is proton-unbound) is not simulated. Its generated mass is ``M(16O) + E_g`` less the recoil
      (group 1: 0.30 MeV above the 16F ground state in nuclear masses, less at most ~0.27 MeV of recoil).
    """

    K = 2

    def __init__(self, name, xs_by_flavour, spectra=None):
        super().__init__(name, xs_by_flavour, spectra)
        if name == "nue_o16_cc":
            self.lepton, self.residual = PDG_ELECTRON, PDG_F16
        else:
            self.lepton, self.residual = PDG_POSITRON, PDG_N16

    def final_state(self, E, flavour, d, rng):
        n = E.shape[0]
        xs = self.xs[flavour]
        me = c.M_E_MEV
        if self.name == "nue_o16_cc":
            frac = xs.group_fractions(E)
            cum = np.cumsum(frac, axis=1)
            g = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), frac.shape[1] - 1)
            T = np.maximum(E - xs.group_energies_MeV[g] - me, 0.0)
            a = _linear_coefficient(o16_cc_cos_theta_pdf, E)
            cos = sample_linear_cos(a, rng.random(n))
        else:
            T = np.maximum(E - E_TH_NUEBAR_O16_MEV - xs.excitation_MeV, 0.0)
            cos = rng.uniform(-1.0, 1.0, n)
        pe = np.sqrt(T * (T + 2.0 * me))
        e1, e2 = orthonormal_basis(d)
        p_e = lab_direction(cos, rng.uniform(0.0, 2.0 * np.pi, n), d, e1, e2) * pe[:, None]
        P = E[:, None] * d - p_e
        E_res = E + M_O16_MEV - (T + me)
        pdg, Ea, pa, ma = _assemble(
            [(self.lepton, T + me, p_e, me), (self.residual, E_res, P, invariant_mass(E_res, P))], n, self.K
        )
        tp, tm = self._target_arrays(flavour, n)
        return FinalState(pdg, pa, Ea, ma, np.full(n, 2), T, cos, tp, tm)


class OxygenNCKinematics(ChannelModel):
    """nu 16O -> nu 16O* (``nc_o16``), schematic; every element below is a labelled **assumption**.

    * Excitation ``E_x`` uniform between the lowest particle threshold ``S_p = 12.13 MeV`` and
      ``min(E, 30 MeV)`` (the NC strength sits in the giant-resonance region; no published
      distribution is used); the outgoing neutrino has ``E - E_x`` and an isotropic direction.
    * With the model's probability (:attr:`~d2oflux.xsec.oxygen.O16NC.gamma_probability`, default 0.5)
      the excited system emits one photon of the model's lines (6.32 MeV from 15N, 6.18 MeV from 15O,
      weights as the xsec module), isotropic in its rest frame: the visible gamma the rate engine
      counts. What remains is written as one residual particle (PDG code of 16O, generated mass =
      invariant mass of the rest: nucleon + A = 15 nucleus, not separated).
    """

    K = 3

    def final_state(self, E, flavour, d, rng):
        n = E.shape[0]
        xs = self.xs[flavour]
        lo = np.minimum(S_P_O16_MEV, E)
        hi = np.maximum(np.minimum(E, NC_O16_EXCITATION_MAX_MEV), lo)
        Ex = lo + rng.random(n) * (hi - lo)
        Ep = E - Ex
        dirs = isotropic_directions(rng, n)
        p_nu = dirs * Ep[:, None]
        cos = np.einsum("ij,ij->i", dirs, d)
        P = E[:, None] * d - p_nu
        E_sys = E + M_O16_MEV - Ep
        M_sys = invariant_mass(E_sys, P)
        lines = np.array([e for e, _ in xs.gamma_lines])
        weights = np.array([w for _, w in xs.gamma_lines])
        line = np.minimum(
            np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random(n), side="right"), lines.size - 1
        )
        Eg = lines[line]
        emit = (rng.random(n) < xs.gamma_probability) & (M_sys - M_O16_MEV > Eg)
        M_res = np.sqrt(np.maximum(M_sys * M_sys - 2.0 * M_sys * Eg, 0.0))
        Eg_lab, pg, Er_lab, pr = two_body_decay(rng, E_sys, P, 0.0, M_res)
        E_res = np.where(emit, Er_lab, E_sys)
        p_res = np.where(emit[:, None], pr, P)
        pdg, Ea, pa, ma = _assemble(
            [
                (FLAVOUR_PDG[flavour], Ep, p_nu, 0.0),
                (PDG_O16, E_res, p_res, np.where(emit, M_res, M_sys)),
                (np.where(emit, PDG_GAMMA, 0), np.where(emit, Eg_lab, 0.0), pg * emit[:, None], 0.0),
            ],
            n,
            3,
        )
        tp, tm = self._target_arrays(flavour, n)
        return FinalState(pdg, pa, Ea, ma, np.where(emit, 3, 2), Ep, cos, tp, tm)


register_kinematics("nue_o16_cc", OxygenCCKinematics)
register_kinematics("nuebar_o16_cc", OxygenCCKinematics)
register_kinematics("nc_o16", OxygenNCKinematics)
