"""Arrival times of the piDAR neutrinos after the proton pulse (docs/physics.md §2).

The proton-on-target (POT) profile is a Gaussian; nu_mu time = POT + Exp(tau_pi); nu_e and anti-nu_mu
time = POT + Exp(tau_pi) + Exp(tau_mu). The convolutions are exponentially modified Gaussians, in closed form
with the normal CDF (the parametrisation of :class:`scipy.stats.exponnorm`, K = tau/sigma; written here with
:mod:`scipy.special` so that the rate engine does not import :mod:`scipy.stats`, ~1 s). Units: ns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from . import constants as c
from .errors import ConfigError, require_positive


@dataclass(frozen=True)
class TimingModel:
    """Arrival-time distributions after the proton pulse, normalised to exactly 1 per flavour.

    Parameters
    ----------
    pot_mean_ns, pot_sigma_ns : float
        Mean and width of the Gaussian proton-on-target profile [ns] (COHERENT LAr release:
        440 ns in the DAQ clock, 150 ns).
    tau_pi_ns, tau_mu_ns : float
        Pion and muon mean lives [ns] (PDG).
    """

    pot_mean_ns: float = 440.0
    pot_sigma_ns: float = 150.0
    tau_pi_ns: float = c.TAU_PI_NS
    tau_mu_ns: float = c.TAU_MU_NS

    def __post_init__(self) -> None:
        require_positive(self.pot_sigma_ns, "pot_sigma_ns", "ns")
        require_positive(self.tau_pi_ns, "tau_pi_ns", "ns")
        require_positive(self.tau_mu_ns, "tau_mu_ns", "ns")

    def _emg(self, tau: float) -> ExpModGaussian:
        return ExpModGaussian(tau, self.pot_mean_ns, self.pot_sigma_ns)

    def pot_pdf(self, t_ns: ArrayLike) -> np.ndarray:
        """The proton-on-target profile [1/ns]."""
        x = (np.asarray(t_ns, dtype=float) - self.pot_mean_ns) / self.pot_sigma_ns
        return np.exp(-(x**2) / 2.0) / np.sqrt(2.0 * np.pi) / self.pot_sigma_ns

    def pdf(self, flavour: str, t_ns: ArrayLike) -> np.ndarray:
        """Arrival-time density [1/ns] of ``flavour``."""
        return self._combine(flavour, t_ns, "pdf")

    def cdf(self, flavour: str, t_ns: ArrayLike) -> np.ndarray:
        """Probability that ``flavour`` arrives before ``t_ns``."""
        return self._combine(flavour, t_ns, "cdf")

    def bin_fractions(self, flavour: str, t_edges_ns: ArrayLike) -> np.ndarray:
        """Fraction of ``flavour`` arriving in each time bin (exact CDF differences)."""
        return np.diff(self.cdf(flavour, np.asarray(t_edges_ns, dtype=float)))

    def mean(self, flavour: str) -> float:
        """Mean arrival time [ns]: POT mean + tau_pi (+ tau_mu for the delayed flavours)."""
        delayed = flavour != "nu_mu"
        return self.pot_mean_ns + self.tau_pi_ns + (self.tau_mu_ns if delayed else 0.0)

    def _combine(self, flavour: str, t: ArrayLike, what: str) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if flavour == "nu_mu":
            return getattr(self._emg(self.tau_pi_ns), what)(t)
        if flavour not in ("nu_e", "anti_nu_mu", "anti_nu_e"):
            raise ConfigError(f"flavour '{flavour}': expected nu_mu, nu_e, anti_nu_mu or anti_nu_e")
        # Exp(tau_pi) + Exp(tau_mu) has density (e^{-t/tmu} - e^{-t/tpi})/(tmu - tpi)
        # = [tmu * Exp_mu(t) - tpi * Exp_pi(t)]/(tmu - tpi); convolve each term with the Gaussian.
        tpi, tmu = self.tau_pi_ns, self.tau_mu_ns
        a = getattr(self._emg(tmu), what)(t)
        b = getattr(self._emg(tpi), what)(t)
        return (tmu * a - tpi * b) / (tmu - tpi)


@dataclass(frozen=True)
class ExpModGaussian:
    """A Gaussian (mean, sigma) convolved with an exponential of mean life ``tau``: the time of a decay after a
    Gaussian pulse. With x = (t - mean)/sigma and K = tau/sigma:

    ``pdf = exp((1/K)(1/(2K) - x)) Phi(x - 1/K) / (K sigma)``, ``cdf = Phi(x) - exp((1/K)(1/(2K) - x)) Phi(x - 1/K)``

    (Phi the standard normal CDF; the products are formed in logarithms, :func:`scipy.special.log_ndtr`, so that
    they stay finite far in the tails).
    """

    tau: float
    mean: float
    sigma: float

    def _terms(self, t: ArrayLike) -> tuple[np.ndarray, np.ndarray, float]:
        from scipy.special import log_ndtr  # lazily: `d2oflux rates` with a warm rate cache never imports scipy

        x = (np.asarray(t, dtype=float) - self.mean) / self.sigma
        K = self.tau / self.sigma
        inv_k = 1.0 / K
        with np.errstate(invalid="ignore"):
            log_tail = inv_k * (0.5 * inv_k - x) + log_ndtr(x - inv_k)
        return x, log_tail, K

    def pdf(self, t: ArrayLike) -> np.ndarray:
        """Density [1/ns]."""
        x, log_tail, K = self._terms(t)
        return np.where(np.isfinite(x), np.exp(log_tail - np.log(K)) / self.sigma, np.where(np.isnan(x), np.nan, 0.0))

    def cdf(self, t: ArrayLike) -> np.ndarray:
        """Probability of a time before ``t``."""
        from scipy.special import ndtr

        x, log_tail, _ = self._terms(t)
        return np.where(np.isfinite(x), ndtr(x) - np.exp(log_tail), np.where(np.isnan(x), np.nan, x > 0).astype(float))
