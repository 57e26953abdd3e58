"""Kinematics of the reactions on the deuteron (``nue_d_cc``, ``nuebar_d_cc``, ``nc_d``)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from d2oflux import constants as c
from d2oflux.xsec.base import FLAVOUR_PDG, CrossSection
from d2oflux.xsec.deuteron import (
    Q_CC_MEV,
    Q_CCBAR_MEV,
    THRESHOLD_NC_MEV,
    cc_electron_cos_theta_pdf,
    nn_fsi_density,
)

from ..sampling import ConditionalQuantileTable, endpoint_dense_grid
from .common import (
    N_S,
    N_U,
    PDG_ELECTRON,
    PDG_NEUTRON,
    PDG_POSITRON,
    PDG_PROTON,
    ChannelModel,
    FinalState,
    _assemble,
    _linear_coefficient,
    _rows,
    _rows_key,
    _visible_cdf_rows,
    register_kinematics,
)
from .relativistic import (
    lab_direction,
    orthonormal_basis,
    sample_linear_cos,
    two_body_decay,
)


class PairDensity:
    """The NN relative-energy density ``rho_NN(E)`` of :func:`~d2oflux.xsec.deuteron.nn_fsi_density` as a
    fast table (grid ``E = 60 MeV t^3``, dense at small E; linear interpolation), with its peak.

    ``rho`` is unimodal (checked when the table is built), so its maximum on an interval is
    ``rho(clip(peak, lo, hi))``: the exact bound for the rejection sampling of angles.
    """

    E_MAX = 60.0
    N = 8193

    def __init__(self, pair: str) -> None:
        t = np.linspace(0.0, 1.0, self.N)
        self.values = nn_fsi_density(self.E_MAX * t**3, pair)
        k = int(np.argmax(self.values))
        d = np.diff(self.values)
        if not ((d[:k] >= 0).all() and (d[k:] <= 0).all()):  # pragma: no cover - property of the ERE model
            raise RuntimeError(f"nn_fsi_density('{pair}') is not unimodal: the rejection bound would be wrong")
        self.peak = self.E_MAX * (k / (self.N - 1)) ** 3

    def __call__(self, E: np.ndarray) -> np.ndarray:
        pos = np.cbrt(np.clip(E, 0.0, self.E_MAX) / self.E_MAX) * (self.N - 1)
        i = np.minimum(pos.astype(np.intp), self.N - 2)
        f = pos - i
        v = self.values
        out = v[i] + f * (v[i + 1] - v[i])
        return np.where(E > 0, out, 0.0)

    def max_on(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return self(np.clip(self.peak, lo, hi))


@lru_cache(maxsize=4)
def pair_density(pair: str) -> PairDensity:
    return PairDensity(pair)


def sample_gt_angle(
    rng: np.random.Generator,
    E: np.ndarray,
    p_lep: np.ndarray,
    x: np.ndarray,
    a: np.ndarray,
    c_min: np.ndarray,
    m_N: float,
    rho,
    max_rounds: int = 200,
) -> np.ndarray:
    """Lepton ``cos(theta)`` given the neutrino energy ``E`` and the lepton momentum ``p_lep``, from

        p(c) ∝ (1 + a c) rho(x - q^2(c) / (4 m_N)),   q^2 = E^2 + p^2 - 2 E p c,   c in [c_min, 1],

    i.e. the GT angular factor ``1 - (beta/3) c`` (``a = -beta/3``) times the NN phase space with FSI at
    the recoil-corrected pair energy (``x = E - Q - T``): the double-differential density that
    :mod:`d2oflux.xsec.deuteron` integrates over the angle for its electron spectrum. Rejection:
    proposal ``(1 + a c)/2`` on ``[c_min, 1]`` (inverse CDF), acceptance ``rho / max(rho)`` over the
    allowed pair energies (exact bound, ``rho`` unimodal). Events with no allowed angle (``x`` below the
    forward recoil, only by rounding at the end point) get ``c = 1``.
    """
    n = E.shape[0]
    c = np.ones(n)
    k = 4.0 * m_N
    y_hi = x - (E - p_lep) ** 2 / k  # forward: smallest recoil
    y_lo = x - (E * E + p_lep * p_lep - 2.0 * E * p_lep * c_min) / k
    bound = rho.max_on(y_lo, y_hi)
    todo = np.nonzero(bound > 0)[0]
    for _ in range(max_rounds):
        if todo.size == 0:
            break
        Et, pt = E[todo], p_lep[todo]
        cc = sample_linear_cos(a[todo], rng.random(todo.size), c_min[todo])
        y = x[todo] - (Et * Et + pt * pt - 2.0 * Et * pt * cc) / k
        ok = rng.random(todo.size) * bound[todo] <= rho(y)
        c[todo[ok]] = cc[ok]
        todo = todo[~ok]
    return c


def _c_min(E: np.ndarray, p: np.ndarray, W: np.ndarray, M_min: float) -> np.ndarray:
    """Smallest lepton ``cos(theta)`` for which the rest ``(W, p_nu - p_lep)`` has mass >= ``M_min``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        c_min = (E * E + p * p - W * W + M_min * M_min) / (2.0 * E * p)
    return np.clip(np.nan_to_num(c_min, nan=-1.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)


@lru_cache(maxsize=64)
def _cc_d_table(xs: CrossSection, Q: float, rows: tuple) -> ConditionalQuantileTable:
    return ConditionalQuantileTable(_rows(rows), _visible_cdf_rows(xs, lambda E: max(E - Q, 1e-9)), n_u=N_U)


class DeuteronCCKinematics(ChannelModel):
    """nu_e d -> e- p p (``nue_d_cc``) and anti-nu_e d -> e+ n n (``nuebar_d_cc``).

    The model is the one of :mod:`d2oflux.xsec.deuteron`: allowed GT phase space with the NN
    final-state interaction, whose double-differential density is

        d^2 sigma / dT dcos(theta) ∝ p_e E_e F(Z, E_e) (1 - (beta/3) cos(theta)) rho_NN(E - Q - T - q^2/4m_N),

    ``q^2 = E^2 + p_e^2 - 2 E p_e cos(theta)`` (the NN recoil). It is sampled as

    * ``T`` from the angle-integrated spectrum (the xsec module's ``visible_spectrum``, tabulated in
      ``s = T / (E - Q)``): the histogram of ``T`` is the rate engine's visible spectrum;
    * ``cos(theta)`` from the conditional law at that ``(E, T)``, ``∝ (1 - (beta/3) cos(theta)) rho_NN(...)``
      (:func:`sample_gt_angle`; the GT factor from
      :func:`~d2oflux.xsec.deuteron.cc_electron_cos_theta_pdf`), restricted to the angles whose recoil the
      pair can absorb (``W^2 - q^2 >= 4 m_N^2``, ``W = E + m_d - E_e``);
    * the NN pair takes ``(W, p_nu - p_e)`` and decays isotropically in its rest frame (S wave):
      energy and momentum are conserved exactly.

    **Consequence (stated, not an approximation of this module)**: because the recoil energy depends
    on the angle and the pp FSI favours small pair energies, electrons near the end point of the
    spectrum can only go forward, and the angle-integrated distribution is less backward than
    ``1 - (beta/3) cos(theta)``: <cos(theta)> = -0.101, -0.096, -0.091, -0.086 at 20, 30, 40, 50 MeV
    instead of -1/9 = -0.111 (flux-averaged -0.092). Drawing the angle independently of ``T`` would
    violate kinematics for ~9 % of the events. **Approximations** (inherited): the T spectrum integrates
    the angle with 8-point Gauss-Legendre; the recoil is non-relativistic (``q^2/4 m_N``) in the weights
    while the final state is built with exact relativistic kinematics.
    """

    K = 3

    def __init__(self, name, xs_by_flavour, spectra=None) -> None:
        super().__init__(name, xs_by_flavour, spectra)
        if name == "nue_d_cc":
            self.Q, self.mN, self.pair = Q_CC_MEV, c.M_P_MEV, "pp"
            self.E_min = Q_CC_MEV
            self.lepton, self.nucleon = PDG_ELECTRON, PDG_PROTON
        else:
            self.Q, self.mN, self.pair = Q_CCBAR_MEV, c.M_N_MEV, "nn"
            self.E_min = Q_CCBAR_MEV
            self.lepton, self.nucleon = PDG_POSITRON, PDG_NEUTRON

    def final_state(self, E, flavour, d, rng):
        n = E.shape[0]
        xs = self.xs[flavour]
        me = c.M_E_MEV
        X = np.maximum(E - self.Q, 0.0)
        rows = _rows_key(max(float(xs.threshold_MeV), self.Q) + 1e-3, self.spectra[flavour])
        T = _cc_d_table(xs, self.Q, rows)(E, rng.random(n)) * X
        Ee = T + me
        pe = np.sqrt(T * (T + 2.0 * me))
        W = E + c.M_D_MEV - Ee
        c_min = _c_min(E, pe, W, 2.0 * self.mN)
        a = _linear_coefficient(cc_electron_cos_theta_pdf, T)  # -beta/3
        cos = sample_gt_angle(rng, E, pe, X - T, a, c_min, self.mN, pair_density(self.pair))
        e1, e2 = orthonormal_basis(d)
        p_lep = lab_direction(cos, rng.uniform(0.0, 2.0 * np.pi, n), d, e1, e2) * pe[:, None]
        P = E[:, None] * d - p_lep
        E1, p1, E2, p2 = two_body_decay(rng, W, P, self.mN, self.mN)
        pdg, Ea, pa, ma = _assemble(
            [(self.lepton, Ee, p_lep, me), (self.nucleon, E1, p1, self.mN), (self.nucleon, E2, p2, self.mN)], n, 3
        )
        tp, tm = self._target_arrays(flavour, n)
        return FinalState(pdg, pa, Ea, ma, np.full(n, 3), T, cos, tp, tm)


#: Mean nucleon mass used in the NC recoil term ``q^2 / 4 m_N``.
M_NUCLEON_NC_MEV = 0.5 * (c.M_P_MEV + c.M_N_MEV)
Q_NC_MEV = c.M_P_MEV + c.M_N_MEV - c.M_D_MEV


@lru_cache(maxsize=8)
def _nc_d_table(rows_key: tuple) -> ConditionalQuantileTable:
    """Outgoing-neutrino energy in nu d -> nu p n, in ``s = E' / (E - Q_nc)`` (see :class:`DeuteronNCKinematics`)."""
    cosn, w = np.polynomial.legendre.leggauss(8)
    w = 0.5 * w
    s_grid = endpoint_dense_grid(N_S)
    rho = pair_density("nn")

    def rows(E: float):
        X = E - Q_NC_MEV
        Ep = X * s_grid
        acc = np.zeros_like(Ep)
        for cc, ww in zip(cosn, w, strict=True):
            q2 = E * E + Ep * Ep - 2.0 * E * Ep * cc
            acc += ww * (1.0 - cc / 3.0) * rho(X - Ep - q2 / (4.0 * M_NUCLEON_NC_MEV))
        g = Ep * Ep * acc
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (g[1:] + g[:-1]) * np.diff(s_grid))])
        return s_grid, cdf

    return ConditionalQuantileTable(_rows(rows_key), rows, n_u=N_U)


class DeuteronNCKinematics(ChannelModel):
    """nu d -> nu p n (``nc_d``), any flavour.

    **Model** (the xsec module has no NC lepton spectrum; built like its CC model, :class:`DeuteronCC`):
    allowed GT (isovector axial current, d(3S1) -> np(1S0)) phase space for a massless lepton with the
    np final-state interaction,
    ``d^2 sigma/dE' dcos(theta) ∝ E'^2 (1 - cos(theta)/3) rho_np(E - Q_nc - E' - q^2/4m_N)``; ``E'`` from its
    angle-integrated spectrum (8-point Gauss-Legendre in the angle), the angle from the conditional law
    (:func:`sample_gt_angle`), the np pair decays isotropically. **Approximation**: ``rho_np`` is the nn
    effective-range density of :func:`~d2oflux.xsec.deuteron.nn_fsi_density` (``pair="nn"``: a = -18.9 fm,
    r = 2.75 fm) standing in for np 1S0 (a = -23.7 fm), which moves the FSI peak from ~0.10 to ~0.07 MeV.
    The neutron is written out; its capture (the rate engine's visible 6.26 MeV gamma, on d with the
    geometry-dependent probability of :mod:`d2oflux.neutron_capture`) is left to the detector simulation.
    """

    K = 3
    E_min = Q_NC_MEV

    def final_state(self, E, flavour, d, rng):
        n = E.shape[0]
        table = _nc_d_table(_rows_key(max(THRESHOLD_NC_MEV, Q_NC_MEV) + 1e-3, self.spectra[flavour]))
        X = np.maximum(E - Q_NC_MEV, 0.0)
        Ep = table(E, rng.random(n)) * X
        W = E + c.M_D_MEV - Ep
        c_min = _c_min(E, Ep, W, c.M_P_MEV + c.M_N_MEV)
        cos = sample_gt_angle(rng, E, Ep, X - Ep, np.full(n, -1.0 / 3.0), c_min, M_NUCLEON_NC_MEV, pair_density("nn"))
        e1, e2 = orthonormal_basis(d)
        p_nu = lab_direction(cos, rng.uniform(0.0, 2.0 * np.pi, n), d, e1, e2) * Ep[:, None]
        P = E[:, None] * d - p_nu
        Ep_, pp_, En_, pn_ = two_body_decay(rng, W, P, c.M_P_MEV, c.M_N_MEV)
        pdg, Ea, pa, ma = _assemble(
            [
                (FLAVOUR_PDG[flavour], Ep, p_nu, 0.0),
                (PDG_PROTON, Ep_, pp_, c.M_P_MEV),
                (PDG_NEUTRON, En_, pn_, c.M_N_MEV),
            ],
            n,
            3,
        )
        tp, tm = self._target_arrays(flavour, n)
        return FinalState(pdg, pa, Ea, ma, np.full(n, 3), Ep, cos, tp, tm)


register_kinematics("nue_d_cc", DeuteronCCKinematics)
register_kinematics("nuebar_d_cc", DeuteronCCKinematics)
register_kinematics("nc_d", DeuteronNCKinematics)
