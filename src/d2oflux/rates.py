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

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .response import Response

if TYPE_CHECKING:  # hist (boost-histogram) is imported only when a histogram is first asked for
    import hist

    from .beam import Exposure
    from .detector import Detector
    from .rate_cache import RateTables
    from .source import Source
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
    neutrino_energy_counts, visible_energy_counts : array
        Interactions per neutrino-energy and visible-energy bin.
    reco_time_counts : array (n_E, n_t)
        Detected counts (after efficiency and smearing, before the window) per reconstructed-energy and
        time-since-POT bin.
    edges : dict
        Bin edges of the axes: ``E_nu``, ``E_vis``, ``E_reco`` [MeV] and ``t`` [ns].
    interactions_by_flavour : dict

    The same counts as :class:`hist.Hist` objects with named axes: :attr:`neutrino_energy`,
    :attr:`visible_energy` and :attr:`reco_time` (built when first asked for).
    """

    name: str
    interactions: float
    detected: float
    neutrino_energy_counts: np.ndarray
    visible_energy_counts: np.ndarray
    reco_time_counts: np.ndarray
    edges: dict[str, np.ndarray]
    interactions_by_flavour: dict[str, float] = field(default_factory=dict)

    @cached_property
    def neutrino_energy(self) -> hist.Hist:
        """Interactions vs neutrino energy [MeV]."""
        return _hist(self.neutrino_energy_counts, ("E_nu", self.edges["E_nu"]))

    @cached_property
    def visible_energy(self) -> hist.Hist:
        """Interactions vs visible energy [MeV]."""
        return _hist(self.visible_energy_counts, ("E_vis", self.edges["E_vis"]))

    @cached_property
    def reco_time(self) -> hist.Hist:
        """Detected counts vs reconstructed energy [MeV] and time since POT [ns] (before the window)."""
        return _hist(self.reco_time_counts, ("E_reco", self.edges["E_reco"]), ("t", self.edges["t"]))


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
        if name not in self.channels:
            from .errors import ConfigError

            raise ConfigError(f"channel '{name}': not in this expectation; expected one of {', '.join(self.channels)}")
        e, t = self.window_slices()
        return self.channels[name].reco_time_counts[e, t]

    def totals(self) -> dict[str, dict[str, float]]:
        """``{channel: {"interactions": .., "detected": ..}}`` for every channel."""
        return {n: {"interactions": c.interactions, "detected": c.detected} for n, c in self.channels.items()}

    def refold(self, response: Response) -> Expectation:
        """The same interactions through another response (e.g. a shifted energy scale)."""
        return _assemble(self.detector, self.source, self.exposure, self.fluence_per_cm2, self.components, response)


def registry_options(detector: Detector, radiative_corrections: bool = True) -> dict[str, dict]:
    """Channel options of the cross-section registry for a detector and run, for every channel that names them
    in its ``run_options``: the detector's neutron-capture probability on d
    (:func:`d2oflux.backgrounds.nd_capture_probability`) and, if off, no radiative correction."""
    from .backgrounds import nd_capture_probability
    from .xsec import registered_channels

    run: dict[str, object] = {"capture_probability": nd_capture_probability(detector)}
    if not radiative_corrections:
        run["radiative_correction"] = False
    options: dict[str, dict] = {}
    for name, channel in registered_channels().items():
        opts = {key: run[key] for key in channel.run_options if key in run}
        if opts:
            options[name] = opts
    return options


def expect(
    detector: Detector,
    source: Source,
    exposure: Exposure,
    *,
    o16_model: str = "kolbe",
    response: Response | None = None,
    cross_sections: Callable[[str, tuple[str, ...]], list[CrossSection]] | None = None,
    radiative_corrections: bool = True,
    disk_cache: bool = False,
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
    radiative_corrections : bool
        KRV radiative correction on the nu-d CC reactions (default True; False: the bare NSAPMGK table).
        With the built-in registry, NC on d uses the detector's neutron-capture probability on d
        (:func:`d2oflux.backgrounds.nd_capture_probability`).
    disk_cache : bool
        Read the derived tables (folded cross sections, time fractions, analytic response) from the on-disk
        cache of :mod:`d2oflux.rate_cache` and store them there on a miss (default False; ``d2oflux rates``
        sets it; ignored with ``cross_sections`` or when ``D2OFLUX_NO_CACHE=1``). Results are identical.

    Returns
    -------
    Expectation
    """
    from .beam import Exposure
    from .errors import ConfigError
    from .source import Source

    for value, kind, field_name in ((source, Source, "source"), (exposure, Exposure, "exposure")):
        if not isinstance(value, kind):
            raise ConfigError(
                f"{field_name}: expected a d2oflux.source.{kind.__name__}, got {type(value).__name__} "
                "(e.g. Source(load_facility('sns-fts')), Exposure.from_years(facility, 1.0))"
            )
    disk_cache = disk_cache and cross_sections is None and _rate_cache_enabled()
    # an analytic detector response is cached with the tables; any other is built (or given) here
    cache_response = disk_cache and response is None and detector.config.response.model == "analytic"
    if not cache_response:
        response = response or detector.response
    fluence = source.fluence_per_cm2(exposure, detector.distance_m)
    nu_edges = detector.neutrino_edges_MeV
    if response is None:  # the analytic response is built on the visible-energy binning
        vis_edges = detector.config.binning.visible_energy_MeV.to_edges()
    else:
        vis_edges = response.visible_edges_MeV
    breakpoints = tuple(float(e) for e in nu_edges)
    nodes = {f: source.spectrum_nodes(f, breakpoints) for f in fluence}
    tables, key = None, None
    if disk_cache:
        from . import rate_cache

        key = _tables_key(detector, source, response, o16_model, radiative_corrections, nodes, nu_edges, vis_edges)
        tables = rate_cache.load(key)
    if tables is None:
        if cross_sections is None:
            from .xsec import cross_sections_for_target

            options = registry_options(detector, radiative_corrections)

            def provider(target: str, flavours: tuple[str, ...]) -> list[CrossSection]:
                return cross_sections_for_target(target, flavours, o16_model=o16_model, options=options)

        else:
            provider = cross_sections
        if response is None:
            response = detector.response
        tables = _compute_tables(detector, source, response, provider, tuple(fluence), nodes, nu_edges, vis_edges)
        if key is not None:
            if cache_response:
                r = response
                tables.response = (r.visible_edges_MeV, r.reco_edges_MeV, r.matrix, r.efficiency, r.visible_particles)
            rate_cache.save(key, tables)
    elif response is None:
        response = Response(*tables.response)
    components: list[Component] = []
    for region in detector.regions:
        for target, n_targets in region.targets().items():
            for u in tables.by_target[target]:
                scale = n_targets * fluence[u.flavour]
                components.append(
                    Component(
                        channel=u.name,
                        region=region.name,
                        flavour=u.flavour,
                        target=u.target,
                        visible_particle=u.visible_particle,
                        rel_uncertainty=u.rel_uncertainty,
                        interactions=scale * u.total,
                        neutrino_energy=scale * u.per_nu,
                        visible_energy=scale * u.per_vis,
                    )
                )
    return _assemble(detector, source, exposure, fluence, components, response, tables.time_fractions)


def _rate_cache_enabled() -> bool:
    from .rate_cache import enabled

    return enabled()


def _compute_tables(detector, source, response, provider, flavours, nodes, nu_edges, vis_edges) -> RateTables:
    """The folded cross sections of every target species in the detector, and the time fractions."""
    from .rate_cache import RateTables, UnitTable

    edge_key = (nu_edges.tobytes(), vis_edges.tobytes())
    keys = {f: (E.tobytes(), w.tobytes(), *edge_key) for f, (E, w) in nodes.items()}
    tables = RateTables()
    for region in detector.regions:
        for target in region.targets():
            if target in tables.by_target:
                continue
            entries = tables.by_target[target] = []
            for xs in provider(target, flavours):
                if xs.visible_particle == "nuclear_recoil" and not response.sees("nuclear_recoil"):
                    continue  # CEvNS only where the detector sees nuclear recoils
                E, w = nodes[xs.flavour]
                per_nu, per_vis, total = _unit_spectra(xs, E, w, nu_edges, vis_edges, keys[xs.flavour])
                entries.append(
                    UnitTable(
                        xs.name, xs.flavour, xs.target, xs.visible_particle, xs.rel_uncertainty, per_nu, per_vis, total
                    )
                )
    t_edges = detector.time_edges_ns
    tables.time_fractions = {f: _time_fractions(source.timing, f, t_edges) for f in flavours}
    return tables


def _tables_key(detector, source, response, o16_model, radiative_corrections, nodes, nu_edges, vis_edges) -> str:
    """The :func:`d2oflux.rate_cache.cache_key` of the tables of one :func:`expect` call."""
    from dataclasses import asdict

    from .rate_cache import cache_key
    from .xsec.channel import registered_channels

    inputs = {
        "detector": detector.config.model_dump(mode="json"),
        "o16_model": o16_model,
        "radiative_corrections": bool(radiative_corrections),
        "channels": sorted(registered_channels()),
        "timing": asdict(source.timing),
        "flavours": list(nodes),
        "response": "detector" if response is None else list(response.visible_particles),
    }
    arrays = {"E_nu": nu_edges, "E_vis": vis_edges, "t": detector.time_edges_ns}
    for f, (E, w) in nodes.items():
        arrays[f"nodes_{f}"], arrays[f"weights_{f}"] = E, w
    return cache_key(inputs, arrays)


#: Per cross-section object: flux-weighted sigma folded into the neutrino- and visible-energy bins.
#: Keyed weakly by the object (the registry keeps its default objects alive), then by the arrays used.
_UNIT_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _unit_spectra(xs: CrossSection, E, w, nu_edges, vis_edges, key: tuple) -> tuple[np.ndarray, np.ndarray, float]:
    """``sum_nodes w sigma`` per neutrino-energy bin and per visible-energy bin, and in total [cm^2].

    Cached per cross-section object and (nodes, weights, edges), so repeated expectations (scans over
    mass, distance, exposure, response) reuse the cross sections and their visible-energy matrices.
    """
    try:
        per_object = _UNIT_CACHE.setdefault(xs, {})
    except TypeError:  # an object that cannot be weakly referenced: no caching
        per_object = {}
    if key not in per_object:
        sigma_w = xs.sigma(E) * w
        per_nu = np.bincount(
            np.clip(np.searchsorted(nu_edges, E, side="right") - 1, 0, nu_edges.size - 2),
            weights=np.where((E >= nu_edges[0]) & (E < nu_edges[-1]), sigma_w, 0.0),
            minlength=nu_edges.size - 1,
        )
        per_object[key] = (per_nu, sigma_w @ xs.visible_spectrum(E, vis_edges), float(sigma_w.sum()))
    return per_object[key]


def _assemble(detector, source, exposure, fluence, components, response, time_frac=None) -> Expectation:
    """Fold components through the response and the timing (``time_frac``: flavour -> fractions per time bin,
    computed if not given); group them into channels."""
    t_edges = detector.time_edges_ns
    if time_frac is None:
        time_frac = {f: _time_fractions(source.timing, f, t_edges) for f in fluence}
    edges = {
        "E_nu": detector.neutrino_edges_MeV,
        "E_vis": response.visible_edges_MeV,
        "E_reco": response.reco_edges_MeV,
        "t": t_edges,
    }
    a = detector.config.analysis
    e_win = _edge_slice(response.reco_edges_MeV, a.energy_window_MeV)
    t_win = _edge_slice(t_edges, a.time_window_ns)
    n_reco = response.reco_edges_MeV.size - 1

    folded = [
        np.outer(response.fold(c.visible_energy), time_frac[c.flavour]) if response.sees(c.visible_particle) else None
        for c in components
    ]
    groups: dict[str, list[int]] = {}
    multi_region = len(detector.regions) > 1
    for i, comp in enumerate(components):
        groups.setdefault(comp.channel, []).append(i)
        if multi_region:
            groups.setdefault(f"{comp.channel}@{comp.region}", []).append(i)

    channels: dict[str, ChannelRate] = {}
    for name in sorted(groups):
        members = groups[name]
        reco_time = np.zeros((n_reco, t_edges.size - 1))
        by_flavour: dict[str, float] = {}
        for i in members:
            if folded[i] is not None:
                reco_time += folded[i]
            comp = components[i]
            by_flavour[comp.flavour] = by_flavour.get(comp.flavour, 0.0) + comp.interactions
        channels[name] = ChannelRate(
            name=name,
            interactions=sum(by_flavour.values()),
            detected=float(reco_time[e_win, t_win].sum()),
            neutrino_energy_counts=sum(components[i].neutrino_energy for i in members),
            visible_energy_counts=sum(components[i].visible_energy for i in members),
            reco_time_counts=reco_time,
            edges=edges,
            interactions_by_flavour=by_flavour,
        )
    return Expectation(detector, source, exposure, fluence, components, response, channels)


@lru_cache(maxsize=64)
def _time_fractions_cached(timing, flavour: str, t_edges: bytes) -> np.ndarray:
    return timing.bin_fractions(flavour, np.frombuffer(t_edges))


def _time_fractions(timing, flavour: str, t_edges: np.ndarray) -> np.ndarray:
    """Arrival-time fractions per bin (cached: the timing model is immutable)."""
    return _time_fractions_cached(timing, flavour, np.ascontiguousarray(t_edges, dtype=float).tobytes())


_LABELS = {
    "E_nu": "Neutrino energy [MeV]",
    "E_vis": "Visible energy [MeV]",
    "E_reco": "Reconstructed energy [MeV]",
    "t": "Time since POT [ns]",
}


def _hist(values: np.ndarray, *axes: tuple[str, np.ndarray]) -> hist.Hist:
    """A Double-storage histogram with named, labelled variable axes holding ``values``."""
    import hist  # here, not at module level: `d2oflux rates` never builds a histogram (~0.15 s of imports)

    h = hist.Hist(*(hist.axis.Variable(e, name=n, label=_LABELS[n]) for n, e in axes), storage=hist.storage.Double())
    h.view()[...] = values
    return h


def _edge_slice(edges: np.ndarray, window: tuple[float, float]) -> slice:
    """Bins of ``edges`` inside ``window`` (the window sits on bin edges, checked at load time)."""
    lo = int(np.argmin(np.abs(edges - window[0])))
    hi = int(np.argmin(np.abs(edges - window[1])))
    return slice(lo, hi)
