"""Figures of the optical model for the report: PE map, resolution, threshold efficiency, Michel closure.

Each function returns a :class:`matplotlib.figure.Figure` (no pyplot state); :func:`optics_summary`
returns the numbers behind them as a small JSON-ready dict.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .calibrate import Calibration
from .response import PUBLIC_ANALYSIS_PE_PER_MEV, DerivedResponse


def pe_map_figure(resp: DerivedResponse) -> Figure:
    """Mean PE per MeV of 30 MeV electrons vs vertex radius and height in the heavy water."""
    r_edges, z_edges, m = resp.pe_map()
    fig = Figure(figsize=(4.8, 5.2))
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(r_edges, z_edges, m.T, cmap="viridis", shading="flat")
    fig.colorbar(mesh, ax=ax, label="PE / MeV (30 MeV electrons, isotropic)")
    ax.set_xlabel("vertex radius [cm]")
    ax.set_ylabel("vertex height z [cm] (PMTs above)")
    ax.set_title(f"light yield over the D2O volume, {resp.n_pmts} PMTs")
    fig.tight_layout()
    return fig


def resolution_figure(resp: DerivedResponse) -> Figure:
    """sigma(PE)/mean(PE) vs electron energy (derived) next to the former analytic assumption."""
    e = resp.energies_MeV
    fig = Figure(figsize=(5.6, 4.0))
    ax = fig.add_subplot()
    n = resp.pe.shape[1]
    rel = resp.pe_std / resp.pe_mean
    ax.errorbar(e, rel, yerr=rel / np.sqrt(2 * (n - 1)), fmt="o", label="optical model (uniform in D2O)")
    ee = np.linspace(max(e.min(), 1.0), e.max(), 200)
    ax.plot(ee, np.sqrt(1 / (resp.light_yield_pe_per_MeV * ee)), ":", label="PE statistics alone")
    ax.plot(ee, np.sqrt(1 / (15.0 * ee) + 0.05**2), "--", label="former assumption (15 PE/MeV, c = 5 %)")
    ax.set_xlabel("electron kinetic energy [MeV]")
    ax.set_ylabel("sigma / mean of PE")
    ax.set_ylim(0, None)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def threshold_efficiency_figure(resp: DerivedResponse, threshold_MeV: float = 5.0) -> Figure:
    """Fraction of electrons reconstructed (PE / Y) above the threshold vs their energy."""
    e = resp.energies_MeV
    eff = resp.threshold_efficiency(threshold_MeV)
    n = resp.pe.shape[1]
    fig = Figure(figsize=(5.6, 4.0))
    ax = fig.add_subplot()
    ax.errorbar(e, eff, yerr=np.sqrt(np.clip(eff * (1 - eff), 1e-12, None) / n), fmt="o-")
    ax.axvline(threshold_MeV, color="grey", ls=":")
    ax.set_xlabel("electron kinetic energy [MeV]")
    ax.set_ylabel(f"efficiency above {threshold_MeV:g} MeV reconstructed")
    ax.set_ylim(0, 1.05)
    fig.tight_layout()
    return fig


def michel_closure_figure(cal: Calibration) -> Figure:
    """The fitted Michel PE spectrum: counts, the fitted model and the pulls."""
    fig = Figure(figsize=(5.6, 5.0))
    ax, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1)})
    c = 0.5 * (cal.pe_edges[1:] + cal.pe_edges[:-1])
    ax.errorbar(c, cal.counts, yerr=np.sqrt(cal.counts), fmt=".", label="Michel events")
    ax.stairs(cal.expected, cal.pe_edges, label="fit", color="C1")
    ax.set_ylabel("events / bin")
    ax.set_title(
        f"Y = {cal.light_yield:.3f} +- {cal.light_yield_error:.3f} PE/MeV, c = {cal.resolution:.3f}, "
        f"p = {cal.p_value:.2f}",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    pull = (cal.counts - cal.expected) / np.sqrt(np.maximum(cal.expected, 1e-9))
    ax2.plot(c, pull, ".")
    ax2.axhline(0, color="grey")
    ax2.set_xlabel("photo-electrons")
    ax2.set_ylabel("pull")
    fig.tight_layout()
    return fig


def optics_summary(resp: DerivedResponse, cal: Calibration | None = None, threshold_MeV: float = 5.0) -> dict:
    """The optical model's headline numbers (and the Michel calibration, if given)."""
    d = {
        "n_pmts": resp.n_pmts,
        "light_yield_pe_per_MeV": resp.light_yield_pe_per_MeV,
        "light_yield_center_pe_per_MeV": resp.light_yield_center_pe_per_MeV,
        "resolution_at_30MeV": resp.resolution_at(30.0),
        "light_water_fraction": resp.light_water_fraction,
        "threshold_efficiency_at_10MeV": float(
            np.interp(10.0, resp.energies_MeV, resp.threshold_efficiency(threshold_MeV))
        ),
        "public_analysis_pe_per_MeV_for_comparison": PUBLIC_ANALYSIS_PE_PER_MEV,
    }
    if cal is not None:
        d["michel"] = cal.to_dict()
    return d
