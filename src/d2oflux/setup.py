"""Detector, source and exposure from the options every command shares (CLI and report)."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError

#: Largest accepted exposure [protons on target]: 1e28, about 6e4 SNS-years (a plausibility bound that
#: keeps every count finite).
MAX_POT = 1.0e28
#: Smallest accepted exposure [protons on target]: 1e10, far below one SNS pulse (~1.5e14 protons).
MIN_POT = 1.0e10
#: Range of SNS-years accepted in ``--years`` lists (sensitivity, report): 1e-6 (30 s of beam) to 1e4.
YEARS_RANGE = (1.0e-6, 1.0e4)
#: Largest accepted neutrinos per proton per flavour (the SNS makes ~0.09 at 1 GeV).
MAX_NU_PER_PROTON = 10.0


def facility_for(det, facility: str | None = None, nu_per_proton: float | None = None):
    """The facility of a run: ``facility`` if given, else the detector's; a facility file named inside a
    detector TOML resolves relative to that TOML's folder."""
    from .beam import load_facility

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
    from .beam import Exposure
    from .detector import load_detector

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
    check_exposure(exposure)
    src = build_source(fac, mu_minus_dar, flux_file)
    check_threshold(det, src)
    return det, src, exposure


def build_source(facility, mu_minus_dar: bool, flux_file: Path | None = None):
    """The neutrino source of a facility, as ``--mu-minus-dar`` and ``--flux-file`` say.

    Parameters
    ----------
    facility : d2oflux.beam.Facility
        The facility (:func:`facility_for`).
    mu_minus_dar : bool
        Include the anti-nu_e of mu- decay at rest.
    flux_file : Path or None
        Tabulated spectra (:meth:`d2oflux.spectra.FluxTable.read`) replacing the analytic piDAR shapes.

    Returns
    -------
    d2oflux.source.Source
    """
    from .source import Source
    from .spectra import FluxTable

    table = FluxTable.read(flux_file) if flux_file is not None else None
    return Source(facility, include_mu_minus_dar=mu_minus_dar, flux_table=table)


def check_exposure(exposure) -> None:
    """Raise :class:`ConfigError` unless the exposure is finite and within :data:`MAX_POT`."""
    import math

    if not math.isfinite(exposure.pot) or not MIN_POT <= exposure.pot <= MAX_POT:
        raise ConfigError(
            f"exposure (years, pot): {exposure.pot:g} protons on target ({exposure.years:g} years) is outside "
            f"the accepted {MIN_POT:g} to {MAX_POT:g}; check --years, --pot, the beam power or the beam history"
        )
    ratio = exposure.nu_per_proton
    if not math.isfinite(exposure.neutrinos_per_flavour) or not 0 < ratio <= MAX_NU_PER_PROTON:
        raise ConfigError(
            f"nu_per_proton: {ratio:g} neutrinos per proton per flavour is outside (0, {MAX_NU_PER_PROTON:g}]"
        )


def check_threshold(det, src) -> None:
    """The analytic threshold must lie below the highest neutrino energy of the source."""
    from . import constants as c

    table = src.flux_table
    e_max = float(table.energies_MeV[-1]) if table is not None else c.E_MICHEL_MAX_MEV
    r = det.config.response
    if r.model == "analytic" and r.threshold_MeV >= e_max:
        raise ConfigError(
            f"detector '{det.label}': response.threshold_MeV = {r.threshold_MeV:g} is at or above the highest "
            f"neutrino energy of the source ({e_max:.4g} MeV): nothing could be detected"
        )
