"""Kinematics of coherent elastic neutrino-nucleus scattering (``cevns_<Symbol>``): exact two-body."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from d2oflux.xsec.base import FLAVOUR_PDG
from d2oflux.xsec.cevns import NUCLEI, CEvNSCrossSection, Isotope, Nucleus, cevns_channel, recoil_T_max

from ..sampling import ConditionalQuantileTable
from .common import (
    N_U,
    ChannelModel,
    FinalState,
    _assemble,
    _rows,
    _rows_key,
    _visible_cdf_rows,
    nucleus_pdg,
    register_kinematics,
)
from .relativistic import (
    lab_direction,
    orthonormal_basis,
)


@lru_cache(maxsize=64)
def _isotope_model(xs: CEvNSCrossSection, E_hi: float) -> tuple[list[CEvNSCrossSection], np.ndarray, np.ndarray]:
    """Per-isotope cross sections of a (natural) nucleus, and the isotope fractions on an energy grid."""
    isos = []
    for iso in xs.nucleus.isotopes:
        single = Nucleus(f"{xs.nucleus.symbol}{iso.A}", (Isotope(iso.Z, iso.N, 1.0, iso.mass_MeV),))
        isos.append(
            (
                iso.abundance,
                CEvNSCrossSection(single, xs.flavour, form_factor=xs.form_factor, sin2_theta_w=xs.sin2_theta_w),
            )
        )
    E = np.linspace(0.05, max(E_hi, 0.1), 1024)
    w = np.array([ab * x.sigma(E) for ab, x in isos])
    frac = np.cumsum(w / np.where(w.sum(0) > 0, w.sum(0), 1.0), axis=0)
    return [x for _, x in isos], E, frac


@lru_cache(maxsize=128)
def _cevns_table(xs: CEvNSCrossSection, rows: tuple) -> ConditionalQuantileTable:
    M = xs.nucleus.isotopes[0].M
    return ConditionalQuantileTable(_rows(rows), _visible_cdf_rows(xs, lambda e: float(recoil_T_max(e, M))), N_U)


class CEvNSKinematics(ChannelModel):
    """nu A -> nu A (``cevns_<X>``): exact two-body kinematics on one isotope.

    The isotope is drawn with probability ∝ abundance x sigma_isotope(E) (natural elements); the recoil
    kinetic energy from that isotope's d sigma/dT (Helm form factor; ``visible_spectrum`` tabulated in
    ``T / T_max``); the recoil angle from ``cos(theta_R) = (E + M)/E sqrt(T/(T + 2M))``; the neutrino takes
    the rest. Nuclear masses are the xsec module's (``A u``). The "lepton" columns describe the outgoing
    neutrino.
    """

    K = 2

    def __init__(self, name, xs_by_flavour, spectra=None):
        super().__init__(name, xs_by_flavour, spectra, channel=cevns_channel(name[len("cevns_") :]))

    def final_state(self, E, flavour, d, rng):
        n = E.shape[0]
        spectrum = self.spectra[flavour]
        isos, Egrid, cum = _isotope_model(self.xs[flavour], spectrum.E_hi)
        if len(isos) == 1:
            which = np.zeros(n, dtype=np.intp)
        else:
            u = rng.random(n)
            pos = np.clip((E - Egrid[0]) / (Egrid[1] - Egrid[0]), 0, Egrid.size - 1).astype(np.intp)
            which = np.minimum((u[None, :] > cum[:, pos]).sum(axis=0), len(isos) - 1)
        T = np.empty(n)
        M = np.empty(n)
        tp = np.empty(n, dtype=np.int32)
        u = rng.random(n)
        for k, x in enumerate(isos):
            sel = which == k
            if not sel.any():
                continue
            iso = x.nucleus.isotopes[0]
            T[sel] = _cevns_table(x, _rows_key(0.05, spectrum))(E[sel], u[sel]) * recoil_T_max(E[sel], iso.M)
            M[sel] = iso.M
            tp[sel] = nucleus_pdg(iso.Z, iso.A)
        cosR = np.minimum((E + M) / E * np.sqrt(T / (T + 2.0 * M)), 1.0)
        pA = np.sqrt(T * (T + 2.0 * M))
        e1, e2 = orthonormal_basis(d)
        p_A = lab_direction(cosR, rng.uniform(0.0, 2.0 * np.pi, n), d, e1, e2) * pA[:, None]
        p_nu = E[:, None] * d - p_A
        Ep = E - T
        pdg, Ea, pa, ma = _assemble([(FLAVOUR_PDG[flavour], Ep, p_nu, 0.0), (tp, T + M, p_A, M)], n, self.K)
        with np.errstate(invalid="ignore", divide="ignore"):
            cos_nu = np.where(Ep > 0, np.einsum("ij,ij->i", p_nu, d) / np.where(Ep > 0, Ep, 1.0), 1.0)
        return FinalState(pdg, pa, Ea, ma, np.full(n, 2), Ep, cos_nu, tp.copy(), M.copy())


for _symbol in NUCLEI:
    register_kinematics(f"cevns_{_symbol}", CEvNSKinematics)
