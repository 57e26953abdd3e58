"""Detector, source and exposure from the options every command shares (CLI and report)."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError


def build_setup(
    detector: str,
    years: float | None,
    pot: float | None,
    beam_history: Path | None,
    facility: str | None,
    nu_per_proton: float | None,
    mu_minus_dar: bool,
    default_years: float = 1.0,
    flux_file: Path | None = None,
):
    """Load the detector, the source and the exposure from CLI options."""
    from .detector import load_detector
    from .source import Exposure, FluxTable, Source, load_facility

    det = load_detector(detector)
    fac = load_facility(facility or det.config.facility, nu_per_proton=nu_per_proton)
    given = [x is not None for x in (years, pot, beam_history)]
    if sum(given) > 1:
        raise ConfigError("give only one of --years, --pot, --beam-history")
    if pot is not None:
        exposure = Exposure.from_pot(fac, pot)
    elif beam_history is not None:
        exposure = Exposure.from_beam_history(fac, beam_history)
    else:
        exposure = Exposure.from_years(fac, default_years if years is None else years)
    table = FluxTable.read(flux_file) if flux_file is not None else None
    return det, Source(fac, include_mu_minus_dar=mu_minus_dar, flux_table=table), exposure
