"""The pion-decay-at-rest source: spectra, timing, facility presets and normalisation.

Physics (PHYSICS.md section 2):

* ``nu_mu`` from pi+ -> mu+ nu_mu at rest: a line at (m_pi^2 - m_mu^2)/(2 m_pi) = 29.79 MeV, prompt.
* ``nu_e`` and ``anti_nu_mu`` from mu+ -> e+ nu_e anti-nu_mu at rest: Michel spectra up to m_mu/2,
  ``f(E) = (192/m)(E/m)^2(1/2 - E/m)`` and ``f(E) = (64/m)(E/m)^2(3/4 - E/m)``.
* Times: the proton-on-target (POT) profile is a Gaussian; nu_mu time = POT + Exp(tau_pi); nu_e and
  anti-nu_mu time = POT + Exp(tau_pi) + Exp(tau_mu). The convolutions are exponentially modified
  Gaussians (closed form, :class:`scipy.stats.exponnorm`).
* Fluence per flavour at distance L: ``r N_POT / (4 pi L^2)`` with ``N_POT = P t / (E_p e)``.

Units: MeV, ns, cm; power in MW, proton energy in GeV (as the facility presets state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from pydantic import Field, field_validator
from scipy import stats

from . import constants as c
from .config import StrictModel, parse_toml, read_preset_text, validate
from .errors import ConfigError, require_positive

#: The three flavours of a pi+ decay-at-rest source, in order of arrival.
PIDAR_FLAVOURS: tuple[str, ...] = ("nu_mu", "nu_e", "anti_nu_mu")
#: mu- decay at rest adds anti-nu_e at 7.8e-4 of the nu_mu flux (COHERENT released flux tables, PHYSICS.md s.2).
MU_MINUS_DAR_ANTI_NUE_RATIO = 7.8e-4

_MICHEL_SHAPES = {"nu_e": "nu_e", "anti_nu_mu": "anti_nu_mu", "anti_nu_e": "nu_e"}


# ------------------------------------------------------------------------------------------------
# Energy spectra
# ------------------------------------------------------------------------------------------------
def spectrum_pdf(flavour: str, E_MeV: ArrayLike) -> np.ndarray:
    """Normalised energy spectrum dN/dE [1/MeV] of a Michel flavour (``nu_e``, ``anti_nu_mu``).

    ``anti_nu_e`` (from mu- decay at rest) has the ``nu_e`` shape. ``nu_mu`` is a line: use
    :func:`spectrum_nodes` or :data:`d2oflux.constants.E_NUMU_PROMPT_MEV`.
    """
    shape = _michel_shape(flavour)
    m = c.M_MU_MEV
    x = np.asarray(E_MeV, dtype=float) / m
    inside = (x >= 0) & (x <= 0.5)
    if shape == "nu_e":
        f = (192.0 / m) * x**2 * (0.5 - x)
    else:
        f = (64.0 / m) * x**2 * (0.75 - x)
    return np.where(inside, f, 0.0)


def spectrum_cdf(flavour: str, E_MeV: ArrayLike) -> np.ndarray:
    """Cumulative distribution of :func:`spectrum_pdf` (closed form); a step for ``nu_mu``."""
    E = np.asarray(E_MeV, dtype=float)
    if flavour == "nu_mu":
        return np.where(E >= c.E_NUMU_PROMPT_MEV, 1.0, 0.0)
    x = np.clip(E / c.M_MU_MEV, 0.0, 0.5)
    if _michel_shape(flavour) == "nu_e":
        return 32.0 * x**3 - 48.0 * x**4
    return 16.0 * x**3 - 16.0 * x**4


def spectrum_mean(flavour: str) -> float:
    """Mean energy [MeV]: 0.3 m_mu (nu_e), 0.35 m_mu (anti-nu_mu), the line for nu_mu (closed form)."""
    if flavour == "nu_mu":
        return c.E_NUMU_PROMPT_MEV
    return (0.3 if _michel_shape(flavour) == "nu_e" else 0.35) * c.M_MU_MEV


@lru_cache(maxsize=32)
def spectrum_nodes(
    flavour: str, breakpoints: tuple[float, ...] | None = None, n_intervals: int = 240, order: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes and weights that integrate a smooth function against the spectrum.

    ``sum(w * g(E))`` approximates ``int f(E) g(E) dE``; the weights sum to 1. Michel spectra use
    Gauss-Legendre of ``order`` on ``n_intervals`` equal pieces of [0, m_mu/2], or, if ``breakpoints`` (e.g.
    histogram bin edges [MeV]) are given, on the pieces between them, so that every node's weight belongs to
    exactly one bin and histograms of the nodes are exact bin integrals. The nu_mu line is one node.

    Returns
    -------
    E_MeV, weights : arrays of the same shape
    """
    if flavour == "nu_mu":
        line, one = np.array([c.E_NUMU_PROMPT_MEV]), np.array([1.0])
        line.flags.writeable = False
        one.flags.writeable = False
        return line, one
    x, w = np.polynomial.legendre.leggauss(order)
    if breakpoints is None:
        edges = np.linspace(0.0, c.E_MICHEL_MAX_MEV, n_intervals + 1)
    else:
        inner = [b for b in breakpoints if 0.0 < b < c.E_MICHEL_MAX_MEV]
        edges = np.unique(np.array([0.0, *inner, c.E_MICHEL_MAX_MEV]))
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    E = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    weights = (half[:, None] * w[None, :]).ravel() * spectrum_pdf(flavour, E)
    E.flags.writeable = False  # cached: shared between callers
    weights.flags.writeable = False
    return E, weights


def _michel_shape(flavour: str) -> str:
    try:
        return _MICHEL_SHAPES[flavour]
    except KeyError:
        raise ConfigError(
            f"flavour '{flavour}': no Michel spectrum; expected one of {', '.join(_MICHEL_SHAPES)}"
        ) from None


# ------------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------------
# Facilities
# ------------------------------------------------------------------------------------------------
class Facility(StrictModel):
    """A spallation source: beam power, proton energy and neutrino yield (a preset TOML file)."""

    name: str
    description: str = ""
    # plausibility bounds (far outside any spallation source; they keep every rate finite)
    power_MW: float = Field(gt=0, le=1e3)
    proton_energy_GeV: float = Field(gt=0, le=1e3)
    repetition_rate_Hz: float = Field(gt=0, le=1e6)
    hours_per_year: float = Field(default=c.SNS_YEAR_HOURS, gt=0, le=8784.0)
    nu_per_proton: float | None = Field(default=None, gt=0, le=10.0)
    nu_per_proton_rel_uncertainty: float = Field(default=0.10, ge=0, le=10.0)
    #: Where ``nu_per_proton`` comes from (a citation, or "assumption: <reason>"); shown in the report.
    nu_per_proton_source: str = ""
    yield_valid_GeV: tuple[float, float] = (0.0, 1e3)
    pot_mean_ns: float = Field(default=440.0, ge=-1e6, le=1e6)
    pot_sigma_ns: float = Field(default=150.0, gt=0, le=1e6)

    @field_validator("yield_valid_GeV")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not v[0] < v[1]:
            raise ValueError("expected [low, high] with low < high")
        return v

    @property
    def pot_per_year(self) -> float:
        """Protons on target in one facility-year (``hours_per_year`` at nominal power and energy)."""
        return pot_from_beam(self.power_MW, self.hours_per_year * c.SECONDS_PER_HOUR, self.proton_energy_GeV)

    def yield_at(self, proton_energy_GeV: float) -> float:
        """Neutrinos per proton per flavour at ``proton_energy_GeV``; errors where it is not known."""
        if self.nu_per_proton is None:
            raise ConfigError(
                f"facility '{self.name}': the neutrino yield per proton at {self.proton_energy_GeV} GeV is not "
                "published; give it with --nu-per-proton (or nu_per_proton in the facility TOML)"
            )
        lo, hi = self.yield_valid_GeV
        if not lo <= proton_energy_GeV <= hi:
            raise ConfigError(
                f"proton_energy_GeV = {proton_energy_GeV}: outside [{lo}, {hi}] GeV where facility "
                f"'{self.name}' nu_per_proton = {self.nu_per_proton} is valid"
            )
        return self.nu_per_proton

    def timing(self) -> TimingModel:
        """The arrival-time model with this facility's POT profile."""
        return TimingModel(pot_mean_ns=self.pot_mean_ns, pot_sigma_ns=self.pot_sigma_ns)

    @property
    def duty_factor_per_ns(self) -> float:
        """Beam spills per ns: multiply by a time-window length [ns] to get the duty factor."""
        return self.repetition_rate_Hz * 1e-9


def load_facility(name_or_path: str | Path = "sns-fts", **overrides: float) -> Facility:
    """Load a facility preset (``sns-fts``, ``sns-fts-ppu``, ``sns-sts``) or a TOML file.

    Keyword ``overrides`` replace preset values, e.g. ``nu_per_proton=0.1``.
    """
    label, text = read_preset_text("facilities", name_or_path)
    data = parse_toml(label, text)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return validate(Facility, data, f"facility '{label}'")


def pot_from_beam(power_MW: float, seconds: float, proton_energy_GeV: float) -> float:
    """Protons on target ``N = P t / (E_p e)`` for power [MW], time [s], proton kinetic energy [GeV]."""
    return power_MW * 1e6 * seconds / (proton_energy_GeV * 1e9 * c.ELEMENTARY_CHARGE_C)


#: Protons on target in one COHERENT SNS-year (5000 h at 1.4 MW and 1.0 GeV): 1.573e23.
POT_PER_SNS_YEAR = pot_from_beam(
    c.SNS_YEAR_POWER_MW, c.SNS_YEAR_HOURS * c.SECONDS_PER_HOUR, c.SNS_YEAR_PROTON_ENERGY_GEV
)


# ------------------------------------------------------------------------------------------------
# Exposure
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exposure:
    """Protons on target and the neutrinos per flavour they made.

    Attributes
    ----------
    pot : float
        Protons on target.
    neutrinos_per_flavour : float
        Sum over running periods of (neutrinos per proton per flavour) x POT.
    years : float
        The exposure in facility-years (SNS-years for ``sns-fts``).
    periods : tuple
        The beam-history rows it came from, if any.
    """

    pot: float
    neutrinos_per_flavour: float
    years: float
    periods: tuple[dict, ...] = field(default=())

    @property
    def nu_per_proton(self) -> float:
        """POT-weighted mean neutrinos per proton per flavour."""
        return self.neutrinos_per_flavour / self.pot

    @classmethod
    def from_years(cls, facility: Facility, years: float) -> Exposure:
        """``years`` of running at the facility's nominal power and energy."""
        years = require_positive(years, "years")
        pot = years * facility.pot_per_year
        return cls(pot, pot * facility.yield_at(facility.proton_energy_GeV), years)

    @classmethod
    def from_pot(cls, facility: Facility, pot: float) -> Exposure:
        """A number of protons on target at the facility's nominal proton energy."""
        pot = require_positive(pot, "pot")
        return cls(pot, pot * facility.yield_at(facility.proton_energy_GeV), pot / facility.pot_per_year)

    @classmethod
    def from_beam_history(cls, facility: Facility, path: str | Path) -> Exposure:
        """Sum a beam-history CSV (see :func:`d2oflux.beam_history.read_beam_history`)."""
        from .beam_history import read_beam_history

        rows = read_beam_history(path)
        pot = sum(r["pot"] for r in rows)
        nus = sum(r["pot"] * facility.yield_at(r["proton_energy_GeV"]) for r in rows)
        return cls(pot, nus, pot / facility.pot_per_year, tuple(rows))


#: Highest energy a flux table may reach [MeV]: the upper end of the 16O CC table (SNOwGLoBES, 100 MeV), the
#: lowest among the cross-section tables.
MAX_FLUX_TABLE_ENERGY_MEV = 100.0


@dataclass(frozen=True)
class FluxTable:
    """Energy spectra per flavour read from a file, replacing the analytic piDAR shapes.

    The CSV has a header ``E_MeV,nu_mu,nu_e,anti_nu_mu[,anti_nu_e]`` (:data:`d2oflux.formats.FLUX_FILE`;
    without ``anti_nu_e`` the mu- DAR contamination keeps its analytic Michel shape) and one row per energy,
    up to 100 MeV; values are dN/dE in any unit (each flavour is normalised to 1 over the table, the
    normalisation still comes from the neutrinos per proton). ``#`` lines are comments. Use it for, e.g.,
    a simulated spectrum with decay-in-flight tails.
    """

    path: str
    energies_MeV: np.ndarray
    spectra: dict[str, np.ndarray]

    @classmethod
    def read(cls, path: str | Path) -> FluxTable:
        """Read and validate a flux table (columns: :data:`d2oflux.formats.FLUX_FILE`)."""
        import csv

        from .errors import read_text_file
        from .formats import FLUX_FILE

        text = read_text_file(path, "flux file", FLUX_FILE.header())
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        try:
            rows = list(csv.reader(lines))
        except csv.Error as exc:
            raise ConfigError(f"flux file '{path}': malformed CSV ({exc})") from None
        if len(rows) < 3:
            raise ConfigError(f"flux file '{path}': expected a header and at least two rows")
        header = [h.strip() for h in rows[0]]
        if header[0] != "E_MeV":
            raise ConfigError(f"flux file '{path}': the first column must be 'E_MeV', got '{header[0]}'")
        known = FLUX_FILE.names[1:]
        for h in header[1:]:
            if h not in known:
                raise ConfigError(f"flux file '{path}': unknown column '{h}'; expected some of {', '.join(known)}")
        for k, r in enumerate(rows[1:], start=2):
            if len(r) != len(header):
                raise ConfigError(f"flux file '{path}' row {k}: {len(r)} values, the header has {len(header)}")
        try:
            data = np.array([[float(v) for v in r] for r in rows[1:]], dtype=float)
        except ValueError:
            raise ConfigError(f"flux file '{path}': non-numeric value") from None
        if not np.all(np.isfinite(data)):
            raise ConfigError(f"flux file '{path}': NaN or infinite values")
        if np.any(data < 0):
            raise ConfigError(f"flux file '{path}': negative values")
        E = data[:, 0]
        if not np.all(np.diff(E) > 0):
            raise ConfigError(f"flux file '{path}': E_MeV is not strictly increasing")
        if E[-1] > MAX_FLUX_TABLE_ENERGY_MEV:
            raise ConfigError(
                f"flux file '{path}': E_MeV reaches {E[-1]:g} MeV; the cross sections are tabulated up to "
                f"{MAX_FLUX_TABLE_ENERGY_MEV:g} MeV (16O CC), so the table must stop there"
            )
        spectra = {}
        for j, name in enumerate(header[1:], start=1):
            norm = np.trapezoid(data[:, j], E)
            if not norm > 0 or not np.isfinite(norm):
                raise ConfigError(f"flux file '{path}': column '{name}' is zero everywhere or not integrable")
            spectra[name] = data[:, j] / norm
        return cls(str(path), E, spectra)

    def nodes(self, flavour: str, refine: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Quadrature nodes and weights (summing to 1) of the linearly interpolated spectrum."""
        if flavour not in self.spectra:
            raise ConfigError(f"flux file '{self.path}': no column for flavour '{flavour}'")
        E = self.energies_MeV
        fine = np.linspace(E[0], E[-1], refine * (E.size - 1) + 1)
        mid = 0.5 * (fine[1:] + fine[:-1])
        w = np.interp(mid, E, self.spectra[flavour]) * np.diff(fine)
        return mid, w / w.sum()


@dataclass(frozen=True)
class Source:
    """A facility with its timing, optionally with the mu- decay-at-rest anti-nu_e contamination.

    ``flux_table`` replaces the analytic spectra by tabulated ones (see :class:`FluxTable`).
    """

    facility: Facility
    include_mu_minus_dar: bool = False
    flux_table: FluxTable | None = None

    def __post_init__(self) -> None:
        if self.flux_table is not None:
            from .formats import FLUX_FILE

            missing = [f for f in FLUX_FILE.required[1:] if f not in self.flux_table.spectra]
            if missing:
                raise ConfigError(
                    f"flux file '{self.flux_table.path}': missing column(s) {', '.join(missing)}; "
                    f"expected {FLUX_FILE.header()}"
                )

    def spectrum_nodes(
        self, flavour: str, breakpoints: tuple[float, ...] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Quadrature nodes and weights of the spectrum of ``flavour`` (analytic or tabulated).

        ``breakpoints`` (bin edges [MeV]) align the analytic spectra's quadrature pieces with a histogram.
        """
        if self.flux_table is not None and (flavour in self.flux_table.spectra or flavour != "anti_nu_e"):
            return self.flux_table.nodes(flavour)
        return spectrum_nodes(flavour, breakpoints)

    @property
    def flavours(self) -> tuple[str, ...]:
        """The flavours this source emits."""
        return (*PIDAR_FLAVOURS, "anti_nu_e") if self.include_mu_minus_dar else PIDAR_FLAVOURS

    @property
    def timing(self) -> TimingModel:
        return self.facility.timing()

    def fluence_per_cm2(self, exposure: Exposure, distance_m: float) -> dict[str, float]:
        """Time-integrated flux [nu/cm^2] of each flavour at ``distance_m``: ``r N_POT / (4 pi L^2)``."""
        L_cm = require_positive(distance_m, "distance_m", "m") * 100.0
        per_flavour = exposure.neutrinos_per_flavour / (4.0 * math.pi * L_cm**2)
        out = dict.fromkeys(PIDAR_FLAVOURS, per_flavour)
        if self.include_mu_minus_dar:
            out["anti_nu_e"] = per_flavour * MU_MINUS_DAR_ANTI_NUE_RATIO
        return out
