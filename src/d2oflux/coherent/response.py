"""Response of scintillation and ionisation detectors to nuclear recoils, step by step, as data.

The chain (each step declared in the data-set TOML, every axis with its unit):

    recoil T [keVnr] --quenching--> E_ee [keVee] --light yield + statistics--> observed [PE] or [keVee]
                     --acceptance in the observed variable--> counts per observed bin;
    arrival time [us] --time acceptance--> counts per time bin.

Steps and their models
----------------------
quenching
    ``qf_polynomial``: QF(T) = sum_i c_i T^i with T in keVnr, E_ee = QF(T) T (a constant QF is one
    coefficient; the LAr release's QF = 0.246 + 0.00078 T[keVnr], arXiv:2006.12659, is two).
    ``eee_polynomial``: E_ee = sum_i c_i x^(i+1) with x the recoil energy in ``recoil_unit`` (keVnr or MeVnr)
    and E_ee in the matching electron-equivalent unit (the CsI 2021 release's 4th-order curve in MeVnr ->
    MeVee, arXiv:2110.07730 ancillary ``scintRespCoefficients.txt``).
    ``table``: E_ee [keVee] interpolated in T [keVnr].
statistics (observed variable)
    ``poisson``: the number of photo-electrons is Poisson with mean Y E_ee (observed in PE).
    ``gamma``: PE follow a gamma distribution with mean Y E_ee and shape k = 1 + s E_ee[keVee] (the CsI 2021
    prescription: a = 1/(Y E_ee) ... written there as a = 0.0749/E_ee, b = 9.56 E_ee, with E_ee in keVee).
    ``gaussian``: reconstructed E in keVee, Gaussian around E_ee with sigma = a sqrt(E_ee) (LAr:
    sigma/E = 0.58/sqrt(E[keVee]), arXiv:2006.12659).
acceptance (in the observed variable)
    ``logistic``: a / (1 + exp(-b (x - c))) + d, clipped to [0, 1], zero below ``zero_below`` (a step)
    (CsI 2021 ``effCoefficients.txt``); ``table``: interpolated in (x, efficiency); ``none``.
time acceptance
    ``exponential_after``: 1 before ``start_us``, exp(-rate (t - start)) after (CsI 2021: 0.52 us,
    0.0494/us); ``table``; ``none``.

Nuisances act on these parameters through :meth:`ResponseChain.varied`: ``energy_scale`` multiplies the
light yield (PE) or the keVee scale (Gaussian), ``resolution`` multiplies the relative width (gamma:
k -> k / r^2; Gaussian: a -> r a), ``quenching`` scales E_ee or swaps in alternative coefficients,
``acceptance`` swaps in alternative coefficients or stretches the table along its variable. A nuisance
that cannot act on the declared model raises :class:`~d2oflux.errors.ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from pydantic import Field, model_validator
from scipy import stats
from scipy.special import ndtr

from ..config import StrictModel
from ..errors import ConfigError

OBSERVABLE_UNITS = ("PE", "keVee")


class QuenchingConfig(StrictModel):
    """Recoil energy [keVnr] -> electron-equivalent energy [keVee]."""

    model: Literal["qf_polynomial", "eee_polynomial", "table"]
    coefficients: tuple[float, ...] | None = None
    recoil_unit: Literal["keVnr", "MeVnr"] = "keVnr"
    table_keVnr: tuple[float, ...] | None = None
    table_keVee: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _complete(self) -> QuenchingConfig:
        if self.model in ("qf_polynomial", "eee_polynomial") and not self.coefficients:
            raise ValueError(f"quenching model '{self.model}' needs coefficients = [...]")
        if self.model == "table":
            if not self.table_keVnr or not self.table_keVee or len(self.table_keVnr) != len(self.table_keVee):
                raise ValueError("quenching model 'table' needs table_keVnr and table_keVee of equal length")
            if np.any(np.diff(self.table_keVnr) <= 0):
                raise ValueError("table_keVnr must be strictly increasing")
        return self


class StatisticsConfig(StrictModel):
    """Electron-equivalent energy -> observed variable (PE or keVee) with its fluctuations."""

    model: Literal["poisson", "gamma", "gaussian"]
    light_yield_pe_per_keVee: float | None = Field(default=None, gt=0)
    gamma_shape_per_keVee: float | None = Field(default=None, ge=0)
    gaussian_a_sqrt_keVee: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _complete(self) -> StatisticsConfig:
        if self.model in ("poisson", "gamma") and self.light_yield_pe_per_keVee is None:
            raise ValueError(f"statistics model '{self.model}' needs light_yield_pe_per_keVee")
        if self.model == "gamma" and self.gamma_shape_per_keVee is None:
            raise ValueError("statistics model 'gamma' needs gamma_shape_per_keVee (shape k = 1 + s E_ee[keVee])")
        if self.model == "gaussian" and self.gaussian_a_sqrt_keVee is None:
            raise ValueError("statistics model 'gaussian' needs gaussian_a_sqrt_keVee (sigma = a sqrt(E[keVee]))")
        return self

    @property
    def observable(self) -> str:
        """Unit of the observed variable: ``PE`` or ``keVee``."""
        return "keVee" if self.model == "gaussian" else "PE"


class AcceptanceConfig(StrictModel):
    """Acceptance in the observed variable (PE or keVee)."""

    model: Literal["logistic", "table", "none"] = "none"
    variable: Literal["PE", "keVee"] = "PE"
    coefficients: tuple[float, float, float, float] | None = None
    zero_below: float | None = None
    table_x: tuple[float, ...] | None = None
    table_efficiency: tuple[float, ...] | None = None
    table_file: str | None = None
    table_columns: tuple[int, int] = (0, 1)

    @model_validator(mode="after")
    def _complete(self) -> AcceptanceConfig:
        if self.model == "logistic" and self.coefficients is None:
            raise ValueError("acceptance model 'logistic' needs coefficients = [a, b, c, d]")
        if self.model == "table" and self.table_file is None:
            if not self.table_x or not self.table_efficiency or len(self.table_x) != len(self.table_efficiency):
                raise ValueError("acceptance model 'table' needs table_x and table_efficiency of equal length")
        return self


class TimeAcceptanceConfig(StrictModel):
    """Acceptance in the reconstructed time [us]."""

    model: Literal["exponential_after", "table", "none"] = "none"
    start_us: float = 0.0
    rate_per_us: float = Field(default=0.0, ge=0)
    table_us: tuple[float, ...] | None = None
    table_efficiency: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _complete(self) -> TimeAcceptanceConfig:
        if self.model == "table" and (
            not self.table_us or not self.table_efficiency or len(self.table_us) != len(self.table_efficiency)
        ):
            raise ValueError("time acceptance model 'table' needs table_us and table_efficiency of equal length")
        return self


class ResponseChainConfig(StrictModel):
    """The whole chain (the ``[response]`` table of a data set)."""

    quenching: QuenchingConfig
    statistics: StatisticsConfig
    acceptance: AcceptanceConfig = AcceptanceConfig()
    time_acceptance: TimeAcceptanceConfig = TimeAcceptanceConfig()

    @model_validator(mode="after")
    def _units_agree(self) -> ResponseChainConfig:
        if self.acceptance.model != "none" and self.acceptance.variable != self.statistics.observable:
            raise ValueError(
                f"acceptance is in {self.acceptance.variable} but the statistics model '{self.statistics.model}' "
                f"produces {self.statistics.observable}"
            )
        return self


def subdivide(edges: np.ndarray, n: int) -> np.ndarray:
    """Edges with every bin of ``edges`` split into ``n`` equal pieces."""
    e = np.asarray(edges, dtype=float)
    steps = np.linspace(0.0, 1.0, n + 1)[:-1]
    inner = (e[:-1, None] + np.diff(e)[:, None] * steps[None, :]).ravel()
    return np.concatenate([inner, e[-1:]])


NUISANCE_KINDS = ("energy_scale", "resolution", "quenching", "acceptance", "time_acceptance")


@dataclass(frozen=True)
class ResponseChain:
    """An evaluable response chain; see the module docstring.

    Attributes
    ----------
    config : ResponseChainConfig
    energy_scale : float
        Multiplies the light yield (PE) or the keVee scale (Gaussian); 1 = nominal.
    resolution_scale : float
        Multiplies the relative width; 1 = nominal.
    quenching_scale : float
        Multiplies E_ee(T); 1 = nominal.
    acceptance_stretch : float
        Stretches a tabulated acceptance along its variable, eff(x / stretch); 1 = nominal.
    """

    config: ResponseChainConfig
    energy_scale: float = 1.0
    resolution_scale: float = 1.0
    quenching_scale: float = 1.0
    acceptance_stretch: float = 1.0

    @property
    def observable(self) -> str:
        return self.config.statistics.observable

    # -- quenching ------------------------------------------------------------------------------
    def electron_equivalent_keVee(self, T_keVnr: np.ndarray) -> np.ndarray:
        """E_ee [keVee] for recoil energies T [keVnr] (negative values clipped to 0)."""
        q = self.config.quenching
        T = np.asarray(T_keVnr, dtype=float)
        if q.model == "qf_polynomial":
            E = np.polynomial.polynomial.polyval(T, q.coefficients) * T
        elif q.model == "eee_polynomial":
            factor = 1e-3 if q.recoil_unit == "MeVnr" else 1.0
            x = T * factor
            E = np.polynomial.polynomial.polyval(x, (0.0, *q.coefficients)) / factor
        else:
            E = np.interp(T, q.table_keVnr, q.table_keVee)
        return np.clip(E * self.quenching_scale, 0.0, None)

    # -- statistics -----------------------------------------------------------------------------
    def _observed_cdf(self, E_keVee: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """P(observed < edge) for each E_ee (rows) and edge (columns)."""
        s = self.config.statistics
        E = np.asarray(E_keVee, dtype=float)[:, None]
        x = np.asarray(edges, dtype=float)[None, :]
        if s.model == "gaussian":
            mean = self.energy_scale * E
            sigma = np.maximum(self.resolution_scale * s.gaussian_a_sqrt_keVee * np.sqrt(np.clip(E, 0, None)), 1e-9)
            return ndtr((x - mean) / sigma)
        mean = s.light_yield_pe_per_keVee * self.energy_scale * E
        if s.model == "poisson":
            # bins [lo, hi) of the PE count: P(n < x) = P(n <= ceil(x) - 1)
            return np.where(x > 0, stats.poisson.cdf(np.ceil(x) - 1, np.maximum(mean, 1e-12)), 0.0)
        k = (1.0 + s.gamma_shape_per_keVee * E) / self.resolution_scale**2
        with np.errstate(divide="ignore", invalid="ignore"):
            cdf = stats.gamma.cdf(x, k, scale=np.maximum(mean, 1e-12) / k)
        return np.where(mean > 0, cdf, 1.0)

    # -- acceptance -----------------------------------------------------------------------------
    def acceptance(self, x: np.ndarray) -> np.ndarray:
        """Acceptance at observed values ``x`` (PE or keVee)."""
        a = self.config.acceptance
        x = np.asarray(x, dtype=float)
        if a.model == "none":
            return np.ones_like(x)
        if a.model == "logistic":
            ca, cb, cc, cd = a.coefficients
            eff = ca / (1.0 + np.exp(-cb * (x - cc))) + cd
            if a.zero_below is not None:
                eff = np.where(x < a.zero_below, 0.0, eff)
        else:
            eff = np.interp(x / self.acceptance_stretch, a.table_x, a.table_efficiency)
        return np.clip(eff, 0.0, 1.0)

    def time_acceptance(self, t_us: np.ndarray) -> np.ndarray:
        """Acceptance at reconstructed times ``t_us`` [us]."""
        a = self.config.time_acceptance
        t = np.asarray(t_us, dtype=float)
        if a.model == "none":
            return np.ones_like(t)
        if a.model == "exponential_after":
            return np.where(t < a.start_us, 1.0, np.exp(-a.rate_per_us * (t - a.start_us)))
        return np.clip(np.interp(t, a.table_us, a.table_efficiency), 0.0, 1.0)

    # -- the whole energy chain -----------------------------------------------------------------
    def matrix(self, recoil_edges_keVnr: np.ndarray, observed_edges: np.ndarray, substeps: int = 8) -> np.ndarray:
        """Probability that a recoil in each recoil bin is observed and accepted in each observed bin.

        Parameters
        ----------
        recoil_edges_keVnr : array (n + 1,)
            Recoil-energy bin edges [keVnr]; the recoil spectrum is taken flat inside each bin (2-point
            Gauss-Legendre nodes).
        observed_edges : array (m + 1,)
            Observed-variable bin edges (unit :attr:`observable`).
        substeps : int
            Each observed bin is split into this many pieces to apply the acceptance at their centres.

        Returns
        -------
        array (n, m)
        """
        T_edges = np.asarray(recoil_edges_keVnr, dtype=float)
        obs = np.asarray(observed_edges, dtype=float)
        gx, gw = np.polynomial.legendre.leggauss(2)
        half = 0.5 * np.diff(T_edges)
        mid = 0.5 * (T_edges[1:] + T_edges[:-1])
        T = (mid[:, None] + half[:, None] * gx[None, :]).ravel()
        fine = subdivide(obs, substeps)
        if self.observable == "PE" and self.config.statistics.model == "poisson":
            fine = np.unique(np.concatenate([obs, np.arange(np.ceil(obs[0]), np.floor(obs[-1]) + 1)]))
        cdf = self._observed_cdf(self.electron_equivalent_keVee(T), fine)
        probs = np.diff(cdf, axis=1) * self.acceptance(0.5 * (fine[1:] + fine[:-1]))[None, :]
        which = np.clip(np.searchsorted(obs, 0.5 * (fine[1:] + fine[:-1]), side="right") - 1, 0, obs.size - 2)
        per_obs = np.zeros((T.size, obs.size - 1))
        np.add.at(per_obs.T, which, probs.T)
        return (per_obs.reshape(mid.size, gx.size, -1) * (0.5 * gw)[None, :, None]).sum(axis=1)

    def time_bin_acceptance(self, t_fine_edges_us: np.ndarray) -> np.ndarray:
        """Mean time acceptance over each fine time bin (midpoint rule; bins of ~10 ns)."""
        e = np.asarray(t_fine_edges_us, dtype=float)
        return self.time_acceptance(0.5 * (e[1:] + e[:-1]))

    # -- nuisances ------------------------------------------------------------------------------
    def varied(self, kind: str, relative: float | None = None, coefficients: tuple[float, ...] | None = None):
        """A copy with one parameter moved: ``relative`` scales it (1 + relative), ``coefficients`` replace it.

        Raises
        ------
        ConfigError
            When the nuisance cannot act on the declared model (it would silently do nothing).
        """
        cfg = self.config
        if kind not in NUISANCE_KINDS:
            raise ConfigError(f"nuisance kind '{kind}': expected one of {', '.join(NUISANCE_KINDS)}")
        if coefficients is not None:
            if kind == "quenching" and cfg.quenching.model in ("qf_polynomial", "eee_polynomial"):
                q = cfg.quenching.model_copy(update={"coefficients": tuple(coefficients)})
                return replace(self, config=cfg.model_copy(update={"quenching": q}))
            if kind == "acceptance" and cfg.acceptance.model == "logistic":
                if len(coefficients) != 4:
                    raise ConfigError("acceptance nuisance: expected 4 logistic coefficients [a, b, c, d]")
                a = cfg.acceptance.model_copy(update={"coefficients": tuple(coefficients)})
                return replace(self, config=cfg.model_copy(update={"acceptance": a}))
            raise ConfigError(
                f"nuisance on '{kind}' with alternative coefficients has no effect on the declared response "
                f"(quenching model '{cfg.quenching.model}', acceptance model '{cfg.acceptance.model}')"
            )
        if relative is None:
            raise ConfigError(f"nuisance on '{kind}': give relative = <1-sigma fraction> or up/down coefficients")
        if kind == "energy_scale":
            return replace(self, energy_scale=self.energy_scale * (1.0 + relative))
        if kind == "resolution":
            if cfg.statistics.model == "poisson":
                raise ConfigError(
                    "a 'resolution' nuisance has no effect on the declared response: Poisson photo-electron "
                    "statistics have no width parameter (use statistics model 'gamma' or 'gaussian')"
                )
            return replace(self, resolution_scale=self.resolution_scale * (1.0 + relative))
        if kind == "quenching":
            return replace(self, quenching_scale=self.quenching_scale * (1.0 + relative))
        if kind == "acceptance":
            if cfg.acceptance.model != "table":
                raise ConfigError(
                    f"an 'acceptance' nuisance with relative = ... has no effect on acceptance model "
                    f"'{cfg.acceptance.model}' (it stretches a table; a logistic curve takes up/down coefficients)"
                )
            return replace(self, acceptance_stretch=self.acceptance_stretch * (1.0 + relative))
        raise ConfigError(
            "a 'time_acceptance' nuisance has no effect on the declared response: its parameters are fixed "
            "(declare the time acceptance as a table and vary it in the data set instead)"
        )
