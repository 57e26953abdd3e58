"""The channel registry: one :class:`Channel` object per reaction, everything the package needs to know.

A reaction is registered once, by the module of its cross section (``xsec/<family>.py`` calls
:func:`register_channel` at import). From the registry

* :func:`d2oflux.xsec.cross_sections_for_target` (and so the rate engine) builds its cross sections,
* :mod:`d2oflux.analysis.model` takes the nuisance parameters of its likelihood sample,
* :mod:`d2oflux.plots` takes its label and figure group,
* :mod:`d2oflux.generate` takes its NuHepMC process ID, final-state description and arXiv citations
  (its kinematics are registered by name in :mod:`d2oflux.generate.kinematics`).

Cross-section objects are immutable, so each :class:`Channel` caches the objects it has built
(``Channel.cross_section``, at most :data:`CHANNEL_CACHE_SIZE`, least recently used dropped first); the cache
belongs to the channel and goes away with it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from d2oflux.xsec.base import SUPPORTED_FLAVOURS, CrossSection

#: Figure groups in the order a reader looks for them (signal first); a channel names one as ``plot_group``.
PLOT_GROUPS: tuple[str, ...] = (
    "signal",
    "other reactions on deuterons",
    "reactions on 16O",
    "neutrino-electron elastic scattering",
    "inverse beta decay on hydrogen",
    "CEvNS",
)

#: Most cross-section objects one :class:`Channel` keeps. A run needs one per flavour and option set; a scan
#: over detector designs passes each design's own options (e.g. its neutron-capture probability), which would
#: otherwise pile up one object per design. Dropping one changes no result: it is rebuilt when asked again.
CHANNEL_CACHE_SIZE = 64


@dataclass(frozen=True)
class Channel:
    """One reaction: its name, target, flavours, cross-section factory and what the analysis needs of it.

    Attributes
    ----------
    name : str
        Channel identifier used everywhere (histograms, workspace samples, event files), e.g. ``"nue_d_cc"``.
    target : str
        Target species counted by :mod:`d2oflux.materials` (``"deuteron"``, ``"o16"``, ``"electron"``,
        ``"proton"``, ``"nucleus:<Symbol>"``).
    flavours : tuple of str
        Incoming flavours the reaction has (a subset of :data:`SUPPORTED_FLAVOURS`).
    factory : callable
        ``factory(flavour, o16_model, **options)`` returning the :class:`CrossSection` (``o16_model`` is
        ``"kolbe"`` or ``"nakazato"``; most factories ignore it).
    final_state : str
        Human-readable reaction, e.g. ``"nu_e d -> e- p p (CC on the deuteron; GT + pp FSI)"`` (NuHepMC
        process description).
    process_id : int
        NuHepMC process ID (E.C.1 ranges: 100-199 low-energy nuclear, 200-299 quasielastic, 700+ other;
        CC in X00-X49, NC in X50-X99).
    arxiv : tuple of str
        arXiv identifiers of the model (NuHepMC G.C.3); empty where the model has none.
    nuisances : tuple of str
        Likelihood nuisance parameters of the sample (names known to :mod:`d2oflux.analysis.model`);
        empty: one normalisation ``xsec_<name>`` of the cross section's ``rel_uncertainty``.
    label : str
        Figure label (matplotlib mathtext).
    plot_group : str
        One of :data:`PLOT_GROUPS` (figures and report tables group and order channels by it).
    o16_model_dependent : bool
        Whether the factory uses ``o16_model`` (only then does the cache key include it).
    run_options : tuple of str
        Factory keywords the rate engine sets for each run (:func:`d2oflux.rates.registry_options`):
        ``"capture_probability"`` (the detector's neutron-capture probability on d) and
        ``"radiative_correction"`` (``False`` when the run turns radiative corrections off).
    """

    name: str
    target: str
    flavours: tuple[str, ...]
    factory: Callable[..., CrossSection]
    final_state: str
    process_id: int
    arxiv: tuple[str, ...] = ()
    nuisances: tuple[str, ...] = ()
    label: str = ""
    plot_group: str = "other"
    o16_model_dependent: bool = False
    run_options: tuple[str, ...] = ()
    _cache: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        unknown = [f for f in self.flavours if f not in SUPPORTED_FLAVOURS]
        if unknown:
            raise ValueError(f"channel {self.name}: unsupported flavours {unknown} (supported: {SUPPORTED_FLAVOURS})")

    def cross_section(self, flavour: str, o16_model: str = "kolbe", **options: Any) -> CrossSection:
        """The cross section of ``flavour`` (cached per flavour, model and hashable options).

        The cache keeps the :data:`CHANNEL_CACHE_SIZE` most recently used objects. Objects built with
        unhashable option values are built fresh each call.
        """
        try:
            model_key = o16_model if self.o16_model_dependent else None
            key = (flavour, model_key, tuple(sorted(options.items())))
            hash(key)
        except TypeError:
            return self.factory(flavour, o16_model, **options)
        xs = self._cache.pop(key, None)
        if xs is None:
            xs = self.factory(flavour, o16_model, **options)
        self._cache[key] = xs  # the most recently used last
        while len(self._cache) > CHANNEL_CACHE_SIZE:
            self._cache.popitem(last=False)
        return xs


_REGISTRY: dict[str, Channel] = {}


def register_channel(channel: Channel) -> Channel:
    """Add ``channel`` to the registry; raises ``ValueError`` if its name or process ID is taken."""
    if channel.name in _REGISTRY:
        raise ValueError(f"channel {channel.name!r} is already registered")
    taken = {c.process_id: c.name for c in _REGISTRY.values()}
    if channel.process_id in taken:
        raise ValueError(
            f"channel {channel.name}: process_id {channel.process_id} is taken by {taken[channel.process_id]}"
        )
    _REGISTRY[channel.name] = channel
    return channel


def unregister_channel(name: str) -> Channel:
    """Remove a channel (e.g. one a test registered) and return it."""
    return _REGISTRY.pop(name)


def registered_channels() -> Mapping[str, Channel]:
    """Every registered channel, name -> :class:`Channel`, in registration order (a read-only view)."""
    return MappingProxyType(_REGISTRY)


def get_channel(name: str) -> Channel | None:
    """The channel ``name`` (a ``"name@region"`` label is reduced to its name), or ``None`` if unknown."""
    return _REGISTRY.get(name.split("@")[0])
