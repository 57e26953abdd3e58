"""Figures of the report, each a function returning a :class:`matplotlib.figure.Figure` (mplhep ROOT style).

The figures are plain ``Figure`` objects, not pyplot figures: importing this module selects no matplotlib
backend (``Figure.savefig`` picks the PNG or PDF writer itself), so it is safe in notebooks and GUIs.
Axes carry units; every function takes plain results (expectations, summaries), never recomputes physics.

Colours: each reaction has one fixed colour from the colour-blind-safe 10-colour sequence of M. A. Petroff,
"Accessible Color Sequences for Data Visualization", arXiv:2107.02270 (2021) (matplotlib's ``petroff10``
style). The 13 reactions and backgrounds of a heavy-water detector need more than 10 entries; the three that
share a colour with another reaction are hatched in filled plots and dashed in line plots.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import matplotlib as mpl
import mplhep
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import constants as c
from .spectra import spectrum_pdf
from .timing import TimingModel
from .xsec.channel import PLOT_GROUPS, registered_channels

#: Petroff (2021), arXiv:2107.02270, Table 1: the 10-colour accessible sequence, in order.
PETROFF10 = (
    "#3f90da",  # blue
    "#ffa90e",  # orange
    "#bd1f01",  # red
    "#94a4a2",  # grey
    "#832db6",  # purple
    "#a96b59",  # brown
    "#e76300",  # dark orange
    "#b9ac70",  # khaki
    "#717581",  # slate
    "#92dadd",  # light blue
)


@dataclass(frozen=True)
class ChannelStyle:
    """How one reaction is drawn: a colour, a hatch for filled areas and a line style for curves."""

    colour: str
    hatch: str = ""
    linestyle: str = "-"


_P = PETROFF10
#: One style per reaction: deuteron reactions in blues, 16O in oranges, electron scattering in red/purple/brown.
CHANNEL_STYLE: dict[str, ChannelStyle] = {
    "nue_d_cc": ChannelStyle(_P[0]),
    "nuebar_d_cc": ChannelStyle(_P[9]),
    "nc_d": ChannelStyle(_P[8]),
    "nue_o16_cc": ChannelStyle(_P[1]),
    "nuebar_o16_cc": ChannelStyle(_P[6]),
    "nc_o16": ChannelStyle(_P[7]),
    "es_nue": ChannelStyle(_P[2]),
    "es_numu": ChannelStyle(_P[4]),
    "es_anumu": ChannelStyle(_P[5]),
    "ibd_h": ChannelStyle(_P[3]),
    "es_nuebar": ChannelStyle(_P[2], "////", "--"),
    "steady_state": ChannelStyle(_P[8], "xx", "-."),
    "beam_neutrons": ChannelStyle(_P[5], "\\\\", ":"),
}
#: CEvNS nuclei in the cross-section figure (dotted, so they never look like a reaction of the D2O detector).
CEVNS_STYLE: dict[str, ChannelStyle] = {
    sym: ChannelStyle(colour, "", ":")
    for sym, colour in zip(("Na", "Ar", "Ge", "I", "Cs"), (_P[9], _P[7], _P[6], _P[3], _P[5]), strict=True)
}

FLAVOUR_LABEL = {"nu_mu": r"$\nu_\mu$", "nu_e": r"$\nu_e$", "anti_nu_mu": r"$\bar\nu_\mu$", "anti_nu_e": r"$\bar\nu_e$"}
#: Labels of the samples that are not reactions (reactions take theirs from their registered Channel).
BACKGROUND_LABEL = {"steady_state": "steady state (cosmic)", "beam_neutrons": "beam neutrons"}


class _ChannelLabels(Mapping):
    """Sample name -> figure label: the registered :class:`~d2oflux.xsec.channel.Channel` ``label`` of a
    reaction (read at each look-up, so channels registered later have theirs), else :data:`BACKGROUND_LABEL`."""

    def __getitem__(self, name: str) -> str:
        channel = registered_channels().get(name)
        if channel is not None and channel.label:
            return channel.label
        return BACKGROUND_LABEL[name]

    def __iter__(self) -> Iterator[str]:
        yield from (n for n, ch in registered_channels().items() if ch.label)
        yield from BACKGROUND_LABEL

    def __len__(self) -> int:
        return sum(1 for _ in self)


CHANNEL_LABEL: Mapping[str, str] = _ChannelLabels()
#: Reaction families in the order a reader looks for them (the channel's ``plot_group``): the signal first,
#: backgrounds last.
FAMILY_NAMES: tuple[str, ...] = (*PLOT_GROUPS, "non-neutrino backgrounds")


def families() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(family, member channels)`` in :data:`FAMILY_NAMES` order, members in registration order."""
    groups: dict[str, list[str]] = {f: [] for f in FAMILY_NAMES}
    for name, channel in registered_channels().items():
        groups.setdefault(channel.plot_group, []).append(name)
    groups["non-neutrino backgrounds"] = list(BACKGROUND_LABEL)
    return tuple((f, tuple(m)) for f, m in groups.items())


#: Readable names of the likelihood's nuisance parameters (d2oflux.analysis.model).
NUISANCE_LABEL = {
    "xsec_nud": r"$\nu d$ cross section",
    "o16_model": r"$^{16}$O model (Kolbe vs Nakazato)",
    "efficiency": "detection efficiency",
    "pot": "protons on target",
    "energy_scale": "energy scale",
    "energy_resolution": "energy resolution",
    "deuteron_count": "number of deuterons",
    "beam_neutron_norm": "beam-neutron rate",
    "steady_norm": "steady-state rate",
}


def family_of(channel: str) -> str:
    """The family (see :func:`families`) of a channel name; ``"other"`` for an unknown one."""
    base = channel.split("@")[0]
    if base.startswith("cevns_"):
        return "CEvNS"
    for family, members in families():
        if base in members:
            return family
    return "other"


def channel_sort_key(channel: str) -> tuple[int, int, str]:
    """Sort key putting channels in :func:`families` order (signal first), then by name."""
    base = channel.split("@")[0]
    names = [f for f, _ in families()]
    family = family_of(channel)
    members = dict(families()).get(family, ()) if family != "CEvNS" else ()
    return (
        names.index(family) if family in names else len(names),
        members.index(base) if base in members else 99,
        base,
    )


def channel_style(channel: str) -> ChannelStyle:
    """The fixed style of a channel (black for a channel this module does not know)."""
    if channel.startswith("cevns_"):
        return CEVNS_STYLE.get(channel[len("cevns_") :], ChannelStyle("k", "", ":"))
    return CHANNEL_STYLE.get(channel, ChannelStyle("k", "..", "--"))


def nuisance_label(name: str) -> str:
    """Readable name of a nuisance parameter (``xsec_<channel>`` becomes the cross section of that channel)."""
    if name in NUISANCE_LABEL:
        return NUISANCE_LABEL[name]
    if name.startswith("xsec_"):
        ch = name[len("xsec_") :]
        return f"{CHANNEL_LABEL.get(ch, ch)} cross section"
    return name


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The report's plot style (mplhep ROOT, larger fonts), for drawing and for saving a figure."""
    with mpl.rc_context():
        mpl.style.use(mplhep.style.ROOT)
        mpl.rcParams.update({"font.size": 16, "legend.fontsize": 13, "legend.frameon": False})
        yield


def _legend_below(fig: Figure, ax, ncol: int, **kw) -> None:
    """A legend under the axes (it never covers a curve); ``tight_layout`` makes room for it."""
    handles, labels = kw.pop("handles", None), kw.pop("labels", None)
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=ncol, borderaxespad=0, **kw)


def source_figure(timing: TimingModel) -> Figure:
    """Energy spectra of the three piDAR flavours and their arrival-time profiles with the POT profile."""
    with style():
        fig = Figure(figsize=(14, 6.2), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        E = np.linspace(0, 60, 1201)
        ax1.plot(E, spectrum_pdf("nu_e", E), color=_P[0], label=FLAVOUR_LABEL["nu_e"] + " (Michel)")
        ax1.plot(
            E, spectrum_pdf("anti_nu_mu", E), color=_P[2], ls="--", label=FLAVOUR_LABEL["anti_nu_mu"] + " (Michel)"
        )
        ax1.axvline(
            c.E_NUMU_PROMPT_MEV,
            color=_P[1],
            lw=2.5,
            label=FLAVOUR_LABEL["nu_mu"] + f" line {c.E_NUMU_PROMPT_MEV:.2f} MeV",
        )
        ax1.set_xlabel(r"$E_\nu$ [MeV]")
        ax1.set_ylabel(r"$dN/dE_\nu$ [1/MeV] per flavour")
        ax1.set_xlim(0, 60)
        ax1.set_ylim(0, None)
        ax1.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
        t = np.linspace(0, 8000, 1601)
        ax2.plot(t, timing.pot_pdf(t), color="k", ls=":", label="protons on target")
        ax2.plot(t, timing.pdf("nu_mu", t), color=_P[1], label=FLAVOUR_LABEL["nu_mu"] + r" (prompt, $\tau_\pi$)")
        ax2.plot(
            t,
            timing.pdf("nu_e", t),
            color=_P[0],
            label=FLAVOUR_LABEL["nu_e"] + " and " + FLAVOUR_LABEL["anti_nu_mu"] + r" (delayed, $\tau_\mu$)",
        )
        ax2.set_yscale("log")
        ax2.set_xlim(0, 8000)
        ax2.set_ylim(1e-6, 5e-3)
        ax2.set_xlabel("Time since POT clock zero [ns]")
        ax2.set_ylabel("Probability density [1/ns]")
        ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return fig


@dataclass(frozen=True)
class Curve:
    """One cross-section curve: energies [MeV], cross section per target [cm^2], its label and style."""

    E_MeV: np.ndarray
    sigma_cm2: np.ndarray
    label: str
    style: ChannelStyle


def cross_section_figure(curves: Sequence[Curve]) -> Figure:
    """Cross sections [cm^2] vs neutrino energy on a log scale, each curve drawn only where it is non-zero."""
    with style():
        fig = Figure(figsize=(11, 9.5), layout="constrained")
        ax = fig.subplots()
        for cv in curves:
            ok = cv.sigma_cm2 > 0
            ax.plot(
                cv.E_MeV[ok], cv.sigma_cm2[ok], label=cv.label, color=cv.style.colour, ls=cv.style.linestyle, lw=2.2
            )
        ax.set_yscale("log")
        ax.set_xlim(0, 55)
        ax.set_ylim(1e-44, 1e-37)
        ax.set_xlabel(r"$E_\nu$ [MeV]")
        ax.set_ylabel(r"$\sigma$ per target [cm$^2$]")
        _legend_below(fig, ax, 3, fontsize=13)
    return fig


def _acceptance_mask(edges: np.ndarray, threshold_MeV: float) -> np.ndarray:
    """Reconstructed-energy bins that lie (at least partly) above the detector threshold."""
    return edges[1:] > threshold_MeV


def energy_stack_figure(
    edges: np.ndarray,
    stacks: dict[str, np.ndarray],
    window: tuple[float, float],
    threshold_MeV: float,
    events_in_window: dict[str, float] | None = None,
) -> Figure:
    """Stacked reconstructed-energy spectrum in the beam time window, per SNS-year.

    Bins below ``threshold_MeV`` are not drawn (nothing is detected there); the area outside the analysis
    energy ``window`` is shaded. ``events_in_window`` (events per SNS-year in the fit window) go into the legend.
    """
    with style():
        fig = Figure(figsize=(13, 7.5), layout="constrained")
        ax = fig.subplots()
        seen = _acceptance_mask(edges, threshold_MeV)
        # backgrounds at the bottom, the signal on top; the smallest reactions in between
        order = sorted(stacks, key=lambda k: (k == "nue_d_cc", -channel_sort_key(k)[0], stacks[k].sum()))
        bottom = np.zeros(edges.size - 1)
        handles = []
        for k in order:
            values = np.where(seen, stacks[k], 0.0)
            st = channel_style(k)
            ax.stairs(
                bottom + values,
                edges,
                baseline=bottom.copy(),
                fill=True,
                facecolor=st.colour,
                edgecolor="white" if st.hatch else st.colour,
                hatch=st.hatch or None,
                lw=0.0,
            )
            bottom = bottom + values
            n = events_in_window.get(k) if events_in_window else None
            label = CHANNEL_LABEL.get(k, k) + (f": {n:.3g}" if n is not None else "")
            handles.append(Patch(facecolor=st.colour, edgecolor="white", hatch=st.hatch or None, label=label))
        ax.stairs(bottom, edges, color="k", lw=1.2)
        lo, hi = edges[0], edges[-1]
        if threshold_MeV > lo:
            ax.axvspan(lo, threshold_MeV, color="0.75", lw=0, zorder=0)
            ax.text(
                (lo + threshold_MeV) / 2,
                0.5,
                "below threshold",
                rotation=90,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="center",
                fontsize=12,
            )
        for x0, x1 in ((max(lo, threshold_MeV), window[0]), (window[1], hi)):
            if x1 > x0:
                ax.axvspan(x0, x1, color="0.92", lw=0, zorder=0)
        for x in window:
            ax.axvline(x, color="k", ls="--", lw=1.2)
        ax.text(
            (window[0] + window[1]) / 2,
            0.96,
            "analysis window",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=13,
        )
        ax.set_xlabel("Reconstructed energy [MeV]")
        ax.set_ylabel(f"Events per {np.diff(edges)[0]:g} MeV per SNS-year")
        ax.set_xlim(lo, hi)
        ax.set_ylim(0, 1.08 * bottom.max())
        title = "events per SNS-year in the fit window" if events_in_window else None
        ax.legend(
            handles=handles[::-1],
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            title=title,
            fontsize=12,
            title_fontsize=12,
        )
    return fig


def time_figure(edges: np.ndarray, curves: dict[str, np.ndarray]) -> Figure:
    """Time since POT of the selected events per channel (events per ns per SNS-year)."""
    with style():
        fig = Figure(figsize=(13, 7.5), layout="constrained")
        ax = fig.subplots()
        widths = np.diff(edges)
        shown = [k for k in sorted(curves, key=channel_sort_key) if curves[k].sum() > 1e-3]
        for k in shown:
            st = channel_style(k)
            ax.stairs(
                curves[k] / widths, edges, label=CHANNEL_LABEL.get(k, k), color=st.colour, ls=st.linestyle, lw=2.2
            )
        ax.set_yscale("log")
        top = max(float(np.max(curves[k] / widths)) for k in shown)
        ax.set_ylim(top * 1e-6, top * 3)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_xlabel("Time since POT clock zero [ns]")
        ax.set_ylabel("Selected events per ns per SNS-year")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=12)
    return fig


#: Curves of the sensitivity figure: summary key -> (label, marker and line style, colour).
SENSITIVITY_CURVES = {
    "total": ("total (statistics and systematics)", "s-", _P[0]),
    "stat_only": ("statistics only, all nuisances fixed", "o--", _P[1]),
    "stat_signal_only": ("signal statistics only (every background normalisation free)", "v:", _P[5]),
}


def per_exposure_keys(sensitivity: dict) -> list[str]:
    """Keys of ``sensitivity`` holding one number per exposure in ``sensitivity["years"]`` (known ones first)."""
    n = len(sensitivity["years"])
    keys = [
        k
        for k, v in sensitivity.items()
        if k != "years"
        and isinstance(v, list)
        and len(v) == n
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
    ]
    known = list(SENSITIVITY_CURVES)
    return sorted(keys, key=lambda k: known.index(k) if k in known else len(known))


def sensitivity_figure(sensitivity: dict, today: float, references: Sequence[dict]) -> Figure:
    """Relative flux uncertainty vs exposure with today's uncertainty and published projections.

    ``sensitivity`` is ``summary["sensitivity"]``: ``years`` and one list per curve (every list of the same
    length as ``years`` is drawn). ``references`` are ``{"label", "years", "relative_uncertainty", "source"}``;
    a ``[low, high]`` uncertainty is drawn as a range.
    """
    with style():
        fig = Figure(figsize=(11, 8.5), layout="constrained")
        ax = fig.subplots()
        years = np.asarray(sensitivity["years"], dtype=float)
        extra = iter(_P[6:])
        keys = per_exposure_keys(sensitivity)
        for key in keys:
            values = sensitivity[key]
            label, fmt_, colour = SENSITIVITY_CURVES.get(key, (key.replace("_", " "), "d-", next(extra, "k")))
            ax.plot(years, 100 * np.asarray(values, dtype=float), fmt_, color=colour, label=label, lw=2.2, ms=8)
        ax.axhline(
            100 * today, color="k", ls=":", lw=2, label=f"today: {100 * today:.0f} % (COHERENT, arXiv:2109.11049)"
        )
        ref_colours = iter(("#bd1f01", "#832db6", "#e76300", "#717581"))
        same_years: dict[float, int] = {}
        for ref in references:
            u = ref["relative_uncertainty"]
            colour = next(ref_colours, "k")
            label = f"{ref['label']} ({ref['source']})"
            k = same_years[ref["years"]] = same_years.get(ref["years"], -1) + 1
            x = ref["years"] + 0.07 * k  # projections at the same exposure side by side
            if isinstance(u, (list, tuple)):
                ax.errorbar(
                    x,
                    50 * (u[0] + u[1]),
                    yerr=50 * (u[1] - u[0]),
                    fmt="none",
                    capsize=10,
                    lw=3,
                    color=colour,
                    label=label,
                )
            elif ref.get("upper_limit"):
                ax.plot(x, 100 * u, "v", ms=16, color=colour, mec="k", label=label)
            else:
                ax.plot(x, 100 * u, "*", ms=20, color=colour, mec="k", label=label)
        top = max([100 * today] + [100 * max(sensitivity[k]) for k in keys])
        ax.set_ylim(0, 1.15 * top)
        ax.set_xlim(0, 1.05 * max(years.max(), max((r["years"] for r in references), default=0)))
        ax.set_xlabel("Exposure [SNS-years]")
        ax.set_ylabel("Relative flux uncertainty [%]")
        _legend_below(fig, ax, 1, fontsize=13)
    return fig


def impacts_figure(impacts: dict[str, float], years: float, negligible: float = 0.05) -> Figure:
    """Impact of each systematic on the relative flux uncertainty, largest first.

    Impacts below ``negligible`` x the largest are combined in quadrature into one "others" bar.
    """
    shown, others = group_impacts(impacts, negligible)
    names = [nuisance_label(k) for k in shown] + (
        [f"{len(others)} others (< {100 * negligible:g} % of the largest, in quadrature)"] if others else []
    )
    values = [100 * v for v in shown.values()] + (
        [100 * float(np.sqrt(sum(v * v for v in others.values())))] if others else []
    )
    with style():
        fig = Figure(figsize=(11, 0.55 * len(names) + 2.2), layout="constrained")
        ax = fig.subplots()
        y = np.arange(len(names))[::-1]
        ax.barh(y, values, color=[_P[0]] * len(shown) + [_P[3]] * bool(others), height=0.7)
        for yi, v in zip(y, values, strict=True):
            ax.text(v, yi, f" {v:.2f} %", va="center", fontsize=13)
        ax.set_yticks(y, names)
        ax.set_xlim(0, 1.2 * max(values))
        ax.set_xlabel(f"Impact on the relative flux uncertainty [%] at {years:g} SNS-years")
        ax.tick_params(axis="y", which="minor", left=False, right=False)
    return fig


def group_impacts(impacts: dict[str, float], negligible: float = 0.05) -> tuple[dict[str, float], dict[str, float]]:
    """Split impacts into those shown (largest first) and those below ``negligible`` x the largest."""
    ordered = dict(sorted(impacts.items(), key=lambda kv: -kv[1]))
    largest = max(ordered.values(), default=0.0)
    shown = {k: v for k, v in ordered.items() if v >= negligible * largest}
    return shown, {k: v for k, v in ordered.items() if k not in shown}


def propagation_figure(rows) -> Figure:
    """CEvNS counts per SNS-year with today's and the projected flux uncertainty."""
    with style():
        fig = Figure(figsize=(10, 7.5), layout="constrained")
        ax = fig.subplots()
        x = np.arange(len(rows))
        n = np.array([r.cevns_detected_per_year for r in rows])
        today = rows[0].flux_uncertainty_today  # the facility's: the same for every detector at one source
        ax.bar(x, n, width=0.5, color="0.85", label="predicted CEvNS events")
        for dx, attr, colour, label in (
            (-0.1, "detected_uncertainty_today", _P[2], f"flux uncertainty today ({100 * today:.0f} %)"),
            (0.1, "detected_uncertainty_projected", _P[0], "with the D2O measurement"),
        ):
            ax.errorbar(
                x + dx,
                n,
                yerr=[getattr(r, attr) for r in rows],
                fmt="none",
                capsize=10,
                lw=3,
                color=colour,
                label=label,
            )
        ax.set_xticks(x, [r.detector for r in rows])
        ax.tick_params(axis="x", which="minor", bottom=False, top=False)
        ax.set_ylabel("CEvNS events per SNS-year")
        ax.set_ylim(0, 1.25 * n.max())
        _legend_below(fig, ax, 1)
    return fig


def cevns_xsec_figure(rows: Sequence[dict], labels: dict[str, str] | None = None) -> Figure:
    """Uncertainty of the fitted CEvNS cross section per data set and flux constraint (grouped bars).

    ``rows`` are :meth:`d2oflux.coherent.propagation.PropagationRow.to_dict` dictionaries; ``labels`` names
    the data sets on the axis (default: their identifiers).
    """
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    constraints = list(dict.fromkeys(r["flux_constraint"] for r in rows))
    # today grey, the D2O exposures in blues (darker = more data), the flux known exactly hatched
    d2o = [c for c in constraints if c.startswith("D2O")]
    blues = ["#9ecae1", "#4292c6", "#08519c", "#08306b"]
    colour = {c: blues[min(k, len(blues) - 1)] for k, c in enumerate(d2o)}
    with style():
        fig = Figure(figsize=(10, 7.0), layout="constrained")
        ax = fig.subplots()
        width = 0.8 / len(constraints)
        for k, c in enumerate(constraints):
            sel = {r["dataset"]: 100 * r["cevns_xsec_uncertainty"] for r in rows if r["flux_constraint"] == c}
            vals = [sel.get(d, np.nan) for d in datasets]
            x = np.arange(len(datasets)) + (k - (len(constraints) - 1) / 2) * width
            kw = {"color": colour.get(c, "0.6")}
            if c not in colour and not c.startswith("today"):
                kw = {"color": "white", "edgecolor": "0.35", "hatch": "//"}
            bars = ax.bar(x, vals, width * 0.92, label=c, **kw)
            ax.bar_label(bars, fmt="%.1f", fontsize=11, padding=2)
        ax.set_xticks(np.arange(len(datasets)), [(labels or {}).get(d, d) for d in datasets])
        ax.tick_params(axis="x", which="minor", bottom=False, top=False)
        ax.set_ylabel(r"uncertainty of $\sigma_\mathrm{CEvNS}/\sigma_\mathrm{SM}$ [%]")
        ax.set_ylim(0, 1.2 * np.nanmax([100 * r["cevns_xsec_uncertainty"] for r in rows]))
        _legend_below(fig, ax, 3)
    return fig
