"""Neutrino-electron elastic scattering, nu e- -> nu e-, for nu_e, anti-nu_e, nu_mu, anti-nu_mu.

Differential cross section in the electron kinetic energy T (exact tree kinematics,
``0 <= T <= T_max = 2 E^2 / (m_e + 2 E)``), with ``z = T/E``:

    d sigma / dT = (2 G_F^2 m_e / pi) [ g1^2 (1 + a f_-(z)) + g2^2 ((1 - z)^2 + a f_+(z))
                                        - g1 g2 (m_e / E) z (1 + a f_+-(z)) ],     a = alpha/pi

with ``(g1, g2) = (g_L, g_R)`` for neutrinos and ``(g_R, g_L)`` for antineutrinos ('t Hooft 1971;
Bahcall, Kamionkowski & Sirlin, PRD 51, 6146 (1995), astro-ph/9502003, hereafter BKS, eq. (A1)).

Radiative corrections (default, ``radiative_corrections=True``), BKS Appendix A, the same numbers as
Marciano & Parsa, J. Phys. G 29, 2629 (2003), hep-ph/0403168:

* electroweak: ``g_L = rho (1/2 - kappa s^2) - 1`` (nu_e; the -1 is the W exchange),
  ``g_L = rho (1/2 - kappa s^2)`` (nu_mu), ``g_R = -rho kappa s^2`` (overall sign irrelevant),
  with ``rho_NC = 1.0126``, ``kappa_nue(T) = 0.9791 + 0.0097 I(T)``,
  ``kappa_numu(T) = 0.9970 - 0.00037 I(T)``,
  ``I(T) = 1/6 [1/3 + (3 - x^2)(x/2 ln((x+1)/(x-1)) - 1)]``, ``x = sqrt(1 + 2 m_e/T)``, and
  ``s^2 = sin^2 theta_W(M_Z), MS-bar = 0.2312`` (PDG electroweak review; the value with which these
  kappa were computed, as in SNO's QSNO code);
* QED (virtual + bremsstrahlung, electron spectrum): the functions f_-(z), f_+(z) (which includes the
  (1-z)^2 factor) and f_+-(z) of BKS eqs. (A2)-(A4), written with
  ``L(x) = int_0^x ln|1-t|/t dt = -Li2(x)``. They make the total ~1 % smaller and soften the spectrum
  near its end point (where f diverges logarithmically; the density is clipped at zero there).

The implementation follows the formulae as printed in BKS and as coded in SNO's QSNO ``PNuE.cxx``
(transcribed in the public repository mschwen/sngen, dat/xsect/es_qsno/), which we used to check our
reading of them. Cross-checks (tests): at tree level against the closed-form integral; with radiative
corrections against SNOwGLoBES ``xs_nue_e.dat`` (Marciano-Parsa eqs. (43)-(44): the same rho and kappa
at T = 0 and the E >> m_e limit of the QED corrections) to better than 0.5 %. Tree level with
``sin^2 theta_W(0) = 0.23857`` alone is ~5 % off (docs/physics.md §3.3). ``rel_uncertainty`` = 0.01:
Tomalak & Hill (arXiv:1907.03379) quote 0.2-0.4 % for their full calculation; 1 % covers the
difference between this BKS-level treatment and theirs (an assumption).

``radiative_corrections=False`` gives the tree-level formula with ``g_L = +-1/2 + s^2``,
``g_R = s^2`` and ``s^2 = sin^2 theta_W(0) = 0.23857`` (overridable), whose CDF in T is polynomial
and used analytically. With radiative corrections the CDF is integrated numerically once per object
on a grid (log E x uniform z) and interpolated.

Electron direction: ``cos(theta) = (1 + m_e/E) sqrt(T / (T + 2 m_e))`` (:func:`electron_cos_theta`).
"""

from __future__ import annotations

import hashlib
from functools import cache, cached_property

import numpy as np
from numpy.typing import ArrayLike

from d2oflux.constants import ALPHA_EM, G_F_MEV2, HBARC_MEV_CM, M_E_MEV, SIN2_THETA_W_ZERO
from d2oflux.xsec.base import (
    CrossSection,
    as_energy_array,
    bin_fractions_from_cdf,
    check_below,
    grid_cdf_lookup,
    log_grid_weights,
)
from d2oflux.xsec.channel import Channel, register_channel

#: 2 G_F^2 m_e / pi in cm^2 / MeV.
SIGMA0_CM2_PER_MEV = 2.0 * G_F_MEV2**2 * M_E_MEV / np.pi * HBARC_MEV_CM**2

#: sin^2 theta_W(M_Z) in the MS-bar scheme, 0.2312 (PDG electroweak model review; stable at this
#: precision 2004-2024). Used with the BKS / Marciano-Parsa rho and kappa below.
SIN2_THETA_W_MZ_MSBAR = 0.2312
#: rho_NC for nu-lepton scattering (Marciano & Parsa 2003; BKS 1995).
RHO_NC = 1.0126
#: kappa(T) = K0 + K1 * I(T) (BKS 1995 eq. (A5)-(A6); Marciano & Parsa 2003 give the T = 0 values).
KAPPA_NUE = (0.9791, 0.0097)
KAPPA_NUMU = (0.9970, -0.00037)
#: Relative uncertainty (assumption; Tomalak & Hill arXiv:1907.03379 quote 0.2-0.4 % for the full theory).
REL_UNCERTAINTY_ES = 0.01
#: Upper end of the valid range (assumption: far below the inverse-muon-decay threshold ~11 GeV).
ES_E_MAX_MEV = 1000.0
#: Below this neutrino energy (1 eV) the cross section is set to zero (avoids 0/0 in T/T_max).
_E_MIN_MEV = 1e-6

ES_NAMES = {"nu_e": "es_nue", "anti_nu_e": "es_nuebar", "nu_mu": "es_numu", "anti_nu_mu": "es_anumu"}

_BKS_CITATION = (
    "'t Hooft 1971; radiative corrections: J.N. Bahcall, M. Kamionkowski, A. Sirlin, PRD 51, 6146 (1995), "
    "astro-ph/9502003, App. A; W.J. Marciano, Z. Parsa, J. Phys. G 29, 2629 (2003), hep-ph/0403168"
)


def T_max(E_MeV: ArrayLike) -> np.ndarray:
    """Maximum electron kinetic energy ``2 E^2 / (m_e + 2 E)`` [MeV]."""
    E = np.asarray(E_MeV, dtype=float)
    return 2.0 * E**2 / (M_E_MEV + 2.0 * E)


def electron_cos_theta(E_MeV: ArrayLike, T_MeV: ArrayLike) -> np.ndarray:
    """Cosine of the electron angle to the neutrino direction: ``(1 + m_e/E) sqrt(T/(T + 2 m_e))``."""
    E = np.asarray(E_MeV, dtype=float)
    T = np.asarray(T_MeV, dtype=float)
    return (1.0 + M_E_MEV / E) * np.sqrt(T / (T + 2.0 * M_E_MEV))


def _L(x: np.ndarray) -> np.ndarray:
    """``int_0^x ln|1 - t| / t dt = -Li2(x)`` for x <= 1 (scipy: Li2(x) = spence(1 - x))."""
    from scipy.special import spence  # lazily: `d2oflux rates` with a warm rate cache never imports scipy

    return -spence(1.0 - x)


def _I(T: np.ndarray) -> np.ndarray:
    """BKS I(T) entering kappa(T)."""
    x = np.sqrt(1.0 + 2.0 * M_E_MEV / T)
    return (1.0 / 6.0) * (1.0 / 3.0 + (3.0 - x * x) * (0.5 * x * np.log((x + 1.0) / (x - 1.0)) - 1.0))


def qed_functions(E_nu: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BKS QED functions ``f_-``, ``f_+`` (including the (1-z)^2 factor) and ``f_+-`` at (E_nu, T)."""
    me = M_E_MEV
    z = T / E_nu
    Ee = T + me
    el = np.sqrt(Ee * Ee - me * me)
    A = Ee / el * np.log((Ee + el) / me) - 1.0
    arg = np.maximum(1.0 - z - me / (Ee + el), 1e-300)
    lnarg = np.log(arg)
    l1z = np.log1p(-z)
    lz = np.log(z)
    r = el / Ee
    fm = (
        A * (2.0 * lnarg - l1z - 0.5 * lz - 5.0 / 12.0)
        + 0.5 * (_L(z) - _L(r))
        - 0.5 * l1z * l1z
        - (11.0 / 12.0 + 0.5 * z) * l1z
        + z * (lz + 0.5 * np.log(2.0 * E_nu / me))
        - (31.0 / 18.0 + lz / 12.0) * r
        - 11.0 / 12.0 * z
        + z * z / 24.0
    )
    omz = 1.0 - z
    fp = (
        A * (omz * omz * (2.0 * lnarg - l1z - 0.5 * lz - 2.0 / 3.0) - 0.5 * (z * z * lz + 1.0 - z))
        - 0.5 * omz * omz * (l1z * l1z + r * (_L(omz) - lz * l1z))
        + l1z * (0.5 * z * z * lz + omz / 3.0 * (2.0 * z - 0.5))
        - 0.5 * z * z * _L(omz)
        - z * (1.0 - 2.0 * z) / 3.0 * lz
        - z * omz / 6.0
        - r / 12.0 * (lz + omz * (115.0 - 109.0 * z) / 6.0)
    )
    fpm = A * 2.0 * lnarg
    return fm, fp, fpm


#: Flavour-independent radiative terms already computed: content hash of (E, T) -> (I, f_-, f_+, f_+-).
#: The four flavours (and the three Michel flavours' identical quadrature nodes) evaluate them on the same
#: points; each is computed once per process. Bounded: the oldest entry goes first.
_RADIATIVE_TERMS: dict[bytes, tuple[np.ndarray, ...]] = {}
_RADIATIVE_TERMS_MAX = 8


def _radiative_terms(E: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, ...]:
    """``I(max(T, 1e-12))`` and :func:`qed_functions` at (E, T) (same shape), memoised by content (read-only)."""
    E = np.ascontiguousarray(E, dtype=float)
    T = np.ascontiguousarray(T, dtype=float)
    h = hashlib.blake2b(repr(E.shape).encode(), digest_size=20)
    h.update(E.tobytes())
    h.update(T.tobytes())
    key = h.digest()
    terms = _RADIATIVE_TERMS.get(key)
    if terms is None:
        terms = (_I(np.maximum(T, 1e-12)), *qed_functions(E, T))
        for a in terms:
            a.setflags(write=False)
        if len(_RADIATIVE_TERMS) >= _RADIATIVE_TERMS_MAX:
            del _RADIATIVE_TERMS[next(iter(_RADIATIVE_TERMS))]
        _RADIATIVE_TERMS[key] = terms
    return terms


@cache
def _gauss_legendre_unit(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights of order ``n`` on [0, 1] (read-only; computed once per order)."""
    x, w = np.polynomial.legendre.leggauss(n)
    x, w = 0.5 * (x + 1.0), 0.5 * w
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


class NuElectronES(CrossSection):
    """nu e- -> nu e- for one flavour (``es_nue``, ``es_nuebar``, ``es_numu``, ``es_anumu``).

    Parameters
    ----------
    flavour : str
        One of :data:`~d2oflux.xsec.base.SUPPORTED_FLAVOURS`.
    radiative_corrections : bool
        BKS/Marciano-Parsa electroweak + QED corrections (default True), else tree level.
    sin2_theta_w : float, optional
        Default 0.2312 (MS-bar at M_Z) with radiative corrections, 0.23857 (q^2 = 0) at tree level.
    rho : float
        rho_NC (default 1.0126; radiative mode only).
    rel_uncertainty : float
        Default 0.01 (assumption, see module docstring).
    E_max_MeV : float
        Upper end of the valid range (default 1000 MeV).
    """

    target = "electron"
    threshold_MeV = 0.0
    visible_particle = "electron"

    N_U = 513
    N_LOGE = 240
    E_GRID_MIN = 0.05

    def __init__(
        self,
        flavour: str,
        *,
        radiative_corrections: bool = True,
        sin2_theta_w: float | None = None,
        rho: float = RHO_NC,
        rel_uncertainty: float = REL_UNCERTAINTY_ES,
        E_max_MeV: float = ES_E_MAX_MEV,
    ) -> None:
        if flavour not in ES_NAMES:
            raise ValueError(f"nu-e scattering: unsupported flavour {flavour!r} (supported: {', '.join(ES_NAMES)})")
        self.flavour = flavour
        self.name = ES_NAMES[flavour]
        self.radiative_corrections = bool(radiative_corrections)
        if sin2_theta_w is None:
            sin2_theta_w = SIN2_THETA_W_MZ_MSBAR if radiative_corrections else SIN2_THETA_W_ZERO
        self.sin2_theta_w = float(sin2_theta_w)
        self.rho = float(rho) if radiative_corrections else 1.0
        self.rel_uncertainty = float(rel_uncertainty)
        self.E_max_MeV = float(E_max_MeV)
        self._anti = flavour.startswith("anti_")
        self._electron_flavour = flavour.endswith("nu_e")
        self.citation = _BKS_CITATION if radiative_corrections else "'t Hooft 1971 (tree level)"

    # -- couplings --------------------------------------------------------------------------------
    def couplings(self, T_MeV: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(g1, g2)``: (g_L, g_R) for neutrinos, (g_R, g_L) for antineutrinos; T-dependent with RC."""
        if self.radiative_corrections:
            T = np.asarray(1.0 if T_MeV is None else T_MeV, dtype=float)
            return self._radiative_couplings(_I(np.maximum(T, 1e-12)))
        s2 = self.sin2_theta_w
        gL = np.asarray((0.5 if self._electron_flavour else -0.5) + s2)
        gR = np.asarray(s2)
        return (gR, gL) if self._anti else (gL, gR)

    def _radiative_couplings(self, I_T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`couplings` with radiative corrections, from ``I(T)`` (BKS eqs. (A5)-(A6))."""
        s2 = self.sin2_theta_w
        k0, k1 = KAPPA_NUE if self._electron_flavour else KAPPA_NUMU
        kappa = k0 + k1 * I_T
        gL = self.rho * (0.5 - kappa * s2) - (1.0 if self._electron_flavour else 0.0)
        gR = -self.rho * kappa * s2
        return (gR, gL) if self._anti else (gL, gR)

    # -- differential and total cross sections --------------------------------------------------------
    def dsigma_dT(self, E_MeV: ArrayLike, T_MeV: ArrayLike) -> np.ndarray:
        """d sigma / dT [cm^2/MeV] (E and T broadcast); zero outside 0 < T < T_max(E)."""
        E, T = np.broadcast_arrays(as_energy_array(E_MeV), np.asarray(T_MeV, dtype=float))
        check_below(E, self.E_max_MeV, self.name)
        ok = (E > _E_MIN_MEV) & (T > 0) & (T < T_max(np.maximum(E, 0.0)))
        out = np.zeros(E.shape)
        if ok.any():
            out[ok] = self._dsdT(E[ok], T[ok])
        return out

    def _dsdT(self, E: np.ndarray, T: np.ndarray) -> np.ndarray:
        z = T / E
        if not self.radiative_corrections:
            g1, g2 = self.couplings(T)
            val = g1 * g1 + g2 * g2 * (1.0 - z) ** 2 - g1 * g2 * M_E_MEV / E * z
        else:
            I_T, fm, fp, fpm = _radiative_terms(E, T)  # the same for every flavour: computed once
            g1, g2 = self._radiative_couplings(I_T)
            a = ALPHA_EM / np.pi
            val = (
                g1 * g1 * (1.0 + a * fm)
                + g2 * g2 * ((1.0 - z) ** 2 + a * fp)
                - g1 * g2 * M_E_MEV / E * z * (1.0 + a * fpm)
            )
        return SIGMA0_CM2_PER_MEV * np.maximum(val, 0.0)

    def _tree_cdf_unnorm(self, E: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Tree-level integral of d sigma/dT from 0 to T (T <= T_max), analytic [cm^2]."""
        g1, g2 = self.couplings()
        return SIGMA0_CM2_PER_MEV * (
            g1 * g1 * T + g2 * g2 * E / 3.0 * (1.0 - (1.0 - T / E) ** 3) - g1 * g2 * M_E_MEV * T * T / (2.0 * E * E)
        )

    def _sigma(self, flat: np.ndarray) -> np.ndarray:
        out = np.zeros(flat.shape)
        ok = flat > _E_MIN_MEV
        if ok.any():
            Eo = flat[ok]
            Tm = T_max(Eo)
            if not self.radiative_corrections:
                out[ok] = self._tree_cdf_unnorm(Eo, Tm)
            else:
                x, w = _gauss_legendre_unit(128)
                T = Tm[:, None] * x[None, :]
                out[ok] = Tm * (self._dsdT(np.broadcast_to(Eo[:, None], T.shape), T) @ w)
        return out

    # -- visible spectrum -----------------------------------------------------------------------------
    @cached_property
    def _cdf_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Normalised CDF in u = T/T_max on a (log E) x (uniform u) grid (radiative mode)."""
        logE = np.linspace(np.log(self.E_GRID_MIN), np.log(self.E_max_MeV), self.N_LOGE)
        u = np.linspace(0.0, 1.0, self.N_U)
        E = np.exp(logE)[:, None]
        # midpoint rule: the density is never evaluated at T_max, where the QED terms diverge (log)
        um = 0.5 * (u[1:] + u[:-1])[None, :]
        T = T_max(E) * um
        g = self._dsdT(np.broadcast_to(E, T.shape), T)
        cum = np.concatenate([np.zeros((g.shape[0], 1)), np.cumsum(g, axis=1)], 1)
        return logE, u, cum / cum[:, -1:]

    def _cdf(self, E: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(T_e <= T) for rows E (n,) at edges T (m,) -> (n, m)."""
        Tm = T_max(E)[:, None]
        if not self.radiative_corrections:
            Tc = np.clip(T[None, :], 0.0, Tm)
            return self._tree_cdf_unnorm(E[:, None], Tc) / self._tree_cdf_unnorm(E[:, None], Tm)
        logE, u, cdf = self._cdf_grid
        i, w = log_grid_weights(E, logE, self.E_GRID_MIN)
        return grid_cdf_lookup(cdf, i, w, T[None, :] * ((u.size - 1) / Tm))

    def _visible_spectrum(self, E: np.ndarray, edges: np.ndarray) -> np.ndarray:
        out = np.zeros((E.size, edges.size - 1))
        ok = E > _E_MIN_MEV
        if ok.any():
            out[ok] = bin_fractions_from_cdf(self._cdf(E[ok], edges))
        return out


# ------------------------------------------------------------------------------------------------
# channels (d2oflux.xsec.channel): one per flavour
# ------------------------------------------------------------------------------------------------
_ES_CHANNELS = {  # flavour: (NuHepMC process ID, final state, label)
    "nu_e": (700, "nu_e e- -> nu_e e- (elastic; CC + NC)", r"$\nu_e e$ ES"),
    "anti_nu_e": (701, "anti-nu_e e- -> anti-nu_e e- (elastic; CC + NC)", r"$\bar\nu_e e$ ES"),
    "nu_mu": (750, "nu_mu e- -> nu_mu e- (elastic; NC)", r"$\nu_\mu e$ ES"),
    "anti_nu_mu": (751, "anti-nu_mu e- -> anti-nu_mu e- (elastic; NC)", r"$\bar\nu_\mu e$ ES"),
}
for _flavour, (_pid, _final_state, _label) in _ES_CHANNELS.items():
    register_channel(
        Channel(
            name=ES_NAMES[_flavour],
            target="electron",
            flavours=(_flavour,),
            factory=lambda flavour, o16_model, **options: NuElectronES(flavour, **options),
            final_state=_final_state,
            process_id=_pid,
            arxiv=("astro-ph/9502003", "hep-ph/0403168"),
            label=_label,
            plot_group="neutrino-electron elastic scattering",
        )
    )
