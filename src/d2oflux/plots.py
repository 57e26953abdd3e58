"""Figures of the report, each a function returning a matplotlib Figure (mplhep ROOT style, Agg backend).

Axes carry units; every function takes plain results (expectations, summaries), never recomputes physics.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mplhep
import numpy as np

from . import constants as c
from .source import TimingModel, spectrum_pdf

FLAVOUR_LABEL = {"nu_mu": r"$\nu_\mu$", "nu_e": r"$\nu_e$", "anti_nu_mu": r"$\bar\nu_\mu$", "anti_nu_e": r"$\bar\nu_e$"}
CHANNEL_LABEL = {
    "nue_d_cc": r"$\nu_e d \to e^- p p$ (signal)",
    "nc_d": r"NC on $d$",
    "nuebar_d_cc": r"$\bar\nu_e d$ CC",
    "nue_o16_cc": r"$\nu_e\,^{16}$O CC",
    "nuebar_o16_cc": r"$\bar\nu_e\,^{16}$O CC",
    "nc_o16": r"NC on $^{16}$O",
    "es_nue": r"$\nu_e e$ ES",
    "es_nuebar": r"$\bar\nu_e e$ ES",
    "es_numu": r"$\nu_\mu e$ ES",
    "es_anumu": r"$\bar\nu_\mu e$ ES",
    "ibd_h": r"IBD on H",
    "steady_state": "steady state (cosmic)",
    "beam_neutrons": "beam neutrons",
}


def _style() -> None:
    plt.style.use(mplhep.style.ROOT)
    plt.rcParams.update({"figure.figsize": (8, 6), "font.size": 16, "legend.fontsize": 12})


def source_figure(timing: TimingModel) -> plt.Figure:
    """Energy spectra of the three piDAR flavours and their arrival-time profiles with the POT profile."""
    _style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5.5))
    E = np.linspace(0, 60, 1201)
    for f in ("nu_e", "anti_nu_mu"):
        ax1.plot(E, spectrum_pdf(f, E), label=FLAVOUR_LABEL[f])
    ax1.axvline(c.E_NUMU_PROMPT_MEV, color="C2", label=FLAVOUR_LABEL["nu_mu"] + f" line, {c.E_NUMU_PROMPT_MEV:.2f} MeV")
    ax1.set_xlabel(r"$E_\nu$ [MeV]")
    ax1.set_ylabel(r"$dN/dE_\nu$ [1/MeV], per flavour")
    ax1.set_xlim(0, 60)
    ax1.legend(loc="upper left")
    t = np.linspace(0, 8000, 1601)
    ax2.plot(t, timing.pot_pdf(t), color="k", ls="--", label="protons on target")
    ax2.plot(t, timing.pdf("nu_mu", t), color="C2", label=FLAVOUR_LABEL["nu_mu"] + r" (prompt, $\tau_\pi$)")
    ax2.plot(
        t,
        timing.pdf("nu_e", t),
        color="C0",
        label=FLAVOUR_LABEL["nu_e"] + ", " + FLAVOUR_LABEL["anti_nu_mu"] + r" (delayed, $\tau_\mu$; identical)",
    )
    ax2.set_yscale("log")
    ax2.set_ylim(1e-6, 5e-3)
    ax2.set_xlabel("Time since POT clock zero [ns]")
    ax2.set_ylabel("Probability density [1/ns]")
    ax2.legend(loc="upper right")
    fig.tight_layout()
    return fig


def cross_section_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> plt.Figure:
    """Cross sections [cm^2] vs neutrino energy on a log scale; ``curves`` maps a label to (E, sigma)."""
    _style()
    fig, ax = plt.subplots(figsize=(10, 7))
    colours = plt.get_cmap("tab20").colors
    for i, (label, (E, s)) in enumerate(curves.items()):
        ok = s > 0
        ax.plot(
            E[ok], s[ok], label=label, color=colours[(2 * i) % 20 + (i >= 10)], ls="--" if "CEvNS" in label else "-"
        )
    ax.set_yscale("log")
    ax.set_xlim(0, 60)
    ax.set_ylim(1e-44, 1e-37)
    ax.set_xlabel(r"$E_\nu$ [MeV]")
    ax.set_ylabel(r"$\sigma$ per target [cm$^2$]")
    ax.legend(loc="lower right", ncol=2, fontsize=10)
    fig.tight_layout()
    return fig


def energy_stack_figure(edges: np.ndarray, stacks: dict[str, np.ndarray], window: tuple[float, float]) -> plt.Figure:
    """Stacked reconstructed-energy spectrum in the beam window, per SNS-year."""
    _style()
    fig, ax = plt.subplots(figsize=(10, 7))
    order = sorted(stacks, key=lambda k: stacks[k].sum())
    mplhep.histplot(
        [stacks[k] for k in order],
        edges,
        stack=True,
        histtype="fill",
        ax=ax,
        label=[CHANNEL_LABEL.get(k, k) for k in order],
    )
    ax.axvspan(edges[0], window[0], color="grey", alpha=0.15)
    ax.axvspan(window[1], edges[-1], color="grey", alpha=0.15)
    ax.set_xlabel("Reconstructed energy [MeV]")
    ax.set_ylabel(f"Events per {np.diff(edges)[0]:g} MeV per SNS-year")
    ax.set_xlim(edges[0], edges[-1])
    ax.legend(loc="upper right", fontsize=11)
    fig.tight_layout()
    return fig


def time_figure(edges: np.ndarray, curves: dict[str, np.ndarray]) -> plt.Figure:
    """Time since POT of the selected events per channel (events per ns per SNS-year)."""
    _style()
    fig, ax = plt.subplots(figsize=(10, 7))
    widths = np.diff(edges)
    colours = plt.get_cmap("tab20").colors
    shown = [k for k in sorted(curves, key=lambda k: -curves[k].sum()) if curves[k].sum() > 1e-3]
    for i, k in enumerate(shown):
        mplhep.histplot(
            curves[k] / widths, edges, ax=ax, label=CHANNEL_LABEL.get(k, k), color=colours[(2 * i) % 20 + (i >= 10)]
        )
    ax.set_yscale("log")
    top = max(curves[k].max() / widths.min() for k in shown)
    ax.set_ylim(top * 1e-6, top * 30)
    ax.set_xlabel("Time since POT clock zero [ns]")
    ax.set_ylabel("Selected events per ns per SNS-year")
    ax.legend(loc="upper right", fontsize=10, ncol=2)
    fig.tight_layout()
    return fig


def sensitivity_figure(years, stat, total, today: float) -> plt.Figure:
    """Relative flux uncertainty vs exposure, stat only and total, with today's uncertainty."""
    _style()
    fig, ax = plt.subplots()
    ax.plot(years, 100 * np.asarray(stat), "o--", label="statistical only")
    ax.plot(years, 100 * np.asarray(total), "s-", label="total (with systematics)")
    ax.axhline(100 * today, color="k", ls=":", label=f"today: {100 * today:.0f} % (simulation)")
    ax.set_xlabel("Exposure [SNS-years]")
    ax.set_ylabel("Relative flux uncertainty [%]")
    ax.set_ylim(0, max(100 * today * 1.3, 100 * max(total) * 1.1))
    ax.legend()
    fig.tight_layout()
    return fig


def impacts_figure(impacts: dict[str, float], years: float) -> plt.Figure:
    """Impact of each systematic on the relative flux uncertainty."""
    _style()
    names = list(impacts)[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(names) + 2))
    ax.barh(names, [100 * impacts[n] for n in names], color="C0")
    ax.set_xlabel(f"Impact on the relative flux uncertainty [%] ({years:g} SNS-years)")
    fig.tight_layout()
    return fig


def propagation_figure(rows) -> plt.Figure:
    """CEvNS counts per SNS-year with today's and the projected flux uncertainty."""
    _style()
    fig, ax = plt.subplots()
    x = np.arange(len(rows))
    n = np.array([r.cevns_detected_per_year for r in rows])
    ax.bar(x, n, width=0.5, color="0.8", label="predicted CEvNS events")
    ax.errorbar(
        x - 0.1,
        n,
        yerr=[r.detected_uncertainty_today for r in rows],
        fmt="none",
        capsize=8,
        lw=2,
        color="C3",
        label="flux uncertainty today",
    )
    ax.errorbar(
        x + 0.1,
        n,
        yerr=[r.detected_uncertainty_projected for r in rows],
        fmt="none",
        capsize=8,
        lw=2,
        color="C0",
        label="with the D2O measurement",
    )
    ax.set_xticks(x, [r.detector for r in rows])
    ax.set_ylabel("CEvNS events per SNS-year")
    ax.set_ylim(0, 1.45 * n.max())
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig
