"""Detector, source and exposure from the options every command shares (CLI and report)."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError


def facility_for(det, facility: str | None = None, nu_per_proton: float | None = None):
    """The facility of a run: ``facility`` if given, else the detector's; a facility file named inside a
    detector TOML resolves relative to that TOML's folder."""
    from .source import load_facility

    if facility is not None:
        return load_facility(facility, nu_per_proton=nu_per_proton)
    name = det.config.facility
    if name.endswith(".toml") and not Path(name).is_absolute():
        name = str(det.base_dir / name)
    return load_facility(name, nu_per_proton=nu_per_proton)


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
    from .source import Exposure, FluxTable, Source

    det = load_detector(detector)
    fac = facility_for(det, facility, nu_per_proton)
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
