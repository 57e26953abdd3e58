"""The pion-decay-at-rest source: a facility's neutrinos with their spectra and timing.

:class:`Source` combines a :class:`~d2oflux.beam.Facility` (normalisation, POT profile), the energy spectra
(:mod:`d2oflux.spectra`, analytic or a flux table) and the arrival times (:mod:`d2oflux.timing`), optionally
with the mu- decay-at-rest anti-nu_e contamination. Fluence per flavour at distance L:
``r N_POT / (4 pi L^2)`` (docs/physics.md §2).

The spectra, timing, facility and exposure names below are re-exported from :mod:`d2oflux.spectra`,
:mod:`d2oflux.timing` and :mod:`d2oflux.beam` for the many scripts that import them from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .beam import POT_PER_SNS_YEAR, Exposure, Facility, load_facility, pot_from_beam
from .errors import ConfigError, require_positive
from .spectra import (
    MAX_FLUX_TABLE_ENERGY_MEV,
    FluxTable,
    Spectrum,
    spectrum_cdf,
    spectrum_mean,
    spectrum_nodes,
    spectrum_pdf,
)
from .timing import TimingModel

__all__ = [
    "MAX_FLUX_TABLE_ENERGY_MEV",
    "MU_MINUS_DAR_ANTI_NUE_RATIO",
    "PIDAR_FLAVOURS",
    "POT_PER_SNS_YEAR",
    "Exposure",
    "Facility",
    "FluxTable",
    "Source",
    "Spectrum",
    "TimingModel",
    "load_facility",
    "pot_from_beam",
    "spectrum_cdf",
    "spectrum_mean",
    "spectrum_nodes",
    "spectrum_pdf",
]

#: The three flavours of a pi+ decay-at-rest source, in order of arrival.
PIDAR_FLAVOURS: tuple[str, ...] = ("nu_mu", "nu_e", "anti_nu_mu")
#: mu- decay at rest adds anti-nu_e at 7.8e-4 of the nu_mu flux (COHERENT released flux tables; docs/physics.md §2).
MU_MINUS_DAR_ANTI_NUE_RATIO = 7.8e-4


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
        return self.spectrum(flavour).nodes(breakpoints)

    def spectrum(self, flavour: str) -> Spectrum:
        """The energy spectrum of ``flavour``: the flux table's column if it has one, else the analytic shape
        (a flux table without ``anti_nu_e`` leaves the mu- DAR contamination its Michel shape)."""
        if self.flux_table is not None and (flavour in self.flux_table.spectra or flavour != "anti_nu_e"):
            return Spectrum(flavour, self.flux_table)
        return Spectrum(flavour)

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
