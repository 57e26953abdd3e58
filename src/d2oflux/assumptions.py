"""Every default number of the measurement model with its source, in one table.

Each entry is a published number (with its reference) or an **assumption** (with the reason for its
size). It is the single source of the defaults: :class:`d2oflux.detector.ResponseConfig`,
:class:`~d2oflux.detector.AnalysisConfig`, :class:`~d2oflux.detector.BackgroundConfig` and
:class:`~d2oflux.detector.SystematicsConfig` take their defaults from :data:`DEFAULTS`, and the D2O presets
state the same response and window values (``tests/test_assumptions.py`` checks both). :func:`assumption_rows`
lists the values a given detector, facility and systematics profile actually use, for the report
(``summary.json`` ``"assumptions"``), ``d2oflux sensitivity --json`` and the documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .xsec.deuteron import REL_UNCERTAINTY_CC, REL_UNCERTAINTY_RADIATIVE


@dataclass(frozen=True)
class Assumption:
    """One default: its value, unit and source ("assumption: <reason>" when nobody published it)."""

    value: Any
    unit: str
    source: str


_ASSUMPTION = "assumption: "

#: The table. Keys are ``<section>.<field>`` as in a detector TOML file.
DEFAULTS: dict[str, Assumption] = {
    # --- response and window (d2oflux.detector.ResponseConfig / AnalysisConfig; the D2O presets repeat them) ---
    "response.light_yield_pe_per_MeV": Assumption(
        15.0,
        "PE/MeV",
        _ASSUMPTION + "order of magnitude of the Michel endpoint (~800 PE at 52.8 MeV) in the collaboration's "
        "public analysis code for the twin light-water module",
    ),
    "response.resolution_constant": Assumption(
        0.05, "", _ASSUMPTION + "constant term of sigma_E/E; not published, typical of small water Cherenkov detectors"
    ),
    "response.threshold_MeV": Assumption(5.0, "MeV", _ASSUMPTION + "trigger threshold; below the analysis window"),
    "response.efficiency": Assumption(
        1.0, "", _ASSUMPTION + "no losses beyond the analysis window; replace with a simulated efficiency"
    ),
    "analysis.energy_window_MeV": Assumption(
        [10.0, 55.0],
        "MeV",
        _ASSUMPTION + "above radioactivity, neutron-capture and NC gammas; below the Michel endpoint plus resolution",
    ),
    "analysis.time_window_ns": Assumption(
        [0.0, 10000.0], "ns", _ASSUMPTION + "~4.5 muon lifetimes after the proton pulse (duty factor ~6e-4 at 60 Hz)"
    ),
    # --- backgrounds (d2oflux.detector.BackgroundConfig) ---
    "backgrounds.steady_state_rate_per_MeV_s": Assumption(
        2e-4,
        "1/(MeV s)",
        _ASSUMPTION + "~30 Hz of muons through ~1 m^2 at 8 m.w.e., ~3 % stopping, ~1 % of their Michel electrons "
        "missed by the veto, spread over ~50 MeV",
    ),
    "backgrounds.sideband_livetime_ratio": Assumption(
        100.0, "", _ASSUMPTION + "off-beam windows between spills; ~1/duty factor is available, 100 is conservative"
    ),
    "backgrounds.beam_neutrons_per_year": Assumption(
        10.0, "1/SNS-year", _ASSUMPTION + "prompt beam neutrons reconstructed in the window; Neutrino Alley is quiet"
    ),
    "backgrounds.beam_neutron_slope_MeV": Assumption(
        5.0, "MeV", _ASSUMPTION + "falling spectrum of neutron-induced events"
    ),
    "backgrounds.beam_neutron_delay_ns": Assumption(100.0, "ns", _ASSUMPTION + "time of flight of prompt neutrons"),
    "backgrounds.beam_neutron_rel_uncertainty": Assumption(
        0.5, "", _ASSUMPTION + "no in-situ measurement yet; factor-2 knowledge"
    ),
    # --- systematics (d2oflux.detector.SystematicsConfig) ---
    "systematics.energy_scale": Assumption(
        0.02, "relative", _ASSUMPTION + "Michel-electron endpoint calibration with stopping cosmic muons to 2 %"
    ),
    "systematics.resolution_constant": Assumption(
        0.02, "absolute", _ASSUMPTION + "shift of the resolution constant term, from the Michel-spectrum width"
    ),
    "systematics.efficiency": Assumption(
        0.02,
        "relative",
        _ASSUMPTION + "detection efficiency in the window; fully degenerate with the flux (adds in quadrature)",
    ),
    "systematics.deuteron_count": Assumption(
        0.005, "relative", _ASSUMPTION + "D2O mass and isotopic purity (99.9 % D) to 0.5 %"
    ),
    "systematics.pot": Assumption(
        0.01, "relative", _ASSUMPTION + "beam power and proton-energy accounting of the SNS; degenerate with the flux"
    ),
    "systematics.nud_cross_section": Assumption(
        REL_UNCERTAINTY_CC,
        "relative",
        "NSAPMGK 2002 (nucl-th/0201062) ~1 %; chiral EFT ~2 % higher with 2-3 % uncertainty (Baroni & Schiavilla "
        "arXiv:1704.02002; Acharya & Bacca arXiv:1911.12659)",
    ),
    "systematics.radiative_correction": Assumption(
        REL_UNCERTAINTY_RADIATIVE,
        "relative",
        "KRV radiative correction (Kurylov, Ramsey-Musolf, Vogel, hep-ph/0211306) versus Fukugita & Kubota "
        "(hep-ph/0509123): ~1 % difference on nu_e d CC",
    ),
    "systematics.o16_model": Assumption(
        1.0,
        "x (Nakazato - Kolbe)",
        _ASSUMPTION + "nu_e 16O CC model variation of the full Kolbe 2002 vs Nakazato 2018 difference (about 22 % of "
        "the flux-averaged rate; arXiv:1809.08398); no in-situ constraint",
    ),
    "systematics.other_cross_sections": Assumption(
        1.0, "x model uncertainty", "each cross-section model's stated uncertainty (d2oflux.xsec, with citations)"
    ),
}

#: Physics defaults that are not detector settings (documented in their modules).
PHYSICS = {
    "physics.radiative_correction": Assumption(
        "on", "", "KRV factor on nu-d CC (hep-ph/0211306); --no-radiative-corrections for the bare NSAPMGK table"
    ),
    "physics.o16_nc_gamma_probability": Assumption(
        0.5,
        "",
        _ASSUMPTION + "16O NC de-excitation gamma (6.2-6.3 MeV) per NC interaction; Langanke, Vogel & Kolbe, PRL 76, "
        "2629 (1996) compute 5-10 MeV gamma yields but their branching was not available to us; the lines lie below "
        "the 10 MeV window, so the default analysis does not depend on it",
    ),
}


#: The ``response.*`` settings of :data:`DEFAULTS` each response model uses; rows of the others are not listed
#: (a table or a COHERENT chain has no light yield or threshold of its own; the table's nominal resolution
#: constant is the reference of the resolution nuisance, the optical model's an extra term).
RESPONSE_SETTINGS_USED = {
    "analytic": ("light_yield_pe_per_MeV", "resolution_constant", "threshold_MeV", "efficiency"),
    "optical": ("resolution_constant", "threshold_MeV", "efficiency"),
    "table": ("resolution_constant",),
    "coherent_chain": (),
}


def default(key: str) -> Any:
    """The default value of ``key`` (e.g. ``"systematics.pot"``)."""
    return DEFAULTS[key].value


def _row(name: str, value: Any, unit: str, source: str) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "source": source}


def _source_for(key: str, value: Any, origin: str) -> str:
    entry = DEFAULTS[key]
    if isinstance(value, tuple):
        value = list(value)
    if value == entry.value:
        return entry.source
    return f"set in {origin}"


def assumption_rows(detector, facility, profile=None, *, radiative_corrections: bool = True) -> list[dict[str, Any]]:
    """The numbers a detector, facility and systematics profile use, each with its source.

    Returns a list of ``{"name", "value", "unit", "source"}`` rows: detector (distance, D2O mass, neutron
    capture on d), response (the settings its model uses, :data:`RESPONSE_SETTINGS_USED`), analysis window,
    backgrounds, systematics (after the profile), physics options and facility.
    """
    from .backgrounds import nd_capture_probability
    from .neutron_capture import detector_capture_fractions
    from .systematics import apply_profile, load_profile

    profile = load_profile(profile) if profile is None or isinstance(profile, str) else profile
    det = apply_profile(detector, profile)
    cfg = det.config
    rows = [
        _row("detector.distance_m", cfg.distance_m, "m", f"{detector.label} (the preset cites its source)"),
        _row(
            "detector.d2o_mass_kg",
            sum(r.mass_kg for r in cfg.regions if r.material == "D2O"),
            "kg",
            f"{detector.label} (the preset cites its source)",
        ),
    ]
    p_d = nd_capture_probability(det)
    if cfg.backgrounds.nd_capture_probability is None:
        fr = detector_capture_fractions(det)
        src = (
            f"age-diffusion model over the D2O geometry (d2oflux.neutron_capture; L = {fr.diffusion_length_cm:.0f} cm; "
            f"H {fr.H:.4f}, O {fr.O:.4f}, escape {fr.escape:.3f}); capture cross sections Sears 1992"
        )
    else:
        src = f"set in {detector.label}"
    rows.append(_row("physics.nd_capture_probability", p_d, "", src))
    used = {"response": RESPONSE_SETTINGS_USED[cfg.response.model], "analysis": tuple(cfg.analysis.model_dump())}
    for section in ("response", "analysis"):
        values = getattr(cfg, section).model_dump()
        for key in DEFAULTS:
            sec, field = key.split(".", 1)
            if sec == section and field in used[section]:
                v = values[field]
                v = list(v) if isinstance(v, tuple) else v
                rows.append(_row(key, v, DEFAULTS[key].unit, _source_for(key, v, detector.label)))
    for section in ("backgrounds", "systematics"):
        values = getattr(cfg, section).model_dump()
        for key in DEFAULTS:
            sec, field = key.split(".", 1)
            if sec == section:
                v = values[field]
                origin = f"systematics profile '{profile.name}'" if profile.changes(key) else detector.label
                rows.append(_row(key, v, DEFAULTS[key].unit, _source_for(key, v, origin)))
    rc = PHYSICS["physics.radiative_correction"]
    rows.append(_row("physics.radiative_correction", "on" if radiative_corrections else "off", "", rc.source))
    g = PHYSICS["physics.o16_nc_gamma_probability"]
    rows.append(_row("physics.o16_nc_gamma_probability", g.value, g.unit, g.source))
    fac_src = f"facility '{facility.name}' (its preset cites the source)"
    rows += [
        _row("facility.power_MW", facility.power_MW, "MW", fac_src),
        _row("facility.proton_energy_GeV", facility.proton_energy_GeV, "GeV", fac_src),
        _row("facility.repetition_rate_Hz", facility.repetition_rate_Hz, "Hz", fac_src),
        _row("facility.hours_per_year", facility.hours_per_year, "h", "COHERENT convention: an SNS-year is 5000 h"),
        _row(
            "facility.nu_per_proton",
            facility.nu_per_proton,
            "1/proton/flavour",
            facility.nu_per_proton_source or fac_src,
        ),
        _row("facility.nu_per_proton_rel_uncertainty", facility.nu_per_proton_rel_uncertainty, "relative", fac_src),
    ]
    return rows


def assumptions_markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table (``python -m d2oflux.assumptions [detector] [facility] [profile]``)."""
    lines = ["| name | value | unit | source |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['value']} | {r['unit']} | {r['source']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the assumption table of a detector, facility and systematics profile as Markdown."""
    import sys

    from .detector import load_detector
    from .setup import facility_for

    args = list(sys.argv[1:] if argv is None else argv)
    det = load_detector(args[0] if args else "d2o-module1")
    fac = facility_for(det, args[1] if len(args) > 1 else None)
    print(assumptions_markdown(assumption_rows(det, fac, args[2] if len(args) > 2 else None)))


if __name__ == "__main__":
    main()
