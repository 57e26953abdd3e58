"""Arrival times of the piDAR neutrinos after the proton pulse (docs/physics.md section 2).

The proton-on-target (POT) profile is a Gaussian; nu_mu time = POT + Exp(tau_pi); nu_e and anti-nu_mu
time = POT + Exp(tau_pi) + Exp(tau_mu). The convolutions are exponentially modified Gaussians (closed form,
:class:`scipy.stats.exponnorm`). Units: ns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

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

    def _emg(self, tau: float):
        return stats.exponnorm(K=tau / self.pot_sigma_ns, loc=self.pot_mean_ns, scale=self.pot_sigma_ns)

    def pot_pdf(self, t_ns: ArrayLike) -> np.ndarray:
        """The proton-on-target profile [1/ns]."""
        return stats.norm.pdf(t_ns, self.pot_mean_ns, self.pot_sigma_ns)

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
