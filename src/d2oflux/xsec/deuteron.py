"""Neutrino-deuteron reactions: CC nu_e d -> e- p p, NC nu d -> nu p n, CC anti-nu_e d -> e+ n n.

Total cross sections
--------------------
From the NSAPMGK 2002 table shipped as ``d2oflux/data/xsec/nu_d_nsapmgk2002.csv`` (S. Nakamura, T. Sato,
S. Ando, T.-S. Park, F. Myhrer, V. Gudkov, K. Kubodera, Nucl. Phys. A 707, 561 (2002),
arXiv:nucl-th/0201062; provenance in the file header), interpolated log-log (:mod:`.tables`). The
table stops at 170 MeV; above it ``sigma`` raises ``ValueError``.

* ``nue_d_cc`` (nu_e d -> e- p p), threshold 1.442 MeV. Relative uncertainty 3 %: NSAPMGK claim ~1 %
  at solar energies, and the chiral-EFT results (Baroni & Schiavilla 2017, arXiv:1704.02002;
  Acharya & Bacca 2020, arXiv:1911.12659) lie ~2 % higher with 2-3 % uncertainty up to 100-150 MeV
  (docs/physics.md §3).
* ``nc_d`` (nu d -> nu p n), threshold 2.224 MeV; flavour independent (one object per flavour, the
  neutrino and antineutrino columns of the table).
* ``nuebar_d_cc`` (anti-nu_e d -> e+ n n), threshold 4.033 MeV.

Radiative corrections (not in the table; the CC one is ON by default)
---------------------------------------------------------------------
* NC: ``radiative_factor`` multiplies sigma; the O(alpha) QED + electroweak correction for the NC
  reaction is 1.017 (:data:`NC_RADIATIVE_FACTOR`, Fukugita & Kubota, arXiv:hep-ph/0509123, for
  m_H = 1.5 m_Z).
* CC (both): ``radiative_correction=True`` (the default) multiplies the electron (positron) spectrum by
  the universal O(alpha) correction of Kurylov, Ramsey-Musolf & Vogel (arXiv:hep-ph/0211306, PRC 67,
  035502 (2003)) in its simple form valid for E_e >~ 1 MeV,
  ``1 + alpha/pi [6.00 + 3/2 ln(m_p / (2 E_e)) + 1.2 (m_e/E_e)^1.5]`` (E_e total electron energy).
  We could not read the KRV paper itself here: the expression is the one the GENIE generator codes
  for inverse beta decay citing KRV (PRC 65, 055501 and PRC 67, 035502), and KRV state that one
  universal function describes CC reactions with an e-/e+ in the final state, the deuteron included.
  Folded with our electron spectrum it raises the CC total by 2.9 % at 10 MeV, 2.4 % at 30 MeV and
  2.25 % at 50 MeV; averaged over the piDAR nu_e flux, +2.36 %. The NSAPMGK table excludes it, so a flux
  measured with the bare table is biased high by that much: it is on by default.
  Fukugita & Kubota (arXiv:hep-ph/0509123) obtain different constant terms for the Gamow-Teller
  transition; the difference between the two evaluations is carried as a separate 1 % normalisation
  nuisance (:data:`REL_UNCERTAINTY_RADIATIVE`, ``xsec_nud_radiative`` in the likelihood) on top of
  ``rel_uncertainty``. ``radiative_correction=False`` (CLI ``--no-radiative-corrections``) gives the bare table.

Final-state kinematics (the visible spectrum) -- approximation, documented
---------------------------------------------------------------------------
No public double-differential table may be redistributed (docs/physics.md §3), so the CC lepton
spectrum is modelled as allowed Gamow-Teller phase space with the two-nucleon final-state
interaction (FSI):

    d sigma / dT_e  ∝  p_e E_e F(Z, E_e)  < rho_NN(E_NN) >_angle ,
    E_NN = E_nu - Q - T_e - q^2 / (4 m_N)        (Q = 2 m_N + m_e - m_d)

* ``F(Z, E_e)``: non-relativistic Fermi function ``2 pi eta / (1 - exp(-2 pi eta))``,
  ``eta = Z alpha E_e / p_e``, with Z = 2 for the pp pair (Z = 0, i.e. F = 1, for e+ n n).
* ``rho_NN(E) ∝ k |1/J(k)|^2``: two-body phase space (``∝ k``, relative momentum
  ``k = sqrt(m_N E)``) times the Watson-Migdal enhancement from the effective-range expansion.
  For pp the Coulomb-modified expansion (e.g. Bethe 1949; Jackson & Blatt 1950)
  ``C^2(eta) k cot(delta) + alpha m_p h(eta) = -1/a + r k^2 / 2``, with
  ``eta = alpha m_p / (2 k)``, ``C^2 = 2 pi eta / (exp(2 pi eta) - 1)``,
  ``h = Re psi(1 + i eta) - ln eta``, gives
  ``|1/J|^2 = C^2 / [(-1/a + r k^2/2 - alpha m_p h)^2 + k^2 C^4]``; for nn (no Coulomb)
  ``1 / [(-1/a + r k^2/2)^2 + k^2]``. Parameters: Machleidt & Slaus, J. Phys. G 27, R69 (2001):
  a_pp = -7.8196 fm, r_pp = 2.790 fm (Coulomb-modified); a_nn = -18.9 fm, r_nn = 2.75 fm.
* The recoil of the NN pair, ``q^2/(4 m_N)`` with ``q^2 = E_nu^2 + p_e^2 - 2 E_nu p_e cos(theta)``,
  is averaged over the allowed-GT angular distribution ``1 - (1/3) beta cos(theta)``
  (8-point Gauss-Legendre). It is ~1 MeV at 50 MeV and shifts the spectrum end point accordingly.
* Neglected: the momentum-transfer dependence of the nuclear matrix element (deuteron form factor,
  first-forbidden and two-body-current contributions), relativistic corrections to the NN phase
  space, and the breakdown of the effective-range expansion at E_NN >~ 10 MeV (only the tail).
  The result is normalised per neutrino energy to the tabulated total, so these affect only the
  *shape*. Its accuracy is not established against a full calculation: treat the shape as an
  approximation (a few % on the mean electron energy at 50 MeV is a reasonable guess, not a
  measurement).

The NC reaction is seen only through the neutron: captured on a deuteron it gives a 6.257 MeV gamma
(d(n,gamma)t Q-value from the AME2020 binding energies of t and d). The capture probability on d
depends on the detector: the rate engine computes it per detector from its D2O geometry with the
age-diffusion model of :mod:`d2oflux.neutron_capture` (d2o-module1: 0.008; most neutrons leave the
D2O and capture on H, 2.2 MeV, below any Cherenkov threshold). NC rows sum to that probability.
"""

from __future__ import annotations

import math
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from d2oflux.constants import ALPHA_EM, HBARC_MEV_FM, M_D_MEV, M_E_MEV, M_N_MEV, M_P_MEV
from d2oflux.xsec.base import (
    as_energy_array,
    bin_fractions_from_cdf,
    check_below,
    delta_spectrum,
    grid_cdf_lookup,
    log_grid_weights,
)
from d2oflux.xsec.channel import SUPPORTED_FLAVOURS, Channel, register_channel
from d2oflux.xsec.tables import (
    TableBackedCrossSection,
    TabulatedCrossSection,
    read_csv_columns,
)

#: The shipped NSAPMGK 2002 table (provenance in its header).
NSAPMGK_FILE = "nu_d_nsapmgk2002.csv"

NSAPMGK_CITATION = (
    "S. Nakamura et al. (NSAPMGK), Nucl. Phys. A 707, 561 (2002), arXiv:nucl-th/0201062; table as "
    "published on the authors' web page (transcribed in mschwen/sngen dat/xsect/Kubodera/nsapmgk.dat)"
)

#: Thresholds quoted with the table (file header; docs/physics.md §1) [MeV].
THRESHOLD_CC_MEV = 1.442
THRESHOLD_NC_MEV = 2.224
THRESHOLD_CCBAR_MEV = 4.033

#: Q-values from the masses in d2oflux.constants (PDG/CODATA): nu_e d -> e- p p and
#: anti-nu_e d -> e+ n n; the electron kinetic energy is at most E - Q (less the NN recoil).
Q_CC_MEV = 2 * M_P_MEV + M_E_MEV - M_D_MEV  # 1.4422 MeV
Q_CCBAR_MEV = 2 * M_N_MEV + M_E_MEV - M_D_MEV  # 4.0289 MeV

#: Relative uncertainty of the CC cross section: 2-3 % (NSAPMGK ~1 %; chiral EFT ~2 % higher with
#: 2-3 % uncertainty: Baroni & Schiavilla 2017 arXiv:1704.02002, Acharya & Bacca 2020 arXiv:1911.12659).
REL_UNCERTAINTY_CC = 0.03

#: NC radiative-correction factor (Fukugita & Kubota, arXiv:hep-ph/0509123, m_H = 1.5 m_Z).
NC_RADIATIVE_FACTOR = 1.017

#: Relative uncertainty of the CC radiative correction: the KRV (hep-ph/0211306) versus Fukugita-Kubota
#: (hep-ph/0509123) evaluations of the O(alpha) correction to nu_e d CC differ at the ~1 % level in the
#: total cross section (the size the issue-8 review asked to carry; module docstring).
REL_UNCERTAINTY_RADIATIVE = 0.01

#: d(n,gamma)t gamma energy = B(t) - B(d) = 8.481798 - 2.224566 MeV (AME2020: M. Wang et al.,
#: Chin. Phys. C 45, 030003 (2021)); the recoil of the triton (~7 keV) is neglected.
E_GAMMA_ND_MEV = 8.481798 - 2.224566

#: Probability that an NC neutron is captured on a deuteron when no detector is given (the registry's
#: default objects): the d2o-module1 value of d2oflux.neutron_capture (0.0083), rounded. The rate engine
#: replaces it by the value for each detector's geometry.
DEFAULT_ND_CAPTURE_PROBABILITY = 0.008

#: Effective-range parameters (Machleidt & Slaus, J. Phys. G 27, R69 (2001)) [fm].
A_PP_FM, R_PP_FM = -7.8196, 2.790  # Coulomb-modified pp 1S0
A_NN_FM, R_NN_FM = -18.9, 2.75  # nn 1S0


def nsapmgk_table(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """The NSAPMGK columns ``E_MeV, nc_nu_d_cm2, nc_nubar_d_cm2, cc_nue_d_cm2, cc_nuebar_d_cm2``."""
    if path is None:
        path = Path(str(resources.files("d2oflux") / "data" / "xsec" / NSAPMGK_FILE))
    return read_csv_columns(path)


# ------------------------------------------------------------------------------------------------
# two-nucleon final state and lepton phase space
# ------------------------------------------------------------------------------------------------
def nn_fsi_density(E_NN_MeV: ArrayLike, pair: str = "pp") -> np.ndarray:
    """Unnormalised density of the NN relative kinetic energy: ``k |1/J(k)|^2`` (module docstring).

    ``pair`` is ``"pp"`` (Coulomb-modified effective range expansion) or ``"nn"``. Zero for E <= 0.
    """
    E = np.asarray(E_NN_MeV, dtype=float)
    out = np.zeros(E.shape)
    ok = E > 0
    if not ok.any():
        return out
    if pair == "pp":
        m, a, r = M_P_MEV, A_PP_FM, R_PP_FM
    elif pair == "nn":
        m, a, r = M_N_MEV, A_NN_FM, R_NN_FM
    else:
        raise ValueError(f"pair must be 'pp' or 'nn', got {pair!r}")
    p = np.sqrt(m * E[ok])  # relative momentum [MeV]: E = k^2 / (2 mu), mu = m/2
    k = p / HBARC_MEV_FM  # [fm^-1]
    K = -1.0 / a + 0.5 * r * k**2
    if pair == "pp":
        eta = ALPHA_EM * m / (2.0 * p)
        x = 2.0 * np.pi * eta
        with np.errstate(over="ignore"):
            C2 = x / np.expm1(x)
        from scipy.special import psi  # lazily: `d2oflux rates` with a warm rate cache never imports scipy

        h = psi(1.0 + 1j * eta).real - np.log(eta)
        K = K - ALPHA_EM * m / HBARC_MEV_FM * h
        out[ok] = k * C2 / (K**2 + k**2 * C2**2)
    else:
        out[ok] = k / (K**2 + k**2)
    return out


def fermi_function(Z: float, T_MeV: ArrayLike) -> np.ndarray:
    """Non-relativistic Fermi function ``2 pi eta / (1 - exp(-2 pi eta))``, ``eta = Z alpha E/p``.

    ``Z > 0`` for an electron leaving a positive final nucleus; ``Z = 0`` gives 1.
    """
    T = np.asarray(T_MeV, dtype=float)
    if Z == 0:
        return np.ones(T.shape)
    Ee = T + M_E_MEV
    pe = np.sqrt(np.maximum(T * (T + 2 * M_E_MEV), 1e-300))
    x = 2.0 * np.pi * Z * ALPHA_EM * Ee / pe
    return x / -np.expm1(-x)


def krv_radiative_factor(T_MeV: ArrayLike) -> np.ndarray:
    """KRV universal O(alpha) correction to d sigma/dE_e (simple form, E_e >~ 1 MeV), module docstring."""
    Ee = np.asarray(T_MeV, dtype=float) + M_E_MEV
    return 1.0 + ALPHA_EM / np.pi * (6.00 + 1.5 * np.log(M_P_MEV / (2.0 * Ee)) + 1.2 * (M_E_MEV / Ee) ** 1.5)


def cc_electron_cos_theta_pdf(cos_theta: ArrayLike, T_MeV: ArrayLike) -> np.ndarray:
    """Allowed Gamow-Teller angular distribution of the CC lepton, normalised on cos(theta) in [-1, 1]:
    ``(1 - beta cos(theta) / 3) / 2`` (backward-peaked; docs/physics.md §3). Zero outside [-1, 1]."""
    c = np.asarray(cos_theta, dtype=float)
    T = np.asarray(T_MeV, dtype=float)
    beta = np.sqrt(np.maximum(T * (T + 2 * M_E_MEV), 0.0)) / (T + M_E_MEV)
    out = 0.5 * (1.0 - beta * c / 3.0)
    return np.where(np.abs(c) <= 1.0, out, 0.0)


class _CCSpectrum:
    """Electron (positron) kinetic-energy spectrum for nu d CC: precomputed CDF table.

    The density is tabulated on a grid of X = E_nu - Q (log-spaced) times a grid in
    s = sqrt(E_NN_nominal / X) (uniform, dense where the pp FSI peak sits), with E_NN_nominal =
    X - T; CDFs are cumulative trapezoids normalised per row, interpolated linearly in log X and in s.
    """

    N_S = 401
    N_X = 360
    N_COS = 8

    def __init__(self, Q: float, pair: str, Z: float, nucleon_mass: float, E_max: float, radiative: bool):
        self.Q, self.pair, self.Z, self.mN = Q, pair, Z, nucleon_mass
        self.radiative = radiative
        self.E_max = E_max
        # 1-D table of the NN density (dense near 0, where the FSI peak is)
        u = np.linspace(0.0, 1.0, 4001)
        self._epp = (E_max + 5.0) * u**3
        self._rho = nn_fsi_density(self._epp, pair)
        self._cos, w = np.polynomial.legendre.leggauss(self.N_COS)
        self._wcos = 0.5 * w
        self._logX = np.linspace(math.log(1e-4), math.log(E_max - Q), self.N_X)
        self._s = np.linspace(0.0, 1.0, self.N_S)
        self._build()

    def rho(self, E_NN: np.ndarray) -> np.ndarray:
        return np.interp(E_NN, self._epp, self._rho, left=0.0, right=0.0)

    def density(self, E: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Unnormalised d sigma/dT at (E, T) (broadcast), including the angle-averaged recoil."""
        E, T = np.broadcast_arrays(np.asarray(E, float), np.asarray(T, float))
        Tc = np.maximum(T, 0.0)
        Ee = Tc + M_E_MEV
        pe = np.sqrt(Tc * (Tc + 2 * M_E_MEV))
        beta = pe / Ee
        x = E - self.Q - Tc
        acc = np.zeros(E.shape)
        p2_sum = E**2 + pe**2  # q^2 = E^2 + pe^2 - 2 E pe cos: the cos-independent factors, once
        two_E_pe = 2.0 * E * pe
        for c, w in zip(self._cos, self._wcos, strict=True):
            q2 = p2_sum - two_E_pe * c
            acc += w * (1.0 - beta * c / 3.0) * self.rho(x - q2 / (4.0 * self.mN))
        g = pe * Ee * fermi_function(self.Z, Tc) * acc
        if self.radiative:
            g = g * krv_radiative_factor(Tc)
        return np.where((T >= 0) & (x > 0), g, 0.0)

    def _build(self) -> None:
        X = np.exp(self._logX)[:, None]
        s = self._s[None, :]
        xnom = X * s**2  # nominal E_NN
        T = X - xnom
        E = X + self.Q
        g = self.density(np.broadcast_to(E, T.shape), T)
        # integrate in x = X s^2: dx = 2 X s ds
        f = g * 2.0 * X * s
        ds = self._s[1] - self._s[0]
        cum = np.concatenate([np.zeros((f.shape[0], 1)), np.cumsum(0.5 * (f[:, 1:] + f[:, :-1]) * ds, axis=1)], 1)
        norm = cum[:, -1].copy()
        norm[norm <= 0] = 1.0
        self._norm = norm  # integral of the unnormalised density over T
        self._cdf_x = cum / norm[:, None]  # P(E_NN_nominal <= X s^2)
        if self.radiative:
            # sigma multiplier: the spectrum-averaged KRV factor = int g / int g(no rc)
            g0 = g / krv_radiative_factor(np.maximum(T, 0.0))
            f0 = g0 * 2.0 * X * s
            n0 = np.sum(0.5 * (f0[:, 1:] + f0[:, :-1]) * ds, axis=1)
            n0[n0 <= 0] = 1.0
            self._rc_total = norm / n0
        else:
            self._rc_total = np.ones_like(norm)

    def _row_weights(self, E: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        X_min = np.exp(self._logX[0])
        X = np.maximum(E - self.Q, X_min)
        i, w = log_grid_weights(X, self._logX, X_min)
        return X, i, w

    def rc_total(self, E: np.ndarray) -> np.ndarray:
        _, i, w = self._row_weights(E)
        return (1 - w) * self._rc_total[i] + w * self._rc_total[i + 1]

    def norm(self, E: np.ndarray) -> np.ndarray:
        _, i, w = self._row_weights(E)
        return np.exp((1 - w) * np.log(self._norm[i]) + w * np.log(self._norm[i + 1]))

    def cdf_T(self, E: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(T_e <= T) for each row E (shape (n,)) at T (shape (n, m) or (m,))."""
        E = np.asarray(E, float)
        X, i, w = self._row_weights(E)
        T = np.asarray(T, float)
        T = T[None, :] if T.ndim == 1 else T
        s = np.sqrt(np.clip((X[:, None] - T) / X[:, None], 0.0, 1.0))
        cx = grid_cdf_lookup(self._cdf_x, i, w, s * (self.N_S - 1))
        return 1.0 - cx


class _DeuteronCC(TableBackedCrossSection):
    """Common code of the two CC reactions on the deuteron."""

    _column: str
    _Q: float
    _pair: str
    _Z: float
    _mN: float

    def __init__(
        self,
        *,
        radiative_correction: bool = True,
        rel_uncertainty: float = REL_UNCERTAINTY_CC,
        table_path: str | Path | None = None,
        interpolation: str = "loglog",
    ) -> None:
        cols = nsapmgk_table(table_path)
        self._table = TabulatedCrossSection(
            cols["E_MeV"],
            cols[self._column],
            name=self.name,
            flavour=self.flavour,
            target="deuteron",
            rel_uncertainty=rel_uncertainty,
            citation=NSAPMGK_CITATION,
            threshold_MeV=self.threshold_MeV,
            interpolation=interpolation,
            source=f"{NSAPMGK_FILE}:{self._column}",
        )
        self.target = "deuteron"
        self.rel_uncertainty = float(rel_uncertainty)
        self.radiative_correction = bool(radiative_correction)
        self.E_max_MeV = self._table.E_max_MeV
        self.citation = NSAPMGK_CITATION + (
            "; radiative correction: Kurylov, Ramsey-Musolf, Vogel, arXiv:hep-ph/0211306"
            if radiative_correction
            else ""
        )

    @cached_property
    def _spectrum(self) -> _CCSpectrum:
        return _CCSpectrum(self._Q, self._pair, self._Z, self._mN, self.E_max_MeV, self.radiative_correction)

    def _sigma(self, E: np.ndarray) -> np.ndarray:
        s = self._table.sigma(E)
        if self.radiative_correction:
            s = s * self._spectrum.rc_total(E)
        return s

    def _visible_spectrum(self, E: np.ndarray, edges: np.ndarray) -> np.ndarray:
        cdf = self._spectrum.cdf_T(E, edges)
        return bin_fractions_from_cdf(cdf)

    def T_pdf(self, E_MeV: ArrayLike, T_MeV: ArrayLike) -> np.ndarray:
        """Normalised density of the lepton kinetic energy [1/MeV] (E and T broadcast)."""
        E, T = np.broadcast_arrays(as_energy_array(E_MeV), np.asarray(T_MeV, dtype=float))
        check_below(E, self.E_max_MeV, self.name)
        sp = self._spectrum
        flatE, flatT = E.ravel(), T.ravel()
        out = np.zeros(flatE.shape)
        ok = flatE > max(self.threshold_MeV, self._Q)
        if ok.any():
            out[ok] = sp.density(flatE[ok], flatT[ok]) / sp.norm(flatE[ok])
        return out.reshape(E.shape)


class NueDeuteronCC(_DeuteronCC):
    """nu_e d -> e- p p (``nue_d_cc``): NSAPMGK total, GT + pp-FSI electron spectrum.

    Parameters: ``radiative_correction`` (KRV factor, default True: see module docstring),
    ``rel_uncertainty`` (default 0.03), ``table_path`` (alternative CSV in the NSAPMGK format),
    ``interpolation`` (of the table, default log-log).
    """

    name = "nue_d_cc"
    flavour = "nu_e"
    threshold_MeV = THRESHOLD_CC_MEV
    visible_particle = "electron"
    _column = "cc_nue_d_cm2"
    _Q = Q_CC_MEV
    _pair = "pp"
    _Z = 2.0
    _mN = M_P_MEV


class NuebarDeuteronCC(_DeuteronCC):
    """anti-nu_e d -> e+ n n (``nuebar_d_cc``): NSAPMGK total, GT + nn-FSI positron spectrum (F = 1)."""

    name = "nuebar_d_cc"
    flavour = "anti_nu_e"
    threshold_MeV = THRESHOLD_CCBAR_MEV
    visible_particle = "positron"
    _column = "cc_nuebar_d_cm2"
    _Q = Q_CCBAR_MEV
    _pair = "nn"
    _Z = 0.0
    _mN = M_N_MEV


class DeuteronNC(TableBackedCrossSection):
    """nu d -> nu p n (``nc_d``) for one flavour; the neutron capture on d gives the visible gamma.

    Parameters
    ----------
    flavour : str
        Any neutrino or antineutrino flavour (NC is flavour independent; the antineutrino column of the
        table is used for antineutrinos).
    capture_probability : float
        Probability that the neutron is captured on a deuteron in the D2O (default
        :data:`DEFAULT_ND_CAPTURE_PROBABILITY`; the rate engine passes the value of
        :func:`d2oflux.neutron_capture.detector_capture_fractions`). Rows of the visible spectrum sum to it.
    gamma_energy_MeV : float
        Energy of the capture gamma (default 6.257 MeV).
    radiative_factor : float
        Multiplies sigma (default 1; :data:`NC_RADIATIVE_FACTOR` = 1.017 is Fukugita & Kubota's value).
    rel_uncertainty : float
        Default 0.03 (as CC; the NC/CC ratio is even more stable, NSGK nucl-th/0009012).
    """

    name = "nc_d"
    target = "deuteron"
    threshold_MeV = THRESHOLD_NC_MEV
    visible_particle = "gamma"

    def __init__(
        self,
        flavour: str,
        *,
        capture_probability: float = DEFAULT_ND_CAPTURE_PROBABILITY,
        gamma_energy_MeV: float = E_GAMMA_ND_MEV,
        radiative_factor: float = 1.0,
        rel_uncertainty: float = REL_UNCERTAINTY_CC,
        table_path: str | Path | None = None,
        interpolation: str = "loglog",
    ) -> None:
        if not 0.0 <= capture_probability <= 1.0:
            raise ValueError(f"capture_probability must be in [0, 1], got {capture_probability!r}")
        anti = flavour.startswith("anti_")
        column = "nc_nubar_d_cm2" if anti else "nc_nu_d_cm2"
        cols = nsapmgk_table(table_path)
        self._table = TabulatedCrossSection(
            cols["E_MeV"],
            cols[column],
            name=self.name,
            flavour=flavour,
            target=self.target,
            rel_uncertainty=rel_uncertainty,
            citation=NSAPMGK_CITATION,
            threshold_MeV=self.threshold_MeV,
            interpolation=interpolation,
            scale=radiative_factor,
            source=f"{NSAPMGK_FILE}:{column}",
        )
        self.flavour = flavour
        self.capture_probability = float(capture_probability)
        self.gamma_energy_MeV = float(gamma_energy_MeV)
        self.radiative_factor = float(radiative_factor)
        self.rel_uncertainty = float(rel_uncertainty)
        self.E_max_MeV = self._table.E_max_MeV
        self.citation = NSAPMGK_CITATION + "; n capture on d: age-diffusion model (d2oflux.neutron_capture)"

    def _visible_spectrum(self, E: np.ndarray, edges: np.ndarray) -> np.ndarray:
        return self.capture_probability * delta_spectrum(E.size, edges, self.gamma_energy_MeV)


# ------------------------------------------------------------------------------------------------
# functions for the event generator
# ------------------------------------------------------------------------------------------------
_DEFAULT_CC: NueDeuteronCC | None = None


def _default_cc() -> NueDeuteronCC:
    global _DEFAULT_CC
    if _DEFAULT_CC is None:
        _DEFAULT_CC = NueDeuteronCC()
    return _DEFAULT_CC


def cc_electron_T_pdf(E_MeV: ArrayLike, T_MeV: ArrayLike) -> np.ndarray:
    """Normalised density [1/MeV] of the electron kinetic energy in nu_e d -> e- p p at neutrino energy
    ``E_MeV`` (GT phase space with pp FSI and angle-averaged recoil; module docstring). Broadcasts."""
    return _default_cc().T_pdf(E_MeV, T_MeV)


# ------------------------------------------------------------------------------------------------
# channels (d2oflux.xsec.channel)
# ------------------------------------------------------------------------------------------------
_NSAPMGK_ARXIV = ("nucl-th/0201062",)
register_channel(
    Channel(
        name="nue_d_cc",
        target="deuteron",
        flavours=("nu_e",),
        factory=lambda flavour, o16_model, **options: NueDeuteronCC(**options),
        final_state="nu_e d -> e- p p (CC on the deuteron; GT + pp FSI)",
        process_id=100,
        arxiv=_NSAPMGK_ARXIV,
        nuisances=("xsec_nud", "deuteron_count", "xsec_nud_radiative"),
        label=r"$\nu_e d \to e^- p p$ (signal)",
        plot_group="signal",
        run_options=("radiative_correction",),
    )
)
register_channel(
    Channel(
        name="nuebar_d_cc",
        target="deuteron",
        flavours=("anti_nu_e",),
        factory=lambda flavour, o16_model, **options: NuebarDeuteronCC(**options),
        final_state="anti-nu_e d -> e+ n n (CC on the deuteron; GT + nn FSI)",
        process_id=101,
        arxiv=_NSAPMGK_ARXIV,
        nuisances=("xsec_nud", "deuteron_count", "xsec_nud_radiative"),
        label=r"$\bar\nu_e d$ CC",
        plot_group="other reactions on deuterons",
        run_options=("radiative_correction",),
    )
)
register_channel(
    Channel(
        name="nc_d",
        target="deuteron",
        flavours=SUPPORTED_FLAVOURS,
        factory=lambda flavour, o16_model, **options: DeuteronNC(flavour, **options),
        final_state="nu d -> nu p n (NC on the deuteron; GT + np FSI)",
        process_id=150,
        arxiv=_NSAPMGK_ARXIV,
        nuisances=("xsec_nud", "deuteron_count"),
        label=r"NC on $d$",
        plot_group="other reactions on deuterons",
        run_options=("capture_probability",),
    )
)
