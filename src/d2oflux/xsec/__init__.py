"""Cross sections: one model per reaction, flavour and target species, behind one interface.

Every model is a :class:`~d2oflux.xsec.base.CrossSection` (``sigma(E)``, ``visible_spectrum(E, edges)``,
threshold, relative uncertainty, citation). The registry below answers "what reacts on this target
for these flavours":

>>> [x.name for x in cross_sections_for_target("deuteron", ["nu_e", "nu_mu", "anti_nu_mu"])]
['nue_d_cc', 'nc_d', 'nc_d', 'nc_d']

Each reaction is one :class:`~d2oflux.xsec.channel.Channel` (name, target, flavours, cross-section
factory, NuHepMC process, citation, nuisances, label), registered by the module of its cross section with
:func:`register_channel`; everything else (rate engine, likelihood, figures, event generator) iterates
:func:`registered_channels`. Channels (module: names):

* :mod:`.deuteron`: ``nue_d_cc``, ``nc_d``, ``nuebar_d_cc`` (target ``deuteron``)
* :mod:`.oxygen`: ``nue_o16_cc`` (Kolbe or Nakazato), ``nuebar_o16_cc``, ``nc_o16`` (target ``o16``)
* :mod:`.electron`: ``es_nue``, ``es_nuebar``, ``es_numu``, ``es_anumu`` (target ``electron``)
* :mod:`.ibd`: ``ibd_h`` (target ``proton``)
* :mod:`.cevns`: ``cevns_<Symbol>`` (target ``nucleus:<Symbol>``)
* :mod:`.tables`: :class:`TabulatedCrossSection` and the SNOwGLoBES / CSV readers, for anything else.

Cross-section objects are immutable once built, so each channel caches the objects it builds: repeated
registry calls do not rebuild their precomputed spectra. Pass ``options`` to configure a channel; objects
configured with the same (hashable) options are cached too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from d2oflux.xsec.base import CrossSection
from d2oflux.xsec.cevns import CEvNSCrossSection, cevns_channel, nucleus
from d2oflux.xsec.channel import (
    SUPPORTED_FLAVOURS,
    Channel,
    get_channel,
    register_channel,
    registered_channels,
    unregister_channel,
)
from d2oflux.xsec.deuteron import DeuteronNC, NuebarDeuteronCC, NueDeuteronCC, cc_electron_T_pdf
from d2oflux.xsec.electron import NuElectronES, electron_cos_theta
from d2oflux.xsec.ibd import InverseBetaDecay
from d2oflux.xsec.oxygen import O16_MODELS, O16NC, NuebarO16CC, NueO16CC, o16_cc_cos_theta_pdf
from d2oflux.xsec.tables import TabulatedCrossSection, load_csv, load_snowglobes

__all__ = [
    "O16NC",
    "SUPPORTED_FLAVOURS",
    "CEvNSCrossSection",
    "Channel",
    "CrossSection",
    "DeuteronNC",
    "InverseBetaDecay",
    "NuElectronES",
    "NueDeuteronCC",
    "NueO16CC",
    "NuebarDeuteronCC",
    "NuebarO16CC",
    "TabulatedCrossSection",
    "available_channels",
    "cc_electron_T_pdf",
    "cross_sections_for_target",
    "electron_cos_theta",
    "get_channel",
    "load_csv",
    "load_snowglobes",
    "nucleus",
    "o16_cc_cos_theta_pdf",
    "register_channel",
    "registered_channels",
    "unregister_channel",
]


def available_channels() -> dict[str, dict[str, Any]]:
    """All registered channels: ``{name: {"target": str, "flavours": tuple}}`` (CEvNS: one per tabulated nucleus)."""
    return {name: {"target": ch.target, "flavours": ch.flavours} for name, ch in registered_channels().items()}


def cross_sections_for_target(
    target: str,
    flavours: str | Sequence[str],
    o16_model: str = "kolbe",
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[CrossSection]:
    """Every registered reaction on ``target`` for the given flavours, as :class:`CrossSection` objects.

    Parameters
    ----------
    target : str
        ``"deuteron"``, ``"o16"``, ``"electron"``, ``"proton"`` or ``"nucleus:<Symbol>"`` (any target a
        registered :class:`Channel` names).
    flavours : str or sequence of str
        Any of :data:`SUPPORTED_FLAVOURS`.
    o16_model : {"kolbe", "nakazato"}
        Model of nu_e 16O CC.
    options : mapping, optional
        ``{channel name: {constructor keyword: value}}`` to configure channels (e.g.
        ``{"nc_d": {"capture_probability": 0.14}}``).

    Returns a list ordered by channel (registration order), then by the order of ``flavours``. The objects
    are immutable and shared (cached by their :class:`Channel`). Raises ``ValueError`` for an unknown
    target, nucleus or flavour, or an ``o16_model`` other than the two above.
    """
    fls = [flavours] if isinstance(flavours, str) else list(flavours)
    for f in fls:
        if f not in SUPPORTED_FLAVOURS:
            raise ValueError(
                f"flavour {f!r} not supported by d2oflux.xsec (supported: {', '.join(SUPPORTED_FLAVOURS)})"
            )
    if o16_model not in O16_MODELS:
        raise ValueError(f"o16_model must be one of {', '.join(O16_MODELS)}, got {o16_model!r}")
    options = options or {}
    registry = registered_channels()
    unknown = set(options) - set(registry)
    if unknown:
        raise ValueError(f"options given for unknown channels: {', '.join(sorted(unknown))}")

    channels = [ch for ch in registry.values() if ch.target == target]
    if not channels and target.startswith("nucleus:"):
        sym = target[len("nucleus:") :]
        nucleus(sym)  # raises ValueError naming the symbol if unknown
        channels = [cevns_channel(sym)]
    if not channels:
        known = sorted({ch.target for ch in registry.values() if not ch.target.startswith("nucleus:")})
        raise ValueError(f"unknown target {target!r} (known: {', '.join([*known, 'nucleus:<Symbol>'])})")

    return [
        ch.cross_section(f, o16_model, **options.get(ch.name, {})) for ch in channels for f in fls if f in ch.flavours
    ]
