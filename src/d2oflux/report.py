"""The main job: ``d2oflux report``, the flux-normalisation study as an HTML page, figures and JSON.

Everything is written into a temporary folder next to the destination and moved into place at the end,
so the output folder is whole or absent.
"""

from __future__ import annotations

import html
import json
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from . import __version__
from .errors import ConfigError

FIGURES = {
    "fig1_source": "The piDAR source: energy spectra of the three flavours (left, PHYSICS.md section 2: Michel "
    "spectra and the 29.79 MeV nu_mu line) and their arrival times after the proton pulse (right; Gaussian POT "
    "profile, sigma 150 ns, COHERENT LAr release; pion and muon lifetimes from the PDG).",
    "fig2_cross_sections": "Cross sections per target: nu-d from NSAPMGK 2002 (nucl-th/0201062); nu_e 16O CC from "
    "Kolbe-Langanke-Vogel 2002 (SNOwGLoBES table) and the Nakazato et al. 2018 fit; nu-e elastic with radiative "
    "corrections; IBD from Strumia-Vissani 2003; CEvNS (Helm form factor, full recoil range) growing as N^2.",
    "fig3_energy": "Expected reconstructed-energy spectrum per SNS-year in the beam time window, stacked by channel, "
    "with the steady-state background (a documented assumption). Shaded: outside the analysis energy window.",
    "fig4_time": "Time since POT of the selected events (analysis energy window) per channel, per SNS-year.",
    "fig5_sensitivity": "Relative flux-normalisation uncertainty vs exposure from Asimov fits of the binned "
    "likelihood (energy x time, beam window plus off-beam sideband), statistical only and total, compared with "
    "today's 10 % (COHERENT, arXiv:2109.11049).",
    "fig6_impacts": "Impact of each systematic at the largest exposure: sqrt(sigma_total^2 - sigma^2 with the "
    "nuisance fixed). Sizes are documented assumptions in the detector file and the cross-section citations.",
    "fig7_propagation": "CEvNS events per SNS-year predicted for the COHERENT CsI and LAr detectors, with the flux "
    "uncertainty today (10 %) and after the D2O measurement at the largest exposure.",
}


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
) -> dict:
    """Compute the study and write ``report.html``, ``summary.json`` and figures into ``output``.

    Returns the summary dictionary (the content of ``summary.json``).
    """
    from tqdm import tqdm

    from .analysis.model import build_model
    from .analysis.sensitivity import check_years
    from .analysis.toys import run_toys
    from .assumptions import assumption_rows
    from .setup import build_setup
    from .study import sensitivity_study
    from .summary import rates_summary

    years = check_years(years if years is not None else [0.5, 1, 2, 3, 5])
    out = Path(output)
    if not out.parent.resolve().is_dir():
        raise ConfigError(f"-o: folder '{out.parent}' does not exist")
    steps = tqdm(total=6, desc="report", unit="step", disable=not progress, file=sys.stderr)
    det, src, exposure = build_setup(detector, 1.0, None, None, facility, nu_per_proton, True)
    model = build_model(det, src, exposure, radiative_corrections=radiative_corrections, systematics=systematics)
    steps.update()
    rates = rates_summary(model.expectation)
    sens, rows = sensitivity_study(model, years, list(cevns_detectors))
    steps.update()
    toys = run_toys(model.numpy_model(), ntoys, seed)
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
        "sensitivity": {
            k: sens[k] for k in ("years", "stat_only", "stat_all_nuisances_fixed", "stat_signal_only", "total")
        },
        "impacts": sens["impacts"],
        "propagation": sens["propagation"],
        "toys": {"years": 1.0, **toys.to_dict()},
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _figures(tmp, model, sens, rows, src)
        steps.update(2)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
        (tmp / "report.html").write_text(_html(summary), encoding="utf-8")
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    steps.update()
    steps.close()
    return summary


def exposure_text(facility) -> str:
    """What one year of the facility means, e.g. "5000 h at 2.0 MW, 1.3 GeV (sns-fts-ppu)" with its POT."""
    return (
        f"{facility.hours_per_year:g} h at {facility.power_MW:g} MW, {facility.proton_energy_GeV:g} GeV "
        f"({facility.name}; {facility.pot_per_year:.3e} protons on target per year)"
    )


def _save(fig, folder: Path, name: str) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(folder / f"{name}.png", dpi=110)
    fig.savefig(folder / f"{name}.pdf", metadata={"CreationDate": None})
    plt.close(fig)


def _figures(folder: Path, model, sens: dict, rows, src) -> None:
    from . import plots

    exp = model.expectation
    _save(plots.source_figure(src.timing), folder, "fig1_source")
    _save(plots.cross_section_figure(cross_section_curves(np.linspace(0.5, 55, 546))), folder, "fig2_cross_sections")
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
    window = exp.detector.config.analysis.energy_window_MeV
    _save(plots.energy_stack_figure(reco_edges, stacks, window), folder, "fig3_energy")
    _save(plots.time_figure(exp.detector.time_edges_ns, times), folder, "fig4_time")
    today = src.facility.nu_per_proton_rel_uncertainty
    _save(plots.sensitivity_figure(sens["years"], sens["stat_only"], sens["total"], today), folder, "fig5_sensitivity")
    _save(plots.impacts_figure(sens["impacts"], max(sens["years"])), folder, "fig6_impacts")
    _save(plots.propagation_figure(rows), folder, "fig7_propagation")


def cross_section_curves(E_MeV: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Cross sections per target for the report's figure 2: label -> (E [MeV], sigma [cm^2])."""
    from .xsec import CEvNSCrossSection, DeuteronNC, InverseBetaDecay, NueDeuteronCC, NuElectronES, NueO16CC

    curves = {
        r"$\nu_e d$ CC (NSAPMGK)": NueDeuteronCC(),
        r"$\nu d$ NC": DeuteronNC("nu_e"),
        r"$\nu_e\,^{16}$O CC (Kolbe)": NueO16CC("kolbe"),
        r"$\nu_e\,^{16}$O CC (Nakazato)": NueO16CC("nakazato"),
        r"$\nu_e e$ ES": NuElectronES("nu_e"),
        r"$\nu_\mu e$ ES": NuElectronES("nu_mu"),
        r"$\bar\nu_\mu e$ ES": NuElectronES("anti_nu_mu"),
        r"$\bar\nu_e p$ IBD": InverseBetaDecay(),
    }
    out = {label: (E_MeV, xs.sigma(E_MeV)) for label, xs in curves.items()}
    for sym in ("Na", "Ar", "Ge", "I", "Cs"):
        out[f"CEvNS {sym}"] = (E_MeV, CEvNSCrossSection(sym, "nu_e").sigma(E_MeV))
    return out


def fmt(value: float) -> str:
    """How every number appears in the page (4 significant digits)."""
    return f"{value:.4g}"


def _num(key: str, value: float, pct: bool = False) -> str:
    """A table cell carrying its exact value and its summary.json key, so readers and tests can check it."""
    shown = fmt(100 * value) + " %" if pct else fmt(value)
    return f'<td class="num" data-key="{html.escape(key)}" data-value="{float(value)!r}">{shown}</td>'


def _html(s: dict) -> str:
    cfg = s["configuration"]
    rates = s["rates_per_sns_year"]
    sens = s["sensitivity"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<link rel='icon' href='data:,'>",
        f"<title>d2oflux report: {html.escape(cfg['detector'])}</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;line-height:1.45;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px}"
        "td.num{text-align:right;font-family:monospace}figure{margin:2em 0}img{max-width:100%}"
        "figcaption{font-size:0.9em;color:#444}pre{background:#f5f5f5;padding:1em;overflow-x:auto;font-size:0.85em}"
        "</style></head><body>",
        f"<h1>Flux normalisation with heavy water: {html.escape(cfg['detector'])}</h1>",
        "<p>This page projects how well a heavy-water Cherenkov detector measures the neutrino flux of the "
        f"Spallation Neutron Source ({html.escape(cfg['facility'])}) through "
        "&nu;<sub>e</sub> + d &rarr; e<sup>&minus;</sup> + p + p. The rate engine folds the pion-decay-at-rest "
        "spectra and timing with every cross section on every target in the detector and with the detector "
        "response; the binned Poisson likelihood in reconstructed energy &times; time since the proton pulse "
        "(beam window plus an off-beam sideband) then gives the flux-normalisation uncertainty on Asimov data, "
        "with nuisance parameters for the cross sections, efficiency, deuteron count, energy scale and "
        "resolution, protons on target and the backgrounds. The light yield, resolution, threshold, windows, "
        "steady-state and beam-neutron rates and the systematic sizes are <b>design assumptions</b>, labelled "
        "in the detector configuration below. Today's flux uncertainty is 10 % (COHERENT, arXiv:2109.11049).</p>",
        f"<p>Software: d2oflux {html.escape(s['software']['version'])}; generated {html.escape(s['date_utc'])} UTC; "
        f"toy seed <span data-key='seed' data-value='{s['seed']}'>{s['seed']}</span>. Reproduce with "
        f"<code>d2oflux report --detector {html.escape(cfg['detector'])}</code>.</p>",
        "<h2>Expected events per SNS-year</h2>",
        f"<p>Exposure: 1 SNS-year = <span data-key='rates_per_sns_year.exposure.pot' "
        f"data-value='{float(rates['exposure']['pot'])!r}'>{fmt(rates['exposure']['pot'])}</span> protons on target "
        "(5000 h at 1.4 MW, 1.0 GeV). Fluence per flavour at the detector [&nu;/cm<sup>2</sup>]: ",
        ", ".join(
            f"{html.escape(k)} <span data-key='rates_per_sns_year.flux_per_flavour_cm2.{k}' data-value='{float(v)!r}'>"
            f"{fmt(v)}</span>"
            for k, v in rates["flux_per_flavour_cm2"].items()
        ),
        ".</p><table><tr><th>channel</th><th>interactions</th><th>detected (after response and window)</th></tr>",
    ]
    for name, c in rates["channels"].items():
        parts.append(
            f"<tr><td>{html.escape(name)}</td>"
            + _num(f"rates_per_sns_year.channels.{name}.interactions", c["interactions"])
            + _num(f"rates_per_sns_year.channels.{name}.detected", c["detected"])
            + "</tr>"
        )
    parts.append("</table><p>Events in the analysis window per SNS-year, as in the likelihood:</p><table>")
    for name, v in s["events_in_window_per_sns_year"].items():
        parts.append(f"<tr><td>{html.escape(name)}</td>{_num(f'events_in_window_per_sns_year.{name}', v)}</tr>")
    parts.append("</table>")
    for fig in ("fig1_source", "fig2_cross_sections", "fig3_energy", "fig4_time"):
        parts.append(_figure(fig))
    parts.append("<h2>Sensitivity</h2><table><tr><th>SNS-years</th><th>stat only</th><th>total</th></tr>")
    for i, y in enumerate(sens["years"]):
        parts.append(
            f"<tr>{_num(f'sensitivity.years.{i}', y)}{_num(f'sensitivity.stat_only.{i}', sens['stat_only'][i], True)}"
            f"{_num(f'sensitivity.total.{i}', sens['total'][i], True)}</tr>"
        )
    parts.append("</table>")
    parts.append(_figure("fig5_sensitivity"))
    parts.append(f"<h2>Impacts at {fmt(max(sens['years']))} SNS-years</h2><table>")
    for k, v in s["impacts"].items():
        parts.append(f"<tr><td>{html.escape(k)}</td>{_num(f'impacts.{k}', v, True)}</tr>")
    parts.append("</table>")
    parts.append(_figure("fig6_impacts"))
    parts.append(
        "<h2>Propagation to the CEvNS detectors</h2><table><tr><th>detector</th><th>distance [m]</th>"
        "<th>mass [kg]</th><th>CEvNS detected / SNS-year</th><th>&plusmn; today</th><th>&plusmn; projected</th></tr>"
    )
    for name, r in s["propagation"].items():
        parts.append(
            f"<tr><td>{html.escape(name)}</td>{_num(f'propagation.{name}.distance_m', r['distance_m'])}"
            f"{_num(f'propagation.{name}.mass_kg', r['mass_kg'])}"
            f"{_num(f'propagation.{name}.cevns_detected_per_year', r['cevns_detected_per_year'])}"
            f"{_num(f'propagation.{name}.detected_uncertainty_today', r['detected_uncertainty_today'])}"
            f"{_num(f'propagation.{name}.detected_uncertainty_projected', r['detected_uncertainty_projected'])}</tr>"
        )
    parts.append("</table>")
    parts.append(_figure("fig7_propagation"))
    t = s["toys"]
    parts.append(
        f"<h2>Validation: {t['ntoys']} pseudo-experiments at 1 SNS-year (seed {t['seed']})</h2><table>"
        f"<tr><td>pull mean (expected 0)</td>{_num('toys.pull_mean', t['pull_mean'])}"
        f"{_num('toys.pull_mean_error', t['pull_mean_error'])}</tr>"
        f"<tr><td>pull width (expected 1)</td>{_num('toys.pull_width', t['pull_width'])}"
        f"{_num('toys.pull_width_error', t['pull_width_error'])}</tr>"
        f"<tr><td>68 % coverage (expected 0.6827)</td>{_num('toys.coverage_68', t['coverage_68'])}"
        f"{_num('toys.coverage_68_error', t['coverage_68_error'])}</tr></table>"
    )
    parts.append(
        "<h2>Configuration</h2><p>The detector file used, in full (every assumption is labelled there):</p>"
        f"<pre>{html.escape(cfg['detector_toml'], quote=False)}</pre>"
        f"<p>Facility {html.escape(cfg['facility'])}; mu<sup>&minus;</sup> decay-at-rest contamination included: "
        f"{cfg['mu_minus_dar']}; nu<sub>e</sub> <sup>16</sup>O model: {html.escape(cfg['o16_model'])}.</p>"
        "<p>Every number on this page is in <a href='summary.json'>summary.json</a>; figures are also given as "
        "PDF next to the PNGs.</p></body></html>"
    )
    return "\n".join(parts)


def _figure(name: str) -> str:
    return (
        f"<figure><img src='{name}.png' alt='{name}'><figcaption>{html.escape(FIGURES[name])} "
        f"(<a href='{name}.pdf'>PDF</a>)</figcaption></figure>"
    )
