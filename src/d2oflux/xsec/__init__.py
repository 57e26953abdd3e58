"""Cross sections: one model per reaction, flavour and target species, behind one interface.

Every model is a :class:`~d2oflux.xsec.base.CrossSection` (``sigma(E)``, ``visible_spectrum(E, edges)``,
threshold, relative uncertainty, citation). The registry below answers "what reacts on this target
for these flavours":

>>> [x.name for x in cross_sections_for_target("deuteron", ["nu_e", "nu_mu", "anti_nu_mu"])]
['nue_d_cc', 'nc_d', 'nc_d', 'nc_d']

Channels (module: names):

* :mod:`.deuteron`: ``nue_d_cc``, ``nc_d``, ``nuebar_d_cc`` (target ``deuteron``)
* :mod:`.oxygen`: ``nue_o16_cc`` (Kolbe or Nakazato), ``nuebar_o16_cc``, ``nc_o16`` (target ``o16``)
* :mod:`.electron`: ``es_nue``, ``es_nuebar``, ``es_numu``, ``es_anumu`` (target ``electron``)
* :mod:`.ibd`: ``ibd_h`` (target ``proton``)
* :mod:`.cevns`: ``cevns_<Symbol>`` (target ``nucleus:<Symbol>``)
* :mod:`.tables`: :class:`TabulatedCrossSection` and the SNOwGLoBES / CSV readers, for anything else.

Default-configured objects are cached (they are immutable once built), so repeated registry calls
do not rebuild their precomputed spectra. Pass ``options`` to configure a channel; objects configured
with the same (hashable) options are cached too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from d2oflux.xsec.base import CrossSection
from d2oflux.xsec.cevns import NUCLEI, CEvNSCrossSection, nucleus
from d2oflux.xsec.deuteron import DeuteronNC, NuebarDeuteronCC, NueDeuteronCC, cc_electron_T_pdf
from d2oflux.xsec.electron import ES_NAMES, NuElectronES, electron_cos_theta
from d2oflux.xsec.ibd import InverseBetaDecay
from d2oflux.xsec.oxygen import O16NC, NuebarO16CC, NueO16CC, o16_cc_cos_theta_pdf
from d2oflux.xsec.tables import TabulatedCrossSection, load_csv, load_snowglobes

__all__ = [
    "O16NC",
    "SUPPORTED_FLAVOURS",
    "CEvNSCrossSection",
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
    "load_csv",
    "load_snowglobes",
    "nucleus",
    "o16_cc_cos_theta_pdf",
]

#: Flavours the registry knows (piDAR plus the mu- DAR anti-nu_e).
SUPPORTED_FLAVOURS: tuple[str, ...] = ("nu_e", "anti_nu_e", "nu_mu", "anti_nu_mu")

# channel name -> (target, flavours, factory(flavour, o16_model, **options))
_FIXED_CHANNELS: dict[str, tuple[str, tuple[str, ...], Any]] = {
    "nue_d_cc": ("deuteron", ("nu_e",), lambda f, m, **o: NueDeuteronCC(**o)),
    "nuebar_d_cc": ("deuteron", ("anti_nu_e",), lambda f, m, **o: NuebarDeuteronCC(**o)),
    "nc_d": ("deuteron", SUPPORTED_FLAVOURS, lambda f, m, **o: DeuteronNC(f, **o)),
    "nue_o16_cc": ("o16", ("nu_e",), lambda f, m, **o: NueO16CC(m, **o)),
    "nuebar_o16_cc": ("o16", ("anti_nu_e",), lambda f, m, **o: NuebarO16CC(**o)),
    "nc_o16": ("o16", SUPPORTED_FLAVOURS, lambda f, m, **o: O16NC(f, **o)),
    "ibd_h": ("proton", ("anti_nu_e",), lambda f, m, **o: InverseBetaDecay(**o)),
}
for _fl, _name in ES_NAMES.items():
    _FIXED_CHANNELS[_name] = ("electron", (_fl,), lambda f, m, **o: NuElectronES(f, **o))


def available_channels() -> dict[str, dict[str, Any]]:
    """All channels: ``{name: {"target": str, "flavours": tuple}}`` (CEvNS: one per tabulated nucleus)."""
    out = {name: {"target": t, "flavours": fl} for name, (t, fl, _) in _FIXED_CHANNELS.items()}
    for sym in NUCLEI:
        out[f"cevns_{sym}"] = {"target": f"nucleus:{sym}", "flavours": SUPPORTED_FLAVOURS}
    return out


@lru_cache(maxsize=256)
def _default_object(name: str, flavour: str, o16_model: str) -> CrossSection:
    if name.startswith("cevns_"):
        return CEvNSCrossSection(name[len("cevns_") :], flavour)
    return _FIXED_CHANNELS[name][2](flavour, o16_model)


def _build(name: str, flavour: str, o16_model: str, opts: Mapping[str, Any]) -> CrossSection:
    if name.startswith("cevns_"):
        return CEvNSCrossSection(name[len("cevns_") :], flavour, **opts)
    return _FIXED_CHANNELS[name][2](flavour, o16_model, **opts)


@lru_cache(maxsize=256)
def _configured_object(name: str, flavour: str, o16_model: str, opts: tuple) -> CrossSection:
    return _build(name, flavour, o16_model, dict(opts))


def cross_sections_for_target(
    target: str,
    flavours: str | Sequence[str],
    o16_model: str = "kolbe",
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[CrossSection]:
    """Every reaction on ``target`` for the given flavours, as :class:`CrossSection` objects.

    Parameters
    ----------
    target : str
        ``"deuteron"``, ``"o16"``, ``"electron"``, ``"proton"`` or ``"nucleus:<Symbol>"``.
    flavours : str or sequence of str
        Any of :data:`SUPPORTED_FLAVOURS`.
    o16_model : {"kolbe", "nakazato"}
        Model of nu_e 16O CC.
    options : mapping, optional
        ``{channel name: {constructor keyword: value}}`` to configure channels (e.g.
        ``{"nc_d": {"capture_probability": 0.14}}``).

    Returns a list ordered by channel, then by the order of ``flavours``. Raises ``ValueError`` for an
    unknown target, nucleus or flavour, or an ``o16_model`` other than the two above.
    """
    fls = [flavours] if isinstance(flavours, str) else list(flavours)
    for f in fls:
        if f not in SUPPORTED_FLAVOURS:
            raise ValueError(
                f"flavour {f!r} not supported by d2oflux.xsec (supported: {', '.join(SUPPORTED_FLAVOURS)})"
            )
    if o16_model not in ("kolbe", "nakazato"):
        raise ValueError(f"o16_model must be 'kolbe' or 'nakazato', got {o16_model!r}")
    options = options or {}
    unknown = set(options) - set(available_channels())
    if unknown:
        raise ValueError(f"options given for unknown channels: {', '.join(sorted(unknown))}")

    if target.startswith("nucleus:"):
        sym = target[len("nucleus:") :]
        nucleus(sym)  # raises ValueError naming the symbol if unknown
        channels = [(f"cevns_{sym}", SUPPORTED_FLAVOURS)]
    else:
        channels = [(n, fl) for n, (t, fl, _) in _FIXED_CHANNELS.items() if t == target]
        if not channels:
            known = sorted({t for t, _, _ in _FIXED_CHANNELS.values()} | {"nucleus:<Symbol>"})
            raise ValueError(f"unknown target {target!r} (known: {', '.join(known)})")

    out: list[CrossSection] = []
    for name, allowed in channels:
        for f in fls:
            if f not in allowed:
                continue
            model = o16_model if name == "nue_o16_cc" else "kolbe"
            if name in options:
                opts = dict(options[name])
                try:
                    out.append(_configured_object(name, f, model, tuple(sorted(opts.items()))))
                except TypeError:  # unhashable option values: build fresh
                    out.append(_build(name, f, model, opts))
            else:
                out.append(_default_object(name, f, model))
    return out
