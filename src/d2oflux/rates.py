"""The folding engine: source x cross sections x targets x response -> expected counts per channel.

For every region, every target species in its material, every flavour of the source and every reaction
on that target (:func:`d2oflux.xsec.cross_sections_for_target`), the expected interactions are

    N(E_nu) = N_targets x fluence_f x f_f(E_nu) dE x sigma(E_nu)

integrated with the quadrature nodes of :meth:`d2oflux.source.Source.spectrum_nodes` (exact for the nu_mu line).
The visible energy follows from the reaction's ``visible_spectrum``; the detector response (efficiency,
smearing) gives reconstructed energy; arrival times factorise per flavour (the timing model's exact bin
integrals). Results are :class:`hist.Hist` objects with named axes, plus totals before and after cuts.

Units: MeV, ns; counts are expected numbers of events for the given exposure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import hist
import numpy as np

from .detector import Detector
from .response import Response
from .source import Exposure, Source
from .xsec import cross_sections_for_target
from .xsec.base import CrossSection


@dataclass
class Component:
    """Interactions of one reaction, one flavour, in one region (before the response).

    Attributes
    ----------
    channel, region, flavour, target, visible_particle : str
    rel_uncertainty : float
        Relative theory uncertainty of the reaction's cross section.
    interactions : float
        Expected interactions, before any cut.
    neutrino_energy : array
        Interactions per neutrino-energy bin.
    visible_energy : array
        Interactions per visible-energy bin (what the response acts on).
    """

    channel: str
    region: str
    flavour: str
    target: str
    visible_particle: str
    rel_uncertainty: float
    interactions: float
    neutrino_energy: np.ndarray
    visible_energy: np.ndarray


@dataclass
class ChannelRate:
    """Expected counts of one channel (one region, or summed over regions).

    Attributes
    ----------
    name : str
        ``nue_d_cc``, or region-qualified ``nue_o16_cc@h2o``.
    interactions : float
        Interactions before any cut.
    detected : float
        Counts after efficiency, smearing and the analysis window.
    neutrino_energy, visible_energy : hist.Hist
        Interactions vs neutrino energy and visible energy [MeV].
    reco_time : hist.Hist
        Detected counts (after efficiency and smearing, before the window) vs reconstructed energy [MeV]
        and time since POT [ns].
    interactions_by_flavour : dict
    """

    name: str
    interactions: float
    detected: float
    neutrino_energy: hist.Hist
    visible_energy: hist.Hist
    reco_time: hist.Hist
    interactions_by_flavour: dict[str, float] = field(default_factory=dict)


@dataclass
class Expectation:
    """Everything the rate engine computed for one detector, source and exposure."""

    detector: Detector
    source: Source
    exposure: Exposure
    fluence_per_cm2: dict[str, float]
    components: list[Component]
    response: Response
    channels: dict[str, ChannelRate]

    def window_slices(self) -> tuple[slice, slice]:
        """Index ranges of the analysis window on the reconstructed-energy and time axes."""
        a = self.detector.config.analysis
        return (
            _edge_slice(self.response.reco_edges_MeV, a.energy_window_MeV),
            _edge_slice(self.detector.time_edges_ns, a.time_window_ns),
        )

    def in_window(self, name: str) -> np.ndarray:
        """Detected counts of channel ``name`` in the analysis window, shape (energy bins, time bins)."""
        e, t = self.window_slices()
        return self.channels[name].reco_time.values()[e, t]

    def totals(self) -> dict[str, dict[str, float]]:
        """``{channel: {"interactions": .., "detected": ..}}`` for every channel."""
        return {n: {"interactions": c.interactions, "detected": c.detected} for n, c in self.channels.items()}

    def refold(self, response: Response) -> Expectation:
        """The same interactions through another response (e.g. a shifted energy scale)."""
        return _assemble(self.detector, self.source, self.exposure, self.fluence_per_cm2, self.components, response)


def expect(
    detector: Detector,
    source: Source,
    exposure: Exposure,
    *,
    o16_model: str = "kolbe",
    response: Response | None = None,
    cross_sections: Callable[[str, tuple[str, ...]], list[CrossSection]] | None = None,
) -> Expectation:
    """Expected interactions and detected counts per channel.

    Parameters
    ----------
    detector : Detector
        Regions, response, binning and analysis window.
    source : Source
        The facility (and whether mu- decay at rest is included).
    exposure : Exposure
        Protons on target and neutrinos per flavour.
    o16_model : {"kolbe", "nakazato"}
        Model of nu_e 16O CC.
    response : Response, optional
        Overrides the detector's own response.
    cross_sections : callable, optional
        ``(target, flavours) -> [CrossSection, ...]`` replacing the built-in registry (e.g. SNOwGLoBES
        tables for a like-for-like comparison); default :func:`d2oflux.xsec.cross_sections_for_target`.

    Returns
    -------
    Expectation
    """
    response = response or detector.response
    if cross_sections is None:

        def provider(target: str, flavours: tuple[str, ...]) -> list[CrossSection]:
            return cross_sections_for_target(target, flavours, o16_model=o16_model)

    else:
        provider = cross_sections
    fluence = source.fluence_per_cm2(exposure, detector.distance_m)
    nu_edges = detector.neutrino_edges_MeV
    vis_edges = response.visible_edges_MeV
    nodes = {f: source.spectrum_nodes(f) for f in fluence}
    cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    components: list[Component] = []
    for region in detector.regions:
        for target, n_targets in region.targets().items():
            for xs in provider(target, tuple(fluence)):
                if xs.visible_particle == "nuclear_recoil" and not response.sees("nuclear_recoil"):
                    continue  # CEvNS only where the detector sees nuclear recoils
                E, w = nodes[xs.flavour]
                key = (type(xs).__name__, xs.name, xs.flavour, xs.target)
                if key not in cache:
                    sigma = xs.sigma(E)
                    cache[key] = (sigma * w, xs.visible_spectrum(E, vis_edges))
                sigma_w, vis_matrix = cache[key]
                per_node = n_targets * fluence[xs.flavour] * sigma_w
                components.append(
                    Component(
                        channel=xs.name,
                        region=region.name,
                        flavour=xs.flavour,
                        target=xs.target,
                        visible_particle=xs.visible_particle,
                        rel_uncertainty=xs.rel_uncertainty,
                        interactions=float(per_node.sum()),
                        neutrino_energy=np.histogram(E, nu_edges, weights=per_node)[0],
                        visible_energy=per_node @ vis_matrix,
                    )
                )
    return _assemble(detector, source, exposure, fluence, components, response)


def _assemble(detector, source, exposure, fluence, components, response) -> Expectation:
    """Fold components through the response and the timing; group them into channels."""
    timing = source.timing
    t_edges = detector.time_edges_ns
    time_frac = {f: timing.bin_fractions(f, t_edges) for f in fluence}
    nu_axis = hist.axis.Variable(detector.neutrino_edges_MeV, name="E_nu", label="Neutrino energy [MeV]")
    vis_axis = hist.axis.Variable(response.visible_edges_MeV, name="E_vis", label="Visible energy [MeV]")
    reco_axis = hist.axis.Variable(response.reco_edges_MeV, name="E_reco", label="Reconstructed energy [MeV]")
    t_axis = hist.axis.Variable(t_edges, name="t", label="Time since POT [ns]")
    a = detector.config.analysis
    e_win, t_win = (
        _edge_slice(response.reco_edges_MeV, a.energy_window_MeV),
        _edge_slice(t_edges, a.time_window_ns),
    )

    groups: dict[str, list[Component]] = {}
    multi_region = len(detector.regions) > 1
    for comp in components:
        groups.setdefault(comp.channel, []).append(comp)
        if multi_region:
            groups.setdefault(f"{comp.channel}@{comp.region}", []).append(comp)

    channels: dict[str, ChannelRate] = {}
    for name in sorted(groups):
        comps = groups[name]
        reco_time = np.zeros((response.reco_edges_MeV.size - 1, t_edges.size - 1))
        for comp in comps:
            if response.sees(comp.visible_particle):
                reco_time += np.outer(response.fold(comp.visible_energy), time_frac[comp.flavour])
        by_flavour: dict[str, float] = {}
        for comp in comps:
            by_flavour[comp.flavour] = by_flavour.get(comp.flavour, 0.0) + comp.interactions
        channels[name] = ChannelRate(
            name=name,
            interactions=sum(by_flavour.values()),
            detected=float(reco_time[e_win, t_win].sum()),
            neutrino_energy=_hist1(nu_axis, sum(c.neutrino_energy for c in comps)),
            visible_energy=_hist1(vis_axis, sum(c.visible_energy for c in comps)),
            reco_time=_hist2(reco_axis, t_axis, reco_time),
            interactions_by_flavour=by_flavour,
        )
    return Expectation(detector, source, exposure, fluence, components, response, channels)


def _hist1(axis, values: np.ndarray) -> hist.Hist:
    h = hist.Hist(axis, storage=hist.storage.Double())
    h.view()[...] = values
    return h


def _hist2(ax1, ax2, values: np.ndarray) -> hist.Hist:
    h = hist.Hist(ax1, ax2, storage=hist.storage.Double())
    h.view()[...] = values
    return h


def _edge_slice(edges: np.ndarray, window: tuple[float, float]) -> slice:
    """Bins of ``edges`` inside ``window`` (the window sits on bin edges, checked at load time)."""
    lo = int(np.argmin(np.abs(edges - window[0])))
    hi = int(np.argmin(np.abs(edges - window[1])))
    return slice(lo, hi)
