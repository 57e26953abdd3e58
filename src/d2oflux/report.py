"""The main job: ``d2oflux report``, the flux-normalisation study as an HTML page, figures and JSON.

Everything is written into a temporary folder and moved into place at the end through
:func:`d2oflux.outputs.atomic_folder`: a new output folder appears whole or not at all; an earlier
d2oflux report (recognised by its manifest) has exactly its own files replaced; any other non-empty
folder is refused before any work.
"""

from __future__ import annotations

import html
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from . import __version__
from .analysis.sensitivity import REFERENCES
from .detector import VESSEL_MASS_TOLERANCE, vessel_d2o_mass_kg
from .errors import ConfigError, check_seed, strict_json
from .materials import material

FIGURES = {
    "fig5_sensitivity": "Relative uncertainty of the flux normalisation versus exposure, from Asimov fits of the "
    "binned Poisson likelihood (reconstructed energy x time since the proton pulse, beam window plus an off-beam "
    "sideband). Dotted line: today's flux uncertainty, that of the facility's simulated neutrino yield (10 % at "
    "the SNS First Target Station, COHERENT, arXiv:2109.11049; the facility's source is in the table of "
    "assumptions). Markers and bars: the published projections listed in the table above.",
    "fig1_source": "The pion-decay-at-rest source. Left: energy spectra of the three flavours, the monoenergetic "
    "29.79 MeV nu_mu from pi+ -> mu+ nu_mu and the Michel spectra of nu_e and anti-nu_mu from mu+ decay. Right: "
    "arrival times after the proton pulse (Gaussian proton-on-target profile of sigma 150 ns from the COHERENT "
    "LAr data release, Zenodo 10.5281/zenodo.3903810; pion and muon lifetimes from the PDG).",
    "fig2_cross_sections": "Cross sections per target. nu-d CC and NC: Nakamura et al. (NSAPMGK), Nucl. Phys. A 707, "
    "561 (2002), nucl-th/0201062. nu_e 16O CC: Kolbe, Langanke and Vogel, Phys. Rev. D 66, 013007 (2002) (solid) "
    "and the four-group fit of Nakazato et al., PTEP 2018 123E02, arXiv:1809.08398 (dashed, each group from 0.3 MeV "
    "above its threshold). nu-e elastic scattering with radiative corrections. IBD: Strumia and Vissani, Phys. Lett. "
    "B 564, 42 (2003). CEvNS (dotted; Helm form factor, full recoil range) grows as N^2.",
    "fig3_energy": "Expected reconstructed-energy spectrum per SNS-year in the beam time window, stacked by reaction, "
    "with the steady-state and beam-neutron backgrounds (both design assumptions, see the table of assumptions). "
    "Nothing is drawn below the trigger threshold (dark grey); light grey: outside the analysis energy window. "
    "The legend gives the events per SNS-year inside the fit window.",
    "fig4_time": "Time since the proton pulse of the events in the analysis energy window, per reaction, per "
    "SNS-year: the prompt nu_mu and the beam neutrons arrive within about 1 us, the nu_e signal follows the muon "
    "lifetime, the steady-state background is flat.",
    "fig6_impacts": "Impact of each systematic on the flux uncertainty at the largest exposure: "
    "sqrt(sigma_total^2 - sigma^2 with that nuisance fixed). Impacts below 5 % of the largest are combined in "
    "quadrature into one bar. Their sizes are listed in the table of assumptions.",
    "fig7_propagation": "Predicted CEvNS event counts per SNS-year of the detector presets csi (CsI[Na], COHERENT "
    "2021 release, arXiv:2110.07730) and lar (CENNS-10, Zenodo 10.5281/zenodo.3903810), with the flux uncertainty "
    "of today (the facility's neutrino-yield uncertainty) and after the heavy-water measurement at the largest "
    "exposure. Counts only: "
    "the cross-section fits to the released data are in the figure above.",
    "fig8_cevns_xsec": "Uncertainty of the CEvNS cross section (relative to the Standard Model) fitted to the public "
    "COHERENT data: CsI[Na] (arXiv:2110.07730, ancillary files) and LAr CENNS-10 analysis A (arXiv:2006.12659, "
    "Zenodo 10.5281/zenodo.3903810). Grey: with today's flux prior (arXiv:2109.11049); blue: fitted jointly "
    "with this heavy-water detector's expected (Asimov) data after 1, 2 and 5 SNS-years, which then measure the "
    "flux; hatched: the flux known exactly, the floor set by the CEvNS data themselves.",
    "fig9_pe_map": "Mean photo-electrons per MeV of 30 MeV electrons (isotropic) versus vertex radius and height in "
    "the heavy water, from the optical model: Cherenkov light (Frank-Tamm) traced through the acrylic vessel, the "
    "light water and the Tyvek liner (reflectivity 0.933, diffuse) to the PMT photocathodes; PMT quantum "
    "efficiency: the bialkali curve of the collaboration's public Geant4 description of the module.",
    "fig10_resolution": "Relative spread of the photo-electron count versus electron energy, electrons uniform in "
    "the heavy water: the optical model (points, statistical errors), photo-electron statistics alone (dotted) "
    "and the analytic resolution assumed by default (dashed). The vertical light-collection gradient dominates.",
    "fig11_threshold_efficiency": "Fraction of electrons, uniform in the heavy water, whose reconstructed energy "
    "(photo-electrons divided by the volume-averaged light yield) is above the trigger threshold (dotted line).",
    "fig12_michel_closure": "Michel-electron calibration closure: electrons from cosmic muons stopping in the heavy "
    "water (mu+ free decay, PDG muon-decay review; mu- bound in oxygen with 18.4 % nuclear capture, Suzuki, "
    "Measday and Roalsvig, Phys. Rev. C 35, 2212 (1987)) simulated through the optical model, and the binned "
    "likelihood fit of light yield Y and constant resolution term c (iminuit) with its pulls.",
}

#: Figures drawn only when their section has its inputs (the optical model; COHERENT's public releases).
OPTICS_FIGURES = ("fig9_pe_map", "fig10_resolution", "fig11_threshold_efficiency", "fig12_michel_closure")
CEVNS_XSEC_FIGURES = ("fig8_cevns_xsec",)

#: Statistics of the report's optical part: the derived-response build (``None``: the detector's
#: ``[optics.build]``, by default 1000 electrons per energy) and the simulated Michel electrons.
#: ``"fast"`` is a reduced build for tests and previews (larger Monte Carlo errors; cached separately).
OPTICS_STATISTICS = {
    "full": {"build": None, "michel_events": 20_000},
    "fast": {"build": {"events_per_energy": 40, "map_events": 200}, "michel_events": 3_000},
}

#: D2O exposures [SNS-years] of the CEvNS cross-section propagation (the issue's 1, 2 and 5 SNS-years).
CEVNS_XSEC_YEARS = (1.0, 2.0, 5.0)


def make_report(
    detector: str = "d2o-module1",
    years: list[float] | None = None,
    output: str | Path = "d2oflux-report",
    *,
    seed: int = 20261125,
    ntoys: int = 500,
    cevns_detectors: tuple[str, ...] = ("csi", "lar"),
    progress: bool = True,
    facility: str | None = None,
    nu_per_proton: float | None = None,
    radiative_corrections: bool = True,
    systematics: str = "default",
    optics: bool = True,
    optics_statistics: str = "full",
    data_dir: str | Path | None = None,
) -> dict:
    """Compute the study and write ``report.html``, ``summary.json`` and figures into ``output``.

    Parameters
    ----------
    optics : bool
        Include the detector-response section: the optical model's derived response (built once per
        optical configuration, ~1-2 min, then cached) and a Michel-electron calibration closure.
    optics_statistics : {"full", "fast"}
        Statistics of that section (:data:`OPTICS_STATISTICS`); ``"fast"`` is for tests and previews.
    data_dir : path, optional
        Folder of COHERENT's public releases (``csi2021/``, ``lar2020/``) for the CEvNS cross-section
        propagation; default ``$D2OFLUX_DATA_DIR``, else they are downloaded (checksummed). When they cannot
        be had, the section says how to get them and the report is written without it.

    Returns the summary dictionary (the content of ``summary.json``).
    """
    from tqdm import tqdm

    from .analysis.model import build_model
    from .analysis.sensitivity import check_years
    from .analysis.toys import run_toys
    from .assumptions import assumption_rows
    from .outputs import atomic_folder, check_output_folder
    from .setup import build_setup
    from .study import sensitivity_study
    from .summary import rates_summary

    years = check_years(years if years is not None else [0.5, 1, 2, 3, 5])
    seed = check_seed(seed)
    if optics_statistics not in OPTICS_STATISTICS:
        raise ConfigError(
            f"optics_statistics: expected one of {', '.join(OPTICS_STATISTICS)}, got {optics_statistics!r}"
        )
    out = check_output_folder(output, "-o", legacy=_pre_manifest_report)
    steps = tqdm(total=8, desc="report", unit="step", disable=not progress, file=sys.stderr)
    det, src, exposure = build_setup(detector, 1.0, None, None, facility, nu_per_proton, True)
    model = build_model(det, src, exposure, radiative_corrections=radiative_corrections, systematics=systematics)
    steps.update()
    rates = rates_summary(model.expectation)
    sens, rows = sensitivity_study(model, years, list(cevns_detectors))
    steps.update()
    toys = run_toys(model.numpy_model(), ntoys, seed)
    steps.update()
    own_options = facility is None and nu_per_proton is None and systematics == "default" and radiative_corrections
    xsec, xsec_rows = cevns_xsec_study(detector, data_dir, progress, own_options)
    steps.update()
    if optics:
        optics_part, resp, cal = optics_study(det, seed, optics_statistics, progress)
    else:
        optics_part, resp, cal = {"included": False, "reason": "not computed (--no-optics)"}, None, None
    steps.update()
    summary = {
        "software": {"name": "d2oflux", "version": __version__},
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "seed": seed,
        "configuration": {
            "detector": det.name,
            "detector_toml": det.toml_text,
            "facility": src.facility.name,
            "mu_minus_dar": src.include_mu_minus_dar,
            "o16_model": "kolbe",
            "radiative_corrections": radiative_corrections,
            "systematics_profile": model.systematics_profile,
            "nu_per_proton": exposure.nu_per_proton,
        },
        "exposure_text": exposure_text(src.facility),
        "assumptions": assumption_rows(det, src.facility, systematics, radiative_corrections=radiative_corrections),
        "references": sens["references"],
        "rates_per_sns_year": rates,
        "events_in_window_per_sns_year": sens["events"],
        "sensitivity": {k: sens[k] for k in ("years", "stat_only", "stat_signal_only", "total")},
        "impacts": sens["impacts"],
        "propagation": sens["propagation"],
        "cevns_xsec_propagation": xsec,
        "optics": optics_part,
        "toys": _toys_summary(toys),
    }
    summary["configuration"]["facility_beam"] = _facility_beam(src.facility)
    if resp is not None:
        assumed = {a["name"]: a["value"] for a in summary["assumptions"]}.get("systematics.energy_scale")
        if assumed is not None:
            optics_part["michel"]["assumed_energy_scale_uncertainty"] = assumed
    summary["figures"] = [
        name
        for name in FIGURES
        if (name not in OPTICS_FIGURES or resp is not None) and (name not in CEVNS_XSEC_FIGURES or xsec_rows)
    ]
    with atomic_folder(out, "-o", legacy=_pre_manifest_report) as tmp:
        _figures(tmp, model, sens, rows, src)
        if xsec_rows:
            from .plots import cevns_xsec_figure

            labels = {d: _xsec_label(d) for d in xsec["datasets"]}
            _save(cevns_xsec_figure(xsec["rows"], labels), tmp, "fig8_cevns_xsec")
        if resp is not None:
            _optics_figures(tmp, resp, cal, optics_part["threshold_MeV"])
        steps.update(2)
        (tmp / "summary.json").write_text(strict_json(summary, indent=1), encoding="utf-8")
        (tmp / "report.html").write_text(_html(summary), encoding="utf-8")
    steps.update()
    steps.close()
    return summary


def cevns_xsec_study(
    detector: str, data_dir: str | Path | None, progress: bool, own_options: bool = True
) -> tuple[dict, list]:
    """The CEvNS cross-section propagation of :mod:`d2oflux.coherent.propagation` for the report.

    Returns (the ``summary.json`` part, the rows). Without COHERENT's public release files (not in
    ``data_dir`` / ``$D2OFLUX_DATA_DIR`` and not downloadable) the part is ``{"available": False,
    "reason": <how to get them>}`` and the rows are empty: the report is written without the section.
    ``own_options``: False when the report was asked for another facility, yield, systematics or radiative
    correction, which these fits (the detector file's defaults) do not follow; the page then says so.
    """
    from .coherent.fetch import REGISTRY, release_file
    from .coherent.propagation import DEFAULT_DATASETS, propagation_rows

    try:
        for key in REGISTRY:  # checksummed; from data_dir, $D2OFLUX_DATA_DIR or the download cache
            release_file(key, data_dir)
    except ConfigError as exc:
        return {"available": False, "reason": str(exc)}, []
    rows = propagation_rows(DEFAULT_DATASETS, CEVNS_XSEC_YEARS, detector, data_dir, progress=progress)
    part = {
        "available": True,
        "datasets": list(DEFAULT_DATASETS),
        "d2o_detector": detector,
        "years": list(CEVNS_XSEC_YEARS),
        "follows_report_options": own_options,
        "rows": [r.to_dict() for r in rows],
    }
    return part, rows


def optics_study(det, seed: int, statistics: str = "full", progress: bool = False) -> tuple[dict, object, object]:
    """The optical model's derived response and a Michel calibration closure, for the report.

    Returns (the ``summary.json`` part, the :class:`~d2oflux.optics.response.DerivedResponse`, the
    :class:`~d2oflux.optics.calibrate.Calibration`); the last two are None (and the part says why) for a
    detector with neither an ``[optics]`` section nor a D2O region. The Michel electrons (seed ``seed``) are
    simulated in the heavy and the light water; the calibration uses those in the heavy water, whose vertex
    distribution matches the signal's.
    """
    from .optics.calibrate import calibrate
    from .optics.config import OpticsConfig
    from .optics.michel import simulate_michel
    from .optics.plots import optics_summary
    from .optics.response import derived_response

    if det.config.optics is None and not any(r.material == "D2O" for r in det.regions):
        reason = f"detector '{det.name}' has no [optics] section and no D2O region: no optical model"
        return {"included": False, "reason": reason}, None, None
    cfg = det.config.optics or OpticsConfig()
    stats = OPTICS_STATISTICS[statistics]
    if stats["build"] is not None:
        cfg = cfg.model_copy(update={"build": cfg.build.model_copy(update=stats["build"])})
    resp = derived_response(cfg, progress=progress)
    michel = simulate_michel(cfg, stats["michel_events"], seed)
    in_d2o = michel["region"] == "d2o"
    cal = calibrate(michel["pe"][in_d2o].astype(float))
    r = det.config.response
    part = {"included": True, "statistics": statistics, "config_digest": resp.digest}
    part["optics_source"] = "detector" if det.config.optics is not None else "default"
    d2o_kg = sum(r.mass_kg for r in det.regions if r.material == "D2O")
    v = cfg.vessel
    vessel_kg = vessel_d2o_mass_kg(v, material("D2O").density_g_cm3)
    if det.config.optics is None and d2o_kg > 0 and abs(vessel_kg / d2o_kg - 1.0) > VESSEL_MASS_TOLERANCE:
        part["geometry_note"] = (
            f"detector '{det.name}' has no [optics] section, so this section shows the optical model's default "
            f"design (the module's vessel, {vessel_kg:.0f} kg of D2O), not this detector's {d2o_kg:.0f} kg; add an "
            "[optics] section describing its geometry to derive its own response"
        )
    part.update(optics_summary(resp, cal, r.threshold_MeV))
    part["threshold_MeV"] = r.threshold_MeV
    part["build"] = {
        "events_per_energy": cfg.build.events_per_energy,
        "map_events": cfg.build.map_events,
        "energies_MeV": list(cfg.build.energies_MeV),
        "seed": cfg.build.seed,
    }
    analysis = {"model": r.model}
    if r.model == "analytic":
        y, c = r.light_yield_pe_per_MeV, r.resolution_constant
        analysis.update(
            light_yield_pe_per_MeV=y,
            resolution_constant=c,
            resolution_at_30MeV=float(np.sqrt(1.0 / (y * 30.0) + c**2)),  # sigma_E/E = sqrt(1/(Y E) + c^2)
        )
        part["derived_over_analysis_light_yield"] = resp.light_yield_pe_per_MeV / y
    part["analysis_response"] = analysis
    part["michel"].update(
        events_simulated=stats["michel_events"],
        events_in_d2o=int(in_d2o.sum()),
        seed=seed,
        derived_light_yield_pe_per_MeV=resp.light_yield_pe_per_MeV,
        fitted_over_derived_light_yield=cal.light_yield / resp.light_yield_pe_per_MeV,
    )
    return part, resp, cal


def _optics_figures(folder: Path, resp, cal, threshold_MeV: float) -> None:
    from .optics import plots as optics_plots

    _save(optics_plots.pe_map_figure(resp), folder, "fig9_pe_map", dpi=150)
    _save(optics_plots.resolution_figure(resp), folder, "fig10_resolution", dpi=150)
    fig = optics_plots.threshold_efficiency_figure(resp, threshold_MeV)
    _save(fig, folder, "fig11_threshold_efficiency", dpi=150)
    _save(optics_plots.michel_closure_figure(cal), folder, "fig12_michel_closure", dpi=150)


def exposure_text(facility) -> str:
    """What one year of the facility means, e.g. "5000 h at 2.0 MW, 1.3 GeV (sns-fts-ppu)" with its POT."""
    return (
        f"{facility.hours_per_year:g} h at {facility.power_MW:g} MW, {facility.proton_energy_GeV:g} GeV "
        f"({facility.name}; {facility.pot_per_year:.3e} protons on target per year)"
    )


#: The files d2oflux 0.1.0 wrote into a report folder, before reports had a manifest.
_PRE_MANIFEST_FIGURES = (
    "fig1_source",
    "fig2_cross_sections",
    "fig3_energy",
    "fig4_time",
    "fig5_sensitivity",
    "fig6_impacts",
    "fig7_propagation",
)
_PRE_MANIFEST_FILES = (
    "report.html",
    "summary.json",
    *(f"{name}.{ext}" for name in _PRE_MANIFEST_FIGURES for ext in ("png", "pdf")),
)


def _pre_manifest_report(folder: Path) -> list[str] | None:
    """The files of a report written by d2oflux before reports had a manifest, else None.

    Recognised by its ``summary.json`` (``software.name == "d2oflux"``); only the names that version
    wrote (:data:`_PRE_MANIFEST_FILES`) count as its files.
    """
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    if summary["software"]["name"] != "d2oflux":
        return None
    return sorted(n for n in _PRE_MANIFEST_FILES if (folder / n).is_file())


def _save(fig, folder: Path, name: str, dpi: int = 100) -> None:
    """Write a figure as PNG (``dpi``) and PDF (reproducible PDF: no creation date)."""
    from .plots import style

    with style():
        fig.savefig(folder / f"{name}.png", dpi=dpi)
        fig.savefig(folder / f"{name}.pdf", metadata={"CreationDate": None})


def _figures(folder: Path, model, sens: dict, rows, src) -> None:
    from . import plots

    exp = model.expectation
    _save(plots.source_figure(src.timing), folder, "fig1_source")
    _save(plots.cross_section_figure(cross_section_curves()), folder, "fig2_cross_sections")
    e_sl, t_sl = exp.window_slices()
    reco_edges = exp.response.reco_edges_MeV
    bkg = model.backgrounds
    years = exp.exposure.years
    stacks = {}
    times = {}
    for name, ch in exp.channels.items():
        if "@" in name or ch.detected <= 0:
            continue
        v = ch.reco_time_counts
        stacks[name] = v[:, t_sl].sum(axis=1) / years
        times[name] = v[e_sl, :].sum(axis=0) / years
    stacks["steady_state"] = bkg.steady_state_on[:, t_sl].sum(axis=1) / years
    stacks["beam_neutrons"] = bkg.beam_neutrons[:, t_sl].sum(axis=1) / years
    times["steady_state"] = bkg.steady_state_on[e_sl, :].sum(axis=0) / years
    times["beam_neutrons"] = bkg.beam_neutrons[e_sl, :].sum(axis=0) / years
    cfg = exp.detector.config
    # the lowest reconstructed energy the response can produce (its threshold, analytic or from a table)
    accepted = exp.response.matrix.sum(axis=0) > 0
    threshold = float(reco_edges[np.argmax(accepted)]) if accepted.any() else float(reco_edges[0])
    fig = plots.energy_stack_figure(reco_edges, stacks, cfg.analysis.energy_window_MeV, threshold, sens["events"])
    _save(fig, folder, "fig3_energy")
    _save(plots.time_figure(exp.detector.time_edges_ns, times), folder, "fig4_time")
    today = src.facility.nu_per_proton_rel_uncertainty
    fig = plots.sensitivity_figure(_sensitivity_curves(sens), today, sens.get("references", REFERENCES))
    _save(fig, folder, "fig5_sensitivity")
    _save(plots.impacts_figure(sens["impacts"], max(sens["years"])), folder, "fig6_impacts")
    _save(plots.propagation_figure(rows), folder, "fig7_propagation")


def _sensitivity_curves(sens: dict) -> dict:
    """``years`` and every per-exposure list of the sensitivity result (stat only, total, and any others)."""
    from .plots import per_exposure_keys

    # ``stat_all_nuisances_fixed`` is the same list as ``stat_only`` (kept in the JSON for its clear name)
    keys = [k for k in per_exposure_keys(sens) if k != "stat_all_nuisances_fixed"]
    return {k: sens[k] for k in ["years", *keys]}


def _facility_beam(facility) -> dict:
    """What one year of exposure means at this facility: hours at nominal power and proton energy."""
    return {
        "power_MW": facility.power_MW,
        "proton_energy_GeV": facility.proton_energy_GeV,
        "hours_per_year": facility.hours_per_year,
        "nu_per_proton": facility.nu_per_proton,
        "nu_per_proton_rel_uncertainty": facility.nu_per_proton_rel_uncertainty,
        "nu_per_proton_source": facility.nu_per_proton_source,
    }


def cross_section_curves(step_MeV: float = 0.02) -> list:
    """Cross-section curves per target for the report's figure 2 (:class:`d2oflux.plots.Curve`).

    Each curve is sampled every ``step_MeV`` from 0.5 to 55 MeV; the Nakazato 16O fit, whose groups switch on
    0.3 MeV above their thresholds E_g, is also sampled densely just above each switch-on, so it is drawn smooth.
    """
    from .plots import CEVNS_STYLE, CHANNEL_STYLE, ChannelStyle, Curve
    from .xsec import CEvNSCrossSection, DeuteronNC, InverseBetaDecay, NueDeuteronCC, NuElectronES, NueO16CC
    from .xsec.oxygen import NAKAZATO_GROUPS, NAKAZATO_ONSET_MEV

    E = np.arange(0.5, 55.0 + step_MeV / 2, step_MeV)
    onsets = [Eg + NAKAZATO_ONSET_MEV for Eg, *_ in NAKAZATO_GROUPS]
    E_nakazato = np.union1d(E, np.concatenate([o + np.geomspace(1e-4, 1.0, 200) for o in onsets]))
    o16 = CHANNEL_STYLE["nue_o16_cc"].colour
    entries = [
        (r"$\nu_e d$ CC (NSAPMGK)", NueDeuteronCC(), E, CHANNEL_STYLE["nue_d_cc"]),
        (r"$\nu d$ NC (NSAPMGK)", DeuteronNC("nu_e"), E, CHANNEL_STYLE["nc_d"]),
        (r"$\nu_e\,^{16}$O CC (Kolbe)", NueO16CC("kolbe"), E, CHANNEL_STYLE["nue_o16_cc"]),
        (r"$\nu_e\,^{16}$O CC (Nakazato)", NueO16CC("nakazato"), E_nakazato, ChannelStyle(o16, "", "--")),
        (r"$\nu_e e$ ES", NuElectronES("nu_e"), E, CHANNEL_STYLE["es_nue"]),
        (r"$\nu_\mu e$ ES", NuElectronES("nu_mu"), E, CHANNEL_STYLE["es_numu"]),
        (r"$\bar\nu_\mu e$ ES", NuElectronES("anti_nu_mu"), E, CHANNEL_STYLE["es_anumu"]),
        (r"$\bar\nu_e p$ IBD", InverseBetaDecay(), E, CHANNEL_STYLE["ibd_h"]),
    ]
    curves = [Curve(x, xs.sigma(x), label, st) for label, xs, x, st in entries]
    for sym, st in CEVNS_STYLE.items():
        curves.append(Curve(E, CEvNSCrossSection(sym, "nu_e").sigma(E), f"CEvNS on {sym}", st))
    return curves


def fmt(value: float) -> str:
    """How every number appears in the page: 4 significant digits, whole numbers below 10^10 in full."""
    if float(value).is_integer() and abs(value) < 1e10:
        return f"{value:.0f}"
    return f"{value:.4g}"


def _attrs(key: str, value: float) -> str:
    return f'data-key="{html.escape(key)}" data-value="{float(value)!r}"'


def _num(key: str, value: float, pct: bool = False) -> str:
    """A table cell carrying its exact value and its summary.json key, so readers and tests can check it."""
    shown = fmt(100 * value) + " %" if pct else fmt(value)
    return f'<td class="num" {_attrs(key, value)}>{shown}</td>'


def _span(key: str, value: float, pct: bool = False) -> str:
    """A number in running text, carrying its summary.json key like :func:`_num`."""
    shown = fmt(100 * value) + " %" if pct else fmt(value)
    return f'<span class="n" {_attrs(key, value)}>{shown}</span>'


def _table(header: list[str], rows: list[str], cls: str = "") -> str:
    """A table in a horizontally scrolling container (so a phone never scrolls the page sideways)."""
    head = "".join(f"<th scope='col'>{h}</th>" for h in header)
    body = "".join(rows)
    return f"<div class='scroll'><table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


_CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;max-width:1080px;
margin:0 auto;padding:0 16px 3em;line-height:1.5;color:#1d2330;overflow-wrap:break-word}
h1{font-size:1.7em;line-height:1.25;margin:0.8em 0 0.3em}
h2{font-size:1.3em;margin:2em 0 0.5em;padding-bottom:0.2em;border-bottom:2px solid #3f90da}
h3{font-size:1.05em;margin:1.4em 0 0.3em}
.lead{color:#444}
.headline{background:#eef5fc;border-left:6px solid #3f90da;padding:0.9em 1.1em;margin:1.2em 0;border-radius:4px}
.headline p{margin:0.3em 0}
.big{font-size:1.9em;font-weight:700;color:#1b4f8a;white-space:nowrap}
.scroll{overflow-x:auto;max-width:100%;margin:0.6em 0}
table{border-collapse:collapse;font-size:0.92em}
th,td{padding:4px 10px;border-bottom:1px solid #dde2ea;text-align:left;vertical-align:top}
thead th{background:#f2f5f9;border-bottom:2px solid #b9c3d1;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.group th{background:#e7eef8;text-align:left;font-weight:600;padding-top:8px}
tr.signal td{font-weight:700;background:#f5f9ff}
tr.minor td{color:#778}
td.src{font-size:0.92em;color:#445;min-width:12em}
figure{margin:1.6em 0}
img{max-width:min(100%,940px);height:auto;display:block;margin:0 auto}
figcaption{font-size:0.9em;color:#444;margin-top:0.4em}
pre{background:#f5f6f8;padding:1em;white-space:pre-wrap;word-break:break-word;font-size:0.82em}
nav{font-size:0.92em;margin:0.5em 0 1em}
nav a{margin-right:0.9em;white-space:nowrap}
.tag{display:inline-block;font-size:0.8em;padding:0 6px;border-radius:3px;background:#fff2d6;color:#7a4b00}
.tag.cited{background:#e4f4e8;color:#1e5a2c}
@media (max-width:600px){body{padding:0 10px 2em;font-size:15px}h1{font-size:1.35em}.big{font-size:1.5em}
th,td{padding:3px 6px}thead th{white-space:normal}}
"""


def _channel_label(name: str) -> str:
    from .plots import CHANNEL_LABEL

    return _tex_to_html(CHANNEL_LABEL.get(name, name))


def _tex_to_html(label: str) -> str:
    """The few LaTeX pieces of the plot labels as HTML (nu, bar, superscripts, arrows)."""
    out = html.escape(label)
    for tex, rep in (
        (r"\bar\nu_e", "&nu;&#772;<sub>e</sub>"),
        (r"\bar\nu_\mu", "&nu;&#772;<sub>&mu;</sub>"),
        (r"\nu_e", "&nu;<sub>e</sub>"),
        (r"\nu_\mu", "&nu;<sub>&mu;</sub>"),
        (r"\nu", "&nu;"),
        (r"\to", "&rarr;"),
        (r"\,", ""),
        ("^{16}", "<sup>16</sup>"),
        ("^-", "<sup>&minus;</sup>"),
        ("$", ""),
    ):
        out = out.replace(tex, rep)
    return out


def _headline_years(years: list[float]) -> int:
    """Index of the exposure quoted in the headline: 2 SNS-years (the published projections) or the nearest."""
    return min(range(len(years)), key=lambda i: (abs(years[i] - 2.0), -years[i]))


def _headline(s: dict) -> str:
    cfg = s["configuration"]
    sens = s["sensitivity"]
    i = _headline_years(sens["years"])
    j = len(sens["years"]) - 1
    today = cfg["facility_beam"]["nu_per_proton_rel_uncertainty"]
    xsec = s.get("cevns_xsec_propagation") or {}
    extra = "".join(
        f"<p>{html.escape(k.replace('_', ' '))}: <b>{html.escape(str(v))}</b></p>"
        for k, v in sens.items()
        if isinstance(v, str)
    )
    return (
        "<section class='headline' id='answer'>"
        f"<p>After {_span(f'sensitivity.years.{i}', sens['years'][i])} SNS-years this detector measures the neutrino "
        f"flux to <span class='big'>{_span(f'sensitivity.total.{i}', sens['total'][i], True)}</span> "
        f"(statistics alone: {_span(f'sensitivity.stat_only.{i}', sens['stat_only'][i], True)}), against today's "
        f"{_span('configuration.facility_beam.nu_per_proton_rel_uncertainty', today, True)} "
        "(the uncertainty of the facility's simulated neutrino yield; its source is in the table of assumptions)."
        "</p>"
        f"<p>After {_span(f'sensitivity.years.{j}', sens['years'][j])} SNS-years: "
        f"{_span(f'sensitivity.total.{j}', sens['total'][j], True)} total, "
        f"{_span(f'sensitivity.stat_only.{j}', sens['stat_only'][j], True)} statistical. "
        "The systematics that limit it and every assumed number are listed below.</p>"
        + (f"<p>{_xsec_sentence(xsec)}</p>" if xsec.get("available") else "")
        + f"{extra}</section>"
    )


def _sensitivity_section(s: dict) -> str:
    from .plots import SENSITIVITY_CURVES, per_exposure_keys

    sens = s["sensitivity"]
    keys = per_exposure_keys(sens)
    rows = []
    for i, y in enumerate(sens["years"]):
        rows.append(
            f"<tr>{_num(f'sensitivity.years.{i}', y)}"
            + "".join(_num(f"sensitivity.{k}.{i}", sens[k][i], True) for k in keys)
            + "</tr>"
        )
    labels = {k: SENSITIVITY_CURVES.get(k, (k.replace("_", " "),))[0] for k in keys}
    header = ["SNS-years"] + [html.escape(labels[k]) for k in keys]
    ref_rows = []
    for i, r in enumerate(s["references"]):
        u = r["relative_uncertainty"]
        if isinstance(u, list | tuple):
            cell = (
                "<td class='num'>"
                + " &ndash; ".join(_span(f"references.{i}.relative_uncertainty.{k}", x, True) for k, x in enumerate(u))
                + "</td>"
            )
        else:
            cell = _num(f"references.{i}.relative_uncertainty", u, True)
        ref_rows.append(
            f"<tr><td>{html.escape(r['label'])}</td>{_num(f'references.{i}.years', r['years'])}{cell}"
            f"<td class='src'>{html.escape(r['source'])}</td></tr>"
        )
    return (
        "<h2 id='sensitivity'>Flux precision versus exposure</h2>"
        + _figure("fig5_sensitivity")
        + _table(header, rows)
        + "<h3>Published projections</h3>"
        + _table(["projection", "SNS-years", "flux uncertainty", "source"], ref_rows)
    )


def _assumptions_section(s: dict) -> str:
    rows = []
    for i, a in enumerate(s["assumptions"]):
        v = a["value"]
        if isinstance(v, bool) or v is None or isinstance(v, str):
            cell = f"<td class='num'>{html.escape(str(v))}</td>"
        elif isinstance(v, list | tuple):
            cell = (
                "<td class='num'>"
                + " &ndash; ".join(_span(f"assumptions.{i}.value.{k}", x) for k, x in enumerate(v))
                + "</td>"
            )
        else:
            cell = _num(f"assumptions.{i}.value", v)
        source = str(a.get("source", ""))
        tag = "tag" if source.lower().startswith("assumption") else "tag cited"
        rows.append(
            f"<tr><td>{html.escape(str(a['name']))}</td>{cell}<td>{html.escape(str(a.get('unit', '')))}</td>"
            f"<td class='src'><span class='{tag}'>{html.escape(source)}</span></td></tr>"
        )
    return (
        "<h2 id='assumptions'>What the answer rests on</h2>"
        "<p>Every number the projection depends on that is not a law of physics: measured or published values "
        "with their source, and design assumptions (labelled <span class='tag'>assumption</span>), which the "
        "detector file can override.</p>" + _table(["quantity", "value", "unit", "source"], rows)
    )


def _channels_section(s: dict) -> str:
    from .plots import channel_sort_key, family_of

    rates = s["rates_per_sns_year"]
    channels = rates["channels"]
    events = s["events_in_window_per_sns_year"]
    base = sorted([k for k in channels if "@" not in k], key=channel_sort_key)
    extra = [k for k in events if k not in channels]
    rows, family = [], None
    for name in base + sorted(extra, key=channel_sort_key):
        fam = family_of(name)
        if fam != family:
            family = fam
            rows.append(f"<tr class='group'><th colspan='4' scope='colgroup'>{html.escape(fam)}</th></tr>")
        c = channels.get(name)
        cells = (
            _num(f"rates_per_sns_year.channels.{name}.interactions", c["interactions"])
            + _num(f"rates_per_sns_year.channels.{name}.detected", c["detected"])
            if c
            else "<td class='num'>&ndash;</td><td class='num'>&ndash;</td>"
        )
        fit = _num(f"events_in_window_per_sns_year.{name}", events[name]) if name in events else "<td></td>"
        cls = "signal" if name == "nue_d_cc" else ("minor" if name in events and events[name] < 0.01 else "")
        rows.append(f"<tr class='{cls}'><td>{_channel_label(name)}</td>{cells}{fit}</tr>")
    main = _table(["reaction", "interactions", "detected (response, windows)", "in the fit"], rows, "channels")
    detected: dict[str, float] = {}
    for k, c in channels.items():
        if "@" in k:
            detected[k.split("@")[1]] = detected.get(k.split("@")[1], 0.0) + c["detected"]
    regions = sorted(detected, key=lambda r: -detected[r])  # the signal region first
    if not regions:
        return main
    sub = []
    for name in base:
        cells = ""
        for r in regions:
            key = f"{name}@{r}"
            if key in channels:
                cells += _num(f"rates_per_sns_year.channels.{key}.interactions", channels[key]["interactions"])
                cells += _num(f"rates_per_sns_year.channels.{key}.detected", channels[key]["detected"])
            else:
                cells += "<td class='num'>&ndash;</td><td class='num'>&ndash;</td>"
        sub.append(f"<tr><td>{_channel_label(name)}</td>{cells}</tr>")
    header = ["reaction"] + [f"{html.escape(r)}: {w}" for r in regions for w in ("interactions", "detected")]
    return main + "<h3>Per region of the detector</h3>" + _table(header, sub)


def _html(s: dict) -> str:
    cfg = s["configuration"]
    rates = s["rates_per_sns_year"]
    beam = cfg["facility_beam"]
    det = html.escape(cfg["detector"])
    fac = html.escape(cfg["facility"])
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<link rel='icon' href='data:,'>",
        f"<title>d2oflux report: {det}</title><style>{_CSS}</style></head><body>",
        f"<h1>Measuring the SNS neutrino flux with heavy water: {det}</h1>",
        f"<p class='lead'>Projection for the detector <b>{det}</b> at the facility <b>{fac}</b>: how well "
        "&nu;<sub>e</sub> + d &rarr; e<sup>&minus;</sup> + p + p, whose cross section theory knows to 2-3 %, "
        "normalises the pion-decay-at-rest neutrino flux that every COHERENT CEvNS measurement relies on.</p>",
        _headline(s),
        "<nav><a href='#sensitivity'>precision vs exposure</a><a href='#assumptions'>assumptions</a>"
        "<a href='#events'>expected events</a><a href='#impacts'>systematics</a>"
        "<a href='#propagation'>CEvNS detectors</a><a href='#response'>detector response</a>"
        "<a href='#validation'>validation</a>"
        "<a href='#configuration'>configuration</a></nav>",
        _sensitivity_section(s),
        _assumptions_section(s),
        "<h2 id='events'>Expected events per SNS-year</h2>",
        f"<p>One SNS-year at {fac} is {_span('configuration.facility_beam.hours_per_year', beam['hours_per_year'])} h "
        f"at {_span('configuration.facility_beam.power_MW', beam['power_MW'])} MW and "
        f"{_span('configuration.facility_beam.proton_energy_GeV', beam['proton_energy_GeV'])} GeV, i.e. "
        f"{_span('rates_per_sns_year.exposure.pot', rates['exposure']['pot'])} protons on target. Fluence per "
        "flavour at the detector [&nu;/cm<sup>2</sup>]: "
        + ", ".join(
            f"{_tex_to_html(_flavour(k))} {_span(f'rates_per_sns_year.flux_per_flavour_cm2.{k}', v)}"
            for k, v in rates["flux_per_flavour_cm2"].items()
        )
        + ". <i>Interactions</i>: in the whole detector; <i>detected</i>: after the response, the threshold and "
        "the energy and time windows; <i>in the fit</i>: what the likelihood sees.</p>",
        _channels_section(s),
    ]
    for fig in ("fig3_energy", "fig4_time", "fig1_source", "fig2_cross_sections"):
        parts.append(_figure(fig))
    parts.append(_impacts_section(s))
    parts.append(_propagation_section(s))
    parts.append(_optics_section(s))
    parts.append(_validation_section(s))
    parts.append(
        "<h2 id='configuration'>Configuration</h2>"
        f"<p>Software: d2oflux {html.escape(s['software']['version'])}; generated {html.escape(s['date_utc'])} UTC; "
        f"toy seed <span data-key='seed' data-value='{s['seed']}'>{s['seed']}</span>. Reproduce with "
        f"<code>d2oflux report --detector {det}</code>. Facility {fac}; mu<sup>&minus;</sup> decay-at-rest "
        f"contamination included: {cfg['mu_minus_dar']}; &nu;<sub>e</sub> <sup>16</sup>O model: "
        f"{html.escape(cfg['o16_model'])}.</p>"
        "<details><summary>The detector file used, in full</summary>"
        f"<pre>{html.escape(cfg['detector_toml'], quote=False)}</pre></details>"
        "<p>Every number on this page is in <a href='summary.json'>summary.json</a>; figures are also given as "
        "PDF next to the PNGs.</p></body></html>"
    )
    return "\n".join(parts)


def _flavour(name: str) -> str:
    from .plots import FLAVOUR_LABEL

    return FLAVOUR_LABEL.get(name, name)


def _impacts_section(s: dict) -> str:
    from .plots import group_impacts, nuisance_label

    years = max(s["sensitivity"]["years"])
    shown, others = group_impacts(s["impacts"])
    rows = [
        f"<tr class='{'minor' if k in others else ''}'><td>{_tex_to_html(nuisance_label(k))}</td>"
        f"<td><code>{html.escape(k)}</code></td>{_num(f'impacts.{k}', v, True)}</tr>"
        for k, v in {**shown, **others}.items()
    ]
    return (
        f"<h2 id='impacts'>What limits the precision: systematics at {fmt(years)} SNS-years</h2>"
        + _figure("fig6_impacts")
        + _table(["systematic", "nuisance parameter", "impact"], rows)
    )


def _propagation_section(s: dict) -> str:
    years = s["sensitivity"]["years"]
    j = max(range(len(years)), key=years.__getitem__)  # the largest exposure
    rows = []
    for name, r in s["propagation"].items():
        rows.append(
            f"<tr><td>{html.escape(name)}</td>{_num(f'propagation.{name}.distance_m', r['distance_m'])}"
            f"{_num(f'propagation.{name}.mass_kg', r['mass_kg'])}"
            f"{_num(f'propagation.{name}.cevns_detected_per_year', r['cevns_detected_per_year'])}"
            f"{_num(f'propagation.{name}.detected_uncertainty_today', r['detected_uncertainty_today'])}"
            f"{_num(f'propagation.{name}.detected_uncertainty_projected', r['detected_uncertainty_projected'])}</tr>"
        )
    header = [
        "detector",
        "distance [m]",
        "mass [kg]",
        "CEvNS detected / SNS-year",
        "&plusmn; today",
        "&plusmn; projected",
    ]
    return (
        "<h2 id='propagation'>What it means for COHERENT's CEvNS measurements</h2>"
        + _cevns_xsec_section(s)
        + "<h3>Predicted CEvNS event counts (detector presets csi and lar)</h3>"
        "<p>The CEvNS events the presets <code>csi</code> and <code>lar</code> (CsI[Na] and CENNS-10 with their "
        "released response chains) expect per SNS-year, and their flux uncertainty today and after this "
        f"detector's measurement at {_span(f'sensitivity.years.{j}', s['sensitivity']['years'][j])} SNS-years.</p>"
        + _table(header, rows)
        + _figure("fig7_propagation")
    )


def _xsec_label(dataset: str) -> str:
    """A reader's name for a COHERENT data set."""
    return {"coherent-csi-2021": "CsI[Na] 2021", "coherent-lar-2020": "LAr CENNS-10 2020"}.get(dataset, dataset)


def _cevns_xsec_section(s: dict) -> str:
    x = s.get("cevns_xsec_propagation") or {"available": False, "reason": "not computed"}
    head = "<h3 id='cevns-xsec'>CEvNS cross section of the CsI and LAr data sets</h3>"
    if not x["available"]:
        return (
            head + "<p class='missing'>This part needs COHERENT's public data releases (CsI[Na], arXiv:2110.07730; "
            f"LAr, Zenodo 10.5281/zenodo.3903810), which could not be read: {html.escape(x['reason'])}.</p>"
        )
    rows = []
    for i, r in enumerate(x["rows"]):
        k = f"cevns_xsec_propagation.rows.{i}"
        cls = " class='signal'" if r["years"] == 2.0 else ""
        rows.append(
            f"<tr{cls}><td>{html.escape(_xsec_label(r['dataset']))}</td><td>{html.escape(r['flux_constraint'])}</td>"
            f"{_num(f'{k}.flux_uncertainty', r['flux_uncertainty'], True)}{_num(f'{k}.cevns_xsec', r['cevns_xsec'])}"
            f"{_num(f'{k}.cevns_xsec_uncertainty', r['cevns_xsec_uncertainty'], True)}</tr>"
        )
    note = (
        ""
        if x["follows_report_options"]
        else "<p>These fits use the detector file's own facility and default systematics, not the facility, "
        "neutrino yield, systematics or radiative-correction options this report was run with.</p>"
    )
    return (
        head + f"<p>{_xsec_sentence(x)} Each public data set (CsI[Na]: arXiv:2110.07730; LAr CENNS-10 analysis A: "
        "arXiv:2006.12659) is fitted for the CEvNS cross section relative to the Standard Model, "
        "&sigma;<sub>CEvNS</sub>/&sigma;<sub>SM</sub>, with its own nuisances: with today's flux prior, jointly "
        f"with the expected (Asimov) data of <b>{html.escape(x['d2o_detector'])}</b> (whose data then measure the "
        "flux; beam-power accounting shared), and with the flux known exactly (the floor set by the CEvNS data "
        "themselves).</p>"
        + note
        + _figure("fig8_cevns_xsec")
        + _table(
            ["data set", "flux constraint", "flux &plusmn;", "&sigma;/&sigma;<sub>SM</sub> fitted", "&plusmn;"], rows
        )
    )


def _xsec_sentence(x: dict) -> str:
    """The data sets' CEvNS cross-section uncertainty today and after 2 SNS-years of this detector (one sentence)."""
    parts = []
    for d in x["datasets"]:
        idx = {r["flux_constraint"]: i for i, r in enumerate(x["rows"]) if r["dataset"] == d}
        today = next(i for c, i in idx.items() if c.startswith("today"))
        two = next((i for i, r in enumerate(x["rows"]) if r["dataset"] == d and r["years"] == 2.0), None)
        if two is None:
            continue
        k = "cevns_xsec_propagation.rows"
        parts.append(
            f"{html.escape(_xsec_label(d))}: from "
            f"{_span(f'{k}.{today}.cevns_xsec_uncertainty', x['rows'][today]['cevns_xsec_uncertainty'], True)} "
            f"today to {_span(f'{k}.{two}.cevns_xsec_uncertainty', x['rows'][two]['cevns_xsec_uncertainty'], True)}"
        )
    if not parts:
        return ""
    return (
        "The uncertainty of the fitted CEvNS cross section after 2 SNS-years of this detector: "
        + "; ".join(parts)
        + "."
    )


def _optics_section(s: dict) -> str:
    o = s.get("optics") or {"included": False, "reason": "not computed"}
    head = "<h2 id='response'>Detector response from the optical model</h2>"
    if not o["included"]:
        return head + f"<p>{html.escape(o['reason'][0].upper() + o['reason'][1:])}.</p>"
    a = o["analysis_response"]
    m = o["michel"]
    ly = o["light_yield_pe_per_MeV"]
    if a["model"] == "analytic":
        uses = (
            f"The analysis above assumes the analytic response of the detector file, "
            f"{_span('optics.analysis_response.light_yield_pe_per_MeV', a['light_yield_pe_per_MeV'])} PE/MeV "
            f"(see the assumptions): the optical model gives "
            f"{_span('optics.derived_over_analysis_light_yield', o['derived_over_analysis_light_yield'])} times that, "
            "and a resolution set by where in the vessel the light is made. Set <code>[response] model = "
            '"optical"</code> in the detector file to use the derived response in the fit.'
        )
    elif a["model"] == "optical":
        uses = 'The analysis above uses this derived response (<code>[response] model = "optical"</code>).'
    else:
        uses = f"The analysis above uses a <code>{html.escape(a['model'])}</code> response, not this one."
    fast = (
        '<p><i>Reduced statistics</i> (<code>optics_statistics="fast"</code>): the numbers carry larger Monte '
        "Carlo errors than a full report's.</p>"
        if o["statistics"] != "full"
        else ""
    )
    analytic = a["model"] == "analytic"

    def row(label: str, key: str, value: float, analysis_key: str | None = None, unit: str = "") -> str:
        other = (
            _num(f"optics.analysis_response.{analysis_key}", a[analysis_key])
            if analytic and analysis_key
            else "<td class='num'>&ndash;</td>"
        )
        return f"<tr><td>{label}</td>{_num(f'optics.{key}', value)}{other}<td>{unit}</td></tr>"

    rows = [
        row("light yield, electrons uniform in the D2O", "light_yield_pe_per_MeV", ly, "light_yield_pe_per_MeV",
            "PE/MeV"),
        row("light yield at the centre", "light_yield_center_pe_per_MeV", o["light_yield_center_pe_per_MeV"],
            unit="PE/MeV"),
        row("resolution &sigma;/E at 30 MeV", "resolution_at_30MeV", o["resolution_at_30MeV"], "resolution_at_30MeV"),
        row(f"efficiency at 10 MeV above the {_span('optics.threshold_MeV', o['threshold_MeV'])} MeV threshold",
            "threshold_efficiency_at_10MeV", o["threshold_efficiency_at_10MeV"]),
        row("fraction of the PE from light made in the light water", "light_water_fraction",
            o["light_water_fraction"]),
    ]  # fmt: skip
    cal = [
        ("Michel electrons simulated (heavy and light water)", "michel.events_simulated", m["events_simulated"], ""),
        ("of them in the heavy water (fitted)", "michel.events_in_d2o", m["events_in_d2o"], ""),
        ("fitted light yield Y", "michel.light_yield_pe_per_MeV.value", m["light_yield_pe_per_MeV"]["value"], "PE/MeV"),
        ("its error (with the scale factor)", "michel.light_yield_pe_per_MeV.error",
         m["light_yield_pe_per_MeV"]["error"], "PE/MeV"),
        ("its statistical error", "michel.light_yield_pe_per_MeV.statistical_error",
         m["light_yield_pe_per_MeV"]["statistical_error"], "PE/MeV"),
        ("derived light yield (electrons uniform in the D2O)", "michel.derived_light_yield_pe_per_MeV",
         m["derived_light_yield_pe_per_MeV"], "PE/MeV"),
        ("fitted / derived", "michel.fitted_over_derived_light_yield", m["fitted_over_derived_light_yield"], ""),
        ("constant resolution term c", "michel.resolution.value", m["resolution"]["value"], ""),
        ("p-value of the fit", "michel.p_value", m["p_value"], ""),
        ("scale factor on the errors, max(1, &radic;(&chi;<sup>2</sup>/ndf))", "michel.scale_factor",
         m["scale_factor"], ""),
    ]  # fmt: skip
    cal_rows = [f"<tr><td>{lab}</td>{_num(f'optics.{k}', v)}<td>{u}</td></tr>" for lab, k, v, u in cal]
    esu = m["energy_scale_uncertainty"]
    assumed = m.get("assumed_energy_scale_uncertainty")
    against = (
        f" (the fit above assumes {_span('optics.michel.assumed_energy_scale_uncertainty', assumed, True)})"
        if assumed is not None
        else ""
    )
    note = (
        f"<p><b>Note:</b> {html.escape(o['geometry_note'][0].upper() + o['geometry_note'][1:])}.</p>"
        if o.get("geometry_note")
        else ""
    )
    return (
        head + note + f"<p>The light yield need not be assumed: the optical model of the module ("
        f"{_span('optics.n_pmts', o['n_pmts'])} PMTs) derives <b>{_span('optics.light_yield_pe_per_MeV', ly)} "
        f"PE/MeV</b> for electrons uniform in the heavy water. {uses}</p>"
        + fast
        + _table(["quantity", "optical model", "analysis response", "unit"], rows)
        + "".join(_figure(f) for f in ("fig9_pe_map", "fig10_resolution", "fig11_threshold_efficiency"))
        + "<h3 id='michel'>Michel-electron calibration closure</h3>"
        f"<p>Stopped cosmic muons give Michel electrons up to 52.8 MeV in the running detector. Simulated through "
        f"the same optical model (seed {_span('optics.michel.seed', m['seed'])}) and fitted with one Gaussian "
        "response, they return the light yield the model derives to "
        f"{_span('optics.michel.fitted_over_derived_light_yield', m['fitted_over_derived_light_yield'])} "
        f"(fitted / derived); the calibration would set the energy-scale uncertainty to "
        f"<b>{_span('optics.michel.energy_scale_uncertainty', esu, True)}</b>{against}. A low p-value means one "
        "Gaussian does not describe the position-dependent light collection; the errors are then scaled up "
        "(Particle Data Group convention).</p>"
        + _table(["quantity", "value", "unit"], cal_rows)
        + _figure("fig12_michel_closure")
    )


def _toys_summary(toys) -> dict:
    """The validation toys for summary.json; their statistics are withheld (null) unless the toys are valid."""
    d = {"years": 1.0, **toys.to_dict()}
    if not toys.valid:  # fewer than 99 % converged: no summary (see d2oflux.analysis.toys)
        d.update({k: None for k, v in d.items() if isinstance(v, float) and k not in ("years", "converged_fraction")})
    return d


def _validation_section(s: dict) -> str:
    t = s["toys"]
    if not t.get("valid", True):
        return (
            "<h2 id='validation'>Validation</h2><p class='warning'>Only "
            f"{_span('toys.converged_fraction', t['converged_fraction'], True)} of the "
            f"{_span('toys.ntoys', t['ntoys'])} pseudo-experiments converged (at least 99 % are needed): the "
            "validation statistics are withheld. The likelihood of this configuration is not well behaved "
            "(see the fit-health checks of <code>d2oflux toys</code>).</p>"
        )
    rows = [
        f"<tr><td>{label}</td>{_num(f'toys.{k}', t[k])}{_num(f'toys.{k}_error', t[f'{k}_error'])}"
        f"<td class='num'>{expected}</td></tr>"
        for label, k, expected in (
            ("pull mean", "pull_mean", "0"),
            ("pull width", "pull_width", "1"),
            ("68 % interval coverage", "coverage_68", "0.6827"),
        )
    ]
    return (
        f"<h2 id='validation'>Validation: {_span('toys.ntoys', t['ntoys'])} pseudo-experiments at "
        f"{_span('toys.years', t['years'])} SNS-year</h2>"
        f"<p>Pseudo-data drawn from the model (seed {_span('toys.seed', t['seed'])}) and fitted like real data: "
        "the fitted flux must be unbiased and its reported error must cover the truth as often as stated.</p>"
        + _table(["quantity", "value", "statistical uncertainty", "expected"], rows)
    )


def _figure(name: str) -> str:
    return (
        f"<figure><a href='{name}.png'><img src='{name}.png' alt='{html.escape(FIGURES[name][:90])}'></a>"
        f"<figcaption>{html.escape(FIGURES[name])} (<a href='{name}.pdf'>PDF</a>)</figcaption></figure>"
    )
