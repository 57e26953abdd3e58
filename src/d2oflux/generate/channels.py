"""Final-state kinematics, one model per reaction; every approximation is stated where it is made.

Each :class:`ChannelModel` turns neutrino energies ``E`` and directions ``d`` (unit vectors, one per
event) into final-state particles with PDG codes and lab four-momenta. The cross sections and the
one-dimensional spectra come from :mod:`d2oflux.xsec` (the same objects the rate engine folds); this
module only adds what the rate engine does not need: angles, the hadronic side, exact kinematics.

Common to all reactions
-----------------------
* The target is at rest in the lab (Fermi motion, molecular and atomic binding neglected; the
  electron of nu-e scattering is free and at rest).
* Unless a model says otherwise, four-momentum is conserved exactly in every event: after the lepton
  is fixed, the rest of the final state takes ``p_nu + p_target - p_lepton``. When the remainder is a
  two-body system (pp, nn, np) it is decayed isotropically in its rest frame. When it is a residual
  nucleus (16F*, 16N*, 16O*), that nucleus is written as one particle whose invariant mass is what is
  left: the nuclear recoil that the line models of :mod:`d2oflux.xsec.oxygen` neglect (<= 0.4 MeV at
  50 MeV) lowers its excitation instead of the lepton energy. Its PDG code is the ground-state code
  (``100ZZZAAA0``) with the excitation in the generated mass; its decay is not simulated.
* Nuclear masses of 16O, 15N... from the AME2020 atomic mass excesses (M. Wang et al., Chin. Phys. C
  45, 030003 (2021)); the deuteron and nucleon masses from :mod:`d2oflux.constants`.

Per reaction (the class docstrings give the details)
----------------------------------------------------
``nue_d_cc``, ``nuebar_d_cc`` (:class:`DeuteronCC`)
    Lepton kinetic energy from the GT + NN-FSI spectrum of :mod:`d2oflux.xsec.deuteron` (the rate
    engine's visible spectrum, as a table); angle from ``1 - (beta/3) cos(theta)``
    (:func:`~d2oflux.xsec.deuteron.cc_electron_cos_theta_pdf`) times the NN phase space at the
    recoil-corrected pair energy (the model's double-differential density); the NN pair takes the rest
    and decays isotropically.
``nc_d`` (:class:`DeuteronNC`)
    nu d -> nu p n with the same GT + FSI model (massless lepton, no Coulomb), the neutron in the
    final state (its capture is left to the detector simulation).
``es_*`` (:class:`ElectronScattering`)
    Exact: T from d sigma/dT, the angle from two-body kinematics.
``nue_o16_cc``, ``nuebar_o16_cc`` (:class:`OxygenCC`)
    One electron line per Nakazato group, angle from Tomas et al. (B7); residual 16F*/16N*.
``nc_o16`` (:class:`OxygenNC`)
    Schematic: excitation, outgoing neutrino, optional 6.2-6.3 MeV gamma (the xsec model's lines).
``ibd_h`` (:class:`InverseBetaDecay`)
    Exact two-body kinematics with the O(1/M^0) angular distribution of Vogel & Beacom.
``cevns_<X>`` (:class:`CoherentScattering`)
    Exact: recoil T from d sigma/dT of the isotope, the angle from two-body kinematics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from d2oflux import constants as c
from d2oflux.xsec.base import FLAVOUR_PDG, CrossSection
from d2oflux.xsec.cevns import CEvNSCrossSection, Isotope, Nucleus, recoil_T_max
from d2oflux.xsec.deuteron import (
    Q_CC_MEV,
    Q_CCBAR_MEV,
    THRESHOLD_NC_MEV,
    cc_electron_cos_theta_pdf,
    nn_fsi_density,
)
from d2oflux.xsec.electron import T_max as es_T_max
from d2oflux.xsec.electron import electron_cos_theta
from d2oflux.xsec.oxygen import E_TH_NUEBAR_O16_MEV, o16_cc_cos_theta_pdf

from .kinematics import (
    invariant_mass,
    isotropic_directions,
    lab_direction,
    nuclear_mass_MeV,
    orthonormal_basis,
    sample_linear_cos,
    two_body_decay,
)
from .sampling import ConditionalQuantileTable, PiecewiseLinearSampler, endpoint_dense_grid
from .spectra import FlavourSpectrum

# ------------------------------------------------------------------------------------------------
# particles
# ------------------------------------------------------------------------------------------------
PDG_ELECTRON, PDG_POSITRON, PDG_PROTON, PDG_NEUTRON, PDG_GAMMA = 11, -11, 2212, 2112, 22
PDG_DEUTERON = 1000010020
PDG_O16, PDG_F16, PDG_N16 = 1000080160, 1000090160, 1000070160

#: AME2020 atomic mass excesses [MeV] (Wang et al. 2021): 16O, 15N, 1H (for S_p).
MASS_EXCESS_O16_MEV = -4.737001
MASS_EXCESS_N15_MEV = 0.101439
MASS_EXCESS_H1_MEV = 7.288971
#: 16O nuclear mass [MeV].
M_O16_MEV = nuclear_mass_MeV(16, 8, MASS_EXCESS_O16_MEV)
#: Proton separation energy of 16O, S_p = Delta(15N) + Delta(1H) - Delta(16O) = 12.127 MeV (AME2020).
S_P_O16_MEV = MASS_EXCESS_N15_MEV + MASS_EXCESS_H1_MEV - MASS_EXCESS_O16_MEV
#: Assumption: upper end of the 16O excitation in NC events (giant-resonance region; schematic model).
NC_O16_EXCITATION_MAX_MEV = 30.0

#: Axial coupling g_A (PDG 2024, lambda = g_A/g_V = -1.2754); enters the IBD angular coefficient.
G_A = 1.2754

N_ROWS = 512  # neutrino-energy rows of the conditional (kinetic-energy) tables
N_S = 2001  # points of the scaled kinetic-energy grid per row
N_U = 2049  # quantile nodes per row


def target_info(target: str) -> tuple[int, float]:
    """PDG code and mass [MeV] of a target species of :mod:`d2oflux.materials` (not ``nucleus:*``)."""
    table = {
        "deuteron": (PDG_DEUTERON, c.M_D_MEV),
        "o16": (PDG_O16, M_O16_MEV),
        "electron": (PDG_ELECTRON, c.M_E_MEV),
        "proton": (PDG_PROTON, c.M_P_MEV),
    }
    return table[target]


def nucleus_pdg(Z: int, A: int) -> int:
    """PDG nuclear code ``10LZZZAAAI`` of a ground-state nucleus (L = I = 0)."""
    return 1000000000 + 10000 * Z + 10 * A


# ------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------
@dataclass
class FinalState:
    """Final states of ``n`` events, padded to ``K`` particles; the lepton (or outgoing neutrino) first.

    Attributes
    ----------
    pdg : int32 (n, K)
    p : float (n, K, 3)  momenta [MeV]
    E : float (n, K)     energies [MeV]
    m : float (n, K)     generated masses [MeV]
    n_fs : int (n,)      number of valid particles (the first ``n_fs`` of each row)
    lepton_T, lepton_cos : float (n,)
        Kinetic energy of particle 0 and cosine of its angle to the neutrino direction.
    target_pdg : int (n,), target_mass : float (n,)
    """

    pdg: np.ndarray
    p: np.ndarray
    E: np.ndarray
    m: np.ndarray
    n_fs: np.ndarray
    lepton_T: np.ndarray
    lepton_cos: np.ndarray
    target_pdg: np.ndarray
    target_mass: np.ndarray


def _assemble(parts: list[tuple[int | np.ndarray, np.ndarray, np.ndarray, np.ndarray]], n: int, K: int) -> tuple:
    """Stack (pdg, E, p, m) of each particle slot into padded (n, K) arrays."""
    pdg = np.zeros((n, K), dtype=np.int32)
    E = np.zeros((n, K))
    p = np.zeros((n, K, 3))
    m = np.zeros((n, K))
    for k, (code, Ek, pk, mk) in enumerate(parts):
        pdg[:, k] = code
        E[:, k] = Ek
        p[:, k] = pk
        m[:, k] = mk
    return pdg, E, p, m


def _linear_coefficient(pdf, *args) -> np.ndarray:
    """Slope ``a`` of a density ``(1 + a c)/2`` on [-1, 1], read off the xsec helper ``pdf(c, ...)``."""
    return pdf(1.0, *args) - pdf(-1.0, *args)


# ------------------------------------------------------------------------------------------------
# neutrino-energy sampling: flux x sigma
# ------------------------------------------------------------------------------------------------
def build_energy_sampler(xs: CrossSection, spectrum: FlavourSpectrum, E_min: float = 0.0):
    """Sampler of the interacting neutrino energy ``f(E) sigma(E)`` for one reaction and flavour.

    ``f`` is the source spectrum (:class:`~d2oflux.generate.spectra.FlavourSpectrum`: analytic or a flux
    table); a line returns its energy (a float). The product is tabulated from the threshold (or
    ``E_min``, the kinematic threshold of the final state where it lies above the tabulated one by a
    fraction of a keV) to the end of the spectrum and is linear between grid points.
    """
    if spectrum.line is not None:
        return float(spectrum.line)
    E = spectrum.grid(max(float(xs.threshold_MeV), E_min, 0.0))
    return PiecewiseLinearSampler(E, spectrum.pdf(E) * xs.sigma(E))


@lru_cache(maxsize=256)
def _analytic_energy_sampler(xs: CrossSection, flavour: str, E_min: float):
    return build_energy_sampler(xs, _analytic_spectrum(flavour), E_min)


def _row_energies(lo: float, spectrum: FlavourSpectrum) -> np.ndarray:
    """Rows of a conditional table: the line alone, or a uniform grid up to the end of the spectrum."""
    if spectrum.line is not None:
        return np.array([spectrum.line])
    return np.linspace(min(lo, spectrum.E_hi - 1e-3), spectrum.E_hi, N_ROWS)


def _visible_cdf_rows(xs: CrossSection, T_scale):
    """Row builder for :class:`ConditionalQuantileTable` from ``xs.visible_spectrum`` (the rate engine's
    visible spectrum), in the scaled variable ``s = T / T_scale(E)``."""
    s_grid = endpoint_dense_grid(N_S)

    def rows(E: float):
        edges = T_scale(E) * s_grid
        frac = xs.visible_spectrum(np.array([E]), edges)[0]
        return s_grid, np.concatenate([[0.0], np.cumsum(frac)])

    return rows


# ------------------------------------------------------------------------------------------------
# models
# ------------------------------------------------------------------------------------------------
def _analytic_spectrum(flavour: str) -> FlavourSpectrum:
    class _Analytic:
        flux_table = None

    return FlavourSpectrum(_Analytic(), flavour)


class ChannelModel:
    """Kinematics of one channel (all flavours). Subclasses implement :meth:`final_state`.

    Attributes
    ----------
    name : str
    process_id : int
        NuHepMC process ID (E.C.1 ranges: 100-199 low-energy nuclear, 200-299 quasielastic, 700+
        other; CC in X00-X49, NC in X50-X99).
    description : str
    K : int
        Maximum number of final-state particles.
    """

    name: str
    process_id: int
    description: str
    K: int = 3
    E_min: float = 0.0  # kinematic threshold of the final state [MeV]

    def __init__(
        self,
        name: str,
        xs_by_flavour: Mapping[str, CrossSection],
        spectra: Mapping[str, FlavourSpectrum] | None = None,
    ) -> None:
        self.name = name
        self.xs = dict(xs_by_flavour)
        self.spectra = dict(spectra) if spectra is not None else {f: _analytic_spectrum(f) for f in self.xs}
        self._energy: dict[str, object] = {}

    def energy_sampler(self, flavour: str):
        """The neutrino-energy sampler of ``flavour`` (built on first use; analytic ones shared)."""
        if flavour not in self._energy:
            sp = self.spectra[flavour]
            if sp.tabulated:
                self._energy[flavour] = build_energy_sampler(self.xs[flavour], sp, self.E_min)
            else:
                self._energy[flavour] = _analytic_energy_sampler(self.xs[flavour], flavour, self.E_min)
        return self._energy[flavour]

    def sample_energy(self, flavour: str, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` interacting neutrino energies [MeV]."""
        s = self.energy_sampler(flavour)
        if isinstance(s, float):
            return np.full(n, s)
        return s(rng.random(n))

    def target(self, flavour: str) -> tuple[int, float]:
        return target_info(self.xs[flavour].target)

    def final_state(self, E: np.ndarray, flavour: str, d: np.ndarray, rng: np.random.Generator) -> FinalState:
        raise NotImplementedError

    def citation(self) -> str:
        return "; ".join(sorted({x.citation for x in self.xs.values()}))

    def _target_arrays(self, flavour: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        pdg, mass = self.target(flavour)
        return np.full(n, pdg, dtype=np.int32), np.full(n, mass)


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


def _rows_key(lo: float, spectrum: FlavourSpectrum) -> tuple[float, float, int]:
    """Hashable description ``(first, last, n)`` of the rows of a conditional table (see :func:`_rows`)."""
    r = _row_energies(lo, spectrum)
    return (float(r[0]), float(r[-1]), int(r.size))


def _rows(key: tuple[float, float, int]) -> np.ndarray:
    return np.linspace(key[0], key[1], key[2])


@lru_cache(maxsize=64)
def _cc_d_table(xs: CrossSection, Q: float, rows: tuple) -> ConditionalQuantileTable:
    return ConditionalQuantileTable(_rows(rows), _visible_cdf_rows(xs, lambda E: max(E - Q, 1e-9)), n_u=N_U)


class DeuteronCC(ChannelModel):
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
            self.process_id, self.Q, self.mN, self.pair = 100, Q_CC_MEV, c.M_P_MEV, "pp"
            self.E_min = Q_CC_MEV
            self.lepton, self.nucleon = PDG_ELECTRON, PDG_PROTON
            self.description = "nu_e d -> e- p p (CC on the deuteron; GT + pp FSI)"
        else:
            self.process_id, self.Q, self.mN, self.pair = 101, Q_CCBAR_MEV, c.M_N_MEV, "nn"
            self.E_min = Q_CCBAR_MEV
            self.lepton, self.nucleon = PDG_POSITRON, PDG_NEUTRON
            self.description = "anti-nu_e d -> e+ n n (CC on the deuteron; GT + nn FSI)"

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
    """Outgoing-neutrino energy in nu d -> nu p n, in ``s = E' / (E - Q_nc)`` (see :class:`DeuteronNC`)."""
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


class DeuteronNC(ChannelModel):
    """nu d -> nu p n (``nc_d``), any flavour.

    **Model** (the xsec module has no NC lepton spectrum; built like its CC model, :class:`DeuteronCC`):
    allowed GT (isovector axial current, d(3S1) -> np(1S0)) phase space for a massless lepton with the
    np final-state interaction,
    ``d^2 sigma/dE' dcos(theta) ∝ E'^2 (1 - cos(theta)/3) rho_np(E - Q_nc - E' - q^2/4m_N)``; ``E'`` from its
    angle-integrated spectrum (8-point Gauss-Legendre in the angle), the angle from the conditional law
    (:func:`sample_gt_angle`), the np pair decays isotropically. **Approximation**: ``rho_np`` is the nn
    effective-range density of :func:`~d2oflux.xsec.deuteron.nn_fsi_density` (``pair="nn"``: a = -18.9 fm,
    r = 2.75 fm) standing in for np 1S0 (a = -23.7 fm), which moves the FSI peak from ~0.10 to ~0.07 MeV.
    The neutron is written out; its capture (the rate engine's visible 6.26 MeV gamma, on d with
    probability ~0.1) is left to the detector simulation.
    """

    K = 3
    process_id = 150
    description = "nu d -> nu p n (NC on the deuteron; GT + np FSI)"
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


#: NuHepMC process IDs of nu-e scattering (E.C.1: "other" 700+; nu_e/anti-nu_e have a CC part: X00-X49).
ES_PROCESS_IDS = {"es_nue": 700, "es_nuebar": 701, "es_numu": 750, "es_anumu": 751}


@lru_cache(maxsize=64)
def _es_table(xs: CrossSection, rows: tuple) -> ConditionalQuantileTable:
    return ConditionalQuantileTable(_rows(rows), _visible_cdf_rows(xs, lambda E: float(es_T_max(E))), N_U)


class ElectronScattering(ChannelModel):
    """nu e- -> nu e- (``es_nue``, ``es_nuebar``, ``es_numu``, ``es_anumu``): exact two-body kinematics.

    ``T`` from the model's d sigma/dT (with radiative corrections; its ``visible_spectrum`` tabulated
    in ``T / T_max(E)``), the electron angle from ``cos(theta) = (1 + m_e/E) sqrt(T/(T + 2 m_e))``
    (:func:`~d2oflux.xsec.electron.electron_cos_theta`), the neutrino takes the rest. **Approximation**:
    the bremsstrahlung photon of the QED correction is not generated (the electron carries its
    energy): the spectrum is the radiatively corrected one, the kinematics tree level.
    """

    K = 2

    def __init__(self, name, xs_by_flavour, spectra=None):
        super().__init__(name, xs_by_flavour, spectra)
        self.process_id = ES_PROCESS_IDS[name]
        self.description = {
            "es_nue": "nu_e e- -> nu_e e- (elastic; CC + NC)",
            "es_nuebar": "anti-nu_e e- -> anti-nu_e e- (elastic; CC + NC)",
            "es_numu": "nu_mu e- -> nu_mu e- (elastic; NC)",
            "es_anumu": "anti-nu_mu e- -> anti-nu_mu e- (elastic; NC)",
        }[name]

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


class OxygenCC(ChannelModel):
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
            self.process_id, self.lepton, self.residual = 110, PDG_ELECTRON, PDG_F16
            self.description = "nu_e 16O -> e- 16F* (CC on 16O, per excitation group)"
        else:
            self.process_id, self.lepton, self.residual = 111, PDG_POSITRON, PDG_N16
            self.description = "anti-nu_e 16O -> e+ 16N* (CC on 16O)"

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


class OxygenNC(ChannelModel):
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
    process_id = 160
    description = "nu 16O -> nu 16O* (NC on 16O; schematic excitation, de-excitation gamma lines)"

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


class InverseBetaDecay(ChannelModel):
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
    process_id = 200
    description = "anti-nu_e p -> e+ n (inverse beta decay on free protons)"

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


class CoherentScattering(ChannelModel):
    """nu A -> nu A (``cevns_<X>``): exact two-body kinematics on one isotope.

    The isotope is drawn with probability ∝ abundance x sigma_isotope(E) (natural elements); the recoil
    kinetic energy from that isotope's d sigma/dT (Helm form factor; ``visible_spectrum`` tabulated in
    ``T / T_max``); the recoil angle from ``cos(theta_R) = (E + M)/E sqrt(T/(T + 2M))``; the neutrino takes
    the rest. Nuclear masses are the xsec module's (``A u``). The "lepton" columns describe the outgoing
    neutrino.
    """

    K = 2

    def __init__(self, name, xs_by_flavour, spectra=None):
        super().__init__(name, xs_by_flavour, spectra)
        sym = name[len("cevns_") :]
        from d2oflux.xsec.cevns import NUCLEI

        keys = list(NUCLEI)
        self.process_id = 170 + (keys.index(sym) if sym in keys else len(keys))
        self.description = f"nu {sym} -> nu {sym} (coherent elastic neutrino-nucleus scattering)"

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


def model_for(
    name: str, xs_by_flavour: Mapping[str, CrossSection], spectra: Mapping[str, FlavourSpectrum] | None = None
) -> ChannelModel:
    """The :class:`ChannelModel` of channel ``name`` (``nue_d_cc``, ``es_numu``, ``cevns_O``, ...); ``spectra``
    are the source's neutrino spectra per flavour (default: the analytic piDAR ones)."""
    if name in ("nue_d_cc", "nuebar_d_cc"):
        return DeuteronCC(name, xs_by_flavour, spectra)
    if name == "nc_d":
        return DeuteronNC(name, xs_by_flavour, spectra)
    if name.startswith("es_"):
        return ElectronScattering(name, xs_by_flavour, spectra)
    if name in ("nue_o16_cc", "nuebar_o16_cc"):
        return OxygenCC(name, xs_by_flavour, spectra)
    if name == "nc_o16":
        return OxygenNC(name, xs_by_flavour, spectra)
    if name == "ibd_h":
        return InverseBetaDecay(name, xs_by_flavour, spectra)
    if name.startswith("cevns_"):
        return CoherentScattering(name, xs_by_flavour, spectra)
    raise KeyError(name)
