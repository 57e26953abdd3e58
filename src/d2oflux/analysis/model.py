"""The binned likelihood of the flux measurement, as a pyhf workspace (docs/physics.md §8).

Channels
--------
``beam``
    Reconstructed energy x time since POT inside the analysis window, during the beam windows.
``offbeam``
    The anti-coincidence sideband: the same energy bins (time summed), live time = ratio x beam windows.
    Only steady-state background lives there; it constrains that background's normalisation.

Samples and modifiers
---------------------
Every neutrino-induced sample (signal ``nue_d_cc`` and the neutrino backgrounds) carries the parameter of
interest ``flux_norm`` (the neutrinos per proton per flavour relative to the facility's nominal value)
and the common systematics ``pot``, ``efficiency``, ``energy_scale``, ``energy_resolution``. Reactions on
deuterons share ``xsec_nud`` and ``deuteron_count``; the CC ones also ``xsec_nud_radiative`` (KRV versus
Fukugita-Kubota, when the radiative correction is on); nu_e 16O CC has ``o16_model`` (Kolbe -> Nakazato
as a shape and rate variation, scaled by ``systematics.o16_model``, mirrored for the other side): each
channel names these in its registered :class:`~d2oflux.xsec.channel.Channel` (``nuisances``); other
reactions ``xsec_<channel>`` with their cross section's uncertainty times ``systematics.other_cross_sections``.
``steady_state`` has the free ``steady_norm``; ``beam_neutrons`` has ``beam_neutron_norm``. Sizes come from
the detector's ``[systematics]`` and ``[backgrounds]`` tables, after a systematics profile
(:mod:`d2oflux.systematics`). A nuisance of size 0 is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backgrounds import BackgroundHistograms, background_histograms
from ..beam import Exposure
from ..detector import Detector
from ..errors import ConfigError, require_positive
from ..rates import Expectation, expect
from ..source import Source
from ..systematics import SystematicsProfile, apply_profile, load_profile
from ..xsec.channel import get_channel
from .likelihood import NumpyModel

POI = "flux_norm"
SIGNAL = "nue_d_cc"
#: Nuisances a :class:`~d2oflux.xsec.channel.Channel` may name in ``nuisances`` (sizes from ``[systematics]``).
CHANNEL_NUISANCES = ("xsec_nud", "deuteron_count", "xsec_nud_radiative", "o16_model")
#: Parameters with no constraint term.
FREE_PARAMETERS = (POI, "steady_norm")


@dataclass
class FluxModel:
    """A workspace plus what it was built from.

    Attributes
    ----------
    workspace : dict
        The pyhf workspace (JSON-serialisable).
    expectation : Expectation
        The nominal rate-engine result.
    backgrounds : BackgroundHistograms
    beam_mask : bool array (n_E, n_t)
        Which bins of the analysis window enter the ``beam`` channel (bins with zero expectation are dropped).
    events_in_window : dict
        Expected events per sample in the analysis window for this exposure.
    """

    workspace: dict
    expectation: Expectation
    backgrounds: BackgroundHistograms
    beam_mask: np.ndarray
    events_in_window: dict[str, float]
    radiative_corrections: bool = True
    systematics_profile: str = "default"

    def numpy_model(self) -> NumpyModel:
        return NumpyModel.from_workspace(self.workspace)

    @property
    def years(self) -> float:
        return self.expectation.exposure.years

    @property
    def detector_name(self) -> str:
        return self.expectation.detector.name

    @property
    def exposure(self) -> Exposure:
        return self.expectation.exposure

    @property
    def source(self) -> Source:
        return self.expectation.source

    @property
    def fluence_per_cm2(self) -> dict[str, float]:
        """Time-integrated flux of each flavour at the detector for the exposure [nu/cm^2]."""
        return self.expectation.fluence_per_cm2

    def energy_edges(self) -> np.ndarray:
        e, _ = self.expectation.window_slices()
        edges = self.expectation.response.reco_edges_MeV
        return edges[e.start : e.stop + 1]

    def time_edges(self) -> np.ndarray:
        _, t = self.expectation.window_slices()
        edges = self.expectation.detector.time_edges_ns
        return edges[t.start : t.stop + 1]


def _no_signal_reason(detector: Detector) -> str:
    """Why a detector expects no neutrino event in its analysis window (for the error message)."""
    a, r = detector.config.analysis, detector.config.response
    lo, hi = a.energy_window_MeV
    t0, t1 = a.time_window_ns
    reasons = []
    if r.model == "analytic":
        if r.efficiency == 0:
            reasons.append("response.efficiency is 0")
        if r.threshold_MeV >= hi:
            reasons.append(f"response.threshold_MeV = {r.threshold_MeV:g} is above the window")
    why = "; ".join(reasons) or "the visible particles, threshold, efficiency and window leave nothing"
    return (
        f"detector '{detector.label}': no neutrino event is expected in the analysis window "
        f"({lo:g}-{hi:g} MeV, {t0:g}-{t1:g} ns): {why}; nothing to fit"
    )


def build_model(
    detector: Detector,
    source: Source,
    exposure: Exposure,
    *,
    o16_model: str = "kolbe",
    radiative_corrections: bool = True,
    systematics: SystematicsProfile | str | None = None,
) -> FluxModel:
    """Build the flux-measurement workspace for a detector, a source and an exposure (Asimov observations).

    ``radiative_corrections``: KRV correction on nu-d CC (default on); ``systematics``: a profile name
    (``"default"``, ``"theory-only"``), a TOML path or a :class:`~d2oflux.systematics.SystematicsProfile`.
    """
    profile = systematics if isinstance(systematics, SystematicsProfile) else load_profile(systematics)
    detector = apply_profile(detector, profile)
    rc = radiative_corrections
    nominal = expect(detector, source, exposure, o16_model=o16_model, radiative_corrections=rc)
    other_o16 = "nakazato" if o16_model == "kolbe" else "kolbe"
    alt = expect(detector, source, exposure, o16_model=other_o16, radiative_corrections=rc)
    syst = detector.config.systematics
    scale_up = nominal.refold(
        detector.make_response(energy_scale=detector.config.response.energy_scale + syst.energy_scale)
    )
    scale_dn = nominal.refold(
        detector.make_response(energy_scale=detector.config.response.energy_scale - syst.energy_scale)
    )
    c0 = detector.config.response.resolution_constant
    res_up = nominal.refold(detector.make_response(resolution_constant=c0 + syst.resolution_constant))
    res_dn = nominal.refold(detector.make_response(resolution_constant=max(c0 - syst.resolution_constant, 0.0)))
    bkg = background_histograms(nominal)
    e_sl, t_sl = nominal.window_slices()

    def window(arr: np.ndarray) -> np.ndarray:
        return arr[e_sl, t_sl]

    base_channels = sorted({c.channel for c in nominal.components if nominal.response.sees(c.visible_particle)})
    samples: dict[str, np.ndarray] = {}
    for ch in base_channels:
        counts = nominal.in_window(ch)
        if counts.sum() > 0:
            samples[ch] = counts
    if not samples:
        raise ConfigError(_no_signal_reason(detector))
    cfg_bkg = detector.config.backgrounds
    steady_on = window(bkg.steady_state_on)
    neutrons = window(bkg.beam_neutrons)
    total = sum(samples.values()) + steady_on + neutrons
    mask = total > 0
    rel_unc = {c.channel: c.rel_uncertainty for c in nominal.components}

    def flat(a: np.ndarray) -> list[float]:
        return [float(x) for x in a[mask]]

    beam_samples = []
    for ch, counts in samples.items():
        mods: list[dict | None] = [
            {"name": POI, "type": "normfactor", "data": None},
            _normsys("pot", syst.pot),
            _normsys("efficiency", syst.efficiency),
            _histosys("energy_scale", scale_up.in_window(ch), scale_dn.in_window(ch), flat)
            if syst.energy_scale > 0
            else None,
            _histosys("energy_resolution", res_up.in_window(ch), res_dn.in_window(ch), flat)
            if syst.resolution_constant > 0
            else None,
        ]
        nuisances = channel.nuisances if (channel := get_channel(ch)) is not None else ()
        for nuisance in nuisances:
            if nuisance == "xsec_nud":
                mods.append(_normsys("xsec_nud", syst.nud_cross_section))
            elif nuisance == "deuteron_count":
                mods.append(_normsys("deuteron_count", syst.deuteron_count))
            elif nuisance == "xsec_nud_radiative":
                if rc:
                    mods.append(_normsys("xsec_nud_radiative", syst.radiative_correction))
            elif nuisance == "o16_model":
                if syst.o16_model > 0:
                    shift = syst.o16_model * (alt.in_window(ch) - counts)
                    mods.append(
                        _histosys("o16_model", np.clip(counts + shift, 0, None), np.clip(counts - shift, 0, None), flat)
                    )
            else:
                raise ValueError(f"channel {ch}: unknown nuisance {nuisance!r} (known: {', '.join(CHANNEL_NUISANCES)})")
        if not nuisances and rel_unc.get(ch, 0) > 0:
            mods.append(_normsys(f"xsec_{ch}", rel_unc[ch] * syst.other_cross_sections))
        beam_samples.append({"name": ch, "data": flat(counts), "modifiers": [m for m in mods if m]})
    if neutrons.sum() > 0:
        beam_samples.append(
            {
                "name": "beam_neutrons",
                "data": flat(neutrons),
                "modifiers": [_normsys("beam_neutron_norm", cfg_bkg.beam_neutron_rel_uncertainty)],
            }
        )
    channels = []
    has_steady = steady_on.sum() > 0
    if has_steady:
        beam_samples.append(
            {
                "name": "steady_state",
                "data": flat(steady_on),
                "modifiers": [{"name": "steady_norm", "type": "normfactor", "data": None}],
            }
        )
        off = window(bkg.steady_state_off).sum(axis=1)
        channels.append(
            {
                "name": "offbeam",
                "samples": [
                    {
                        "name": "steady_state",
                        "data": [float(x) for x in off],
                        "modifiers": [{"name": "steady_norm", "type": "normfactor", "data": None}],
                    }
                ],
            }
        )
    channels.insert(0, {"name": "beam", "samples": beam_samples})
    for ch in channels:
        for s in ch["samples"]:
            s["modifiers"] = [m for m in s["modifiers"] if m is not None]
    observations = [
        {"name": ch["name"], "data": [float(v) for v in np.sum([s["data"] for s in ch["samples"]], axis=0)]}
        for ch in channels
    ]
    params = [{"name": POI, "bounds": [[0.0, 5.0]], "inits": [1.0]}]
    if has_steady:
        params.append({"name": "steady_norm", "bounds": [[0.0, 10.0]], "inits": [1.0]})
    workspace = {
        "channels": channels,
        "observations": observations,
        "measurements": [{"name": "flux", "config": {"poi": POI, "parameters": params}}],
        "version": "1.0.0",
    }
    events = {name: float(arr.sum()) for name, arr in samples.items()}
    events["beam_neutrons"] = float(neutrons.sum())
    events["steady_state"] = float(steady_on.sum())
    return FluxModel(workspace, nominal, bkg, mask, events, rc, profile.name)


def _normsys(name: str, rel: float) -> dict | None:
    """A symmetric normalisation systematic (hi = 1 + rel, lo = 1 - rel), or None if rel is 0."""
    if rel <= 0:
        return None
    return {"name": name, "type": "normsys", "data": {"hi": 1.0 + rel, "lo": max(1.0 - rel, 1e-3)}}


def _histosys(name: str, up: np.ndarray, down: np.ndarray, flat) -> dict | None:
    return {"name": name, "type": "histosys", "data": {"hi_data": flat(up), "lo_data": flat(down)}}


def scale_workspace(workspace: dict, factor: float) -> dict:
    """A copy of ``workspace`` with every expected and observed count multiplied by ``factor``.

    Every sample is proportional to the exposure (neutrino-induced, beam neutrons, and the steady state
    through the beam live time), so this is the workspace for ``factor`` times the exposure. ``factor`` must be
    a finite number > 0 (:class:`ConfigError` otherwise).
    """
    import copy

    factor = require_positive(factor, "factor (exposure ratio)")

    ws = copy.deepcopy(workspace)
    for ch in ws["channels"]:
        for s in ch["samples"]:
            s["data"] = [x * factor for x in s["data"]]
            for m in s["modifiers"]:
                if m["type"] == "histosys":
                    m["data"]["hi_data"] = [x * factor for x in m["data"]["hi_data"]]
                    m["data"]["lo_data"] = [x * factor for x in m["data"]["lo_data"]]
    for obs in ws["observations"]:
        obs["data"] = [x * factor for x in obs["data"]]
    return ws
