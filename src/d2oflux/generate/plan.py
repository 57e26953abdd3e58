"""What to generate: channels, their components (region x flavour), expected and requested counts.

Everything here is validated before any file is created; every bad input raises a one-line
:class:`~d2oflux.errors.ConfigError` naming the option or key and what was expected.

Channels
--------
The channels of a detector are those of the rate engine (:func:`d2oflux.rates.expect`) for its
regions, materials and the source's flavours, with one difference: CEvNS channels, which the rate
engine drops when the response does not see nuclear recoils, can be requested explicitly (they are
left out of the default list, as in the rate engine). A channel may be qualified by a region,
``nue_o16_cc@h2o``, to generate only the events in that region.

Counts
------
With an exposure, each selected channel gets a Poisson number of events with mean its expected
interactions (before any cut), shared among its regions and flavours in proportion to theirs. With a
fixed count, each selected channel gets exactly that many events, shared the same way (multinomial);
the events then carry a weight (``weight`` column, NuHepMC ``CV``) ``mu_c / sum(mu) * N / N_c``, so
that weighted histograms of a multi-channel file have the physical channel mix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..detector import VISIBLE_PARTICLES, Detector
from ..errors import ConfigError, suggest
from ..rates import expect, registry_options
from ..source import Exposure, Source
from ..xsec import available_channels, cross_sections_for_target
from .channels import ChannelModel, model_for
from .geometry import require_geometry
from .spectra import FlavourSpectrum

#: Output formats by file suffix.
FORMATS = {".parquet": "parquet", ".hepmc3": "hepmc3", ".root": "root"}


@dataclass
class PlanComponent:
    """One region x flavour of one selected channel."""

    item: int  # index of the selection item
    region: int  # index into Plan.regions
    flavour: str
    target: str
    n_targets: float
    interactions: float  # expected (exposure) or relative (count mode)


@dataclass
class SelectionItem:
    """One entry of the channel list: a channel, optionally restricted to one region."""

    label: str  # as given: "nue_d_cc" or "nue_o16_cc@h2o"
    channel: str
    model: ChannelModel
    expected: float  # sum of the components' interactions


@dataclass
class Plan:
    """A validated generation plan (see :func:`make_plan`)."""

    detector: Detector
    source: Source
    exposure: Exposure | None
    items: list[SelectionItem]
    components: list[PlanComponent]
    regions: list[str]
    fluence_per_cm2: dict[str, float]
    o16_model: str
    n_events: int | None = None
    channel_names: list[str] = field(default_factory=list)

    @property
    def expected_known(self) -> bool:
        return self.exposure is not None

    def flux_averaged_xs_cm2(self) -> float:
        """Expected interactions / total fluence (summed over flavours): the detector's flux-averaged
        total cross section for the selected channels [cm^2] ("per detector")."""
        return sum(i.expected for i in self.items) / sum(self.fluence_per_cm2.values())


def parse_channels(text: str | list[str] | None) -> list[str] | None:
    """``"a,b@r"`` or a list -> list of non-empty stripped names (None stays None)."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    out = [s.strip() for s in items if s and s.strip()]
    if not out:
        raise ConfigError("--channels: expected a comma-separated list of channel names, got an empty list")
    return out


def check_output_path(output) -> tuple[str, str]:
    """``(format, suffix)`` of an output path; ConfigError for an unknown suffix or a missing folder."""
    from pathlib import Path

    p = Path(output)
    suffix = p.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(
            f"--output '{output}': unknown suffix '{suffix or '(none)'}'; expected one of {', '.join(FORMATS)}"
        )
    if not p.parent.exists() or not p.parent.is_dir():
        raise ConfigError(f"--output '{output}': folder '{p.parent}' does not exist")
    if p.exists() and p.is_dir():
        raise ConfigError(f"--output '{output}': is a folder; expected a file name ending in {suffix}")
    return FORMATS[suffix], suffix


def check_count(n_events) -> int:
    """A positive integer event count, or ConfigError naming ``-n/--count``."""
    ok = not isinstance(n_events, bool)
    try:
        ok = ok and float(n_events).is_integer() and n_events > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"-n/--count: expected a positive integer, got {n_events!r}")
    return int(n_events)


def make_plan(
    detector: Detector,
    source: Source,
    exposure: Exposure | None,
    *,
    n_events: int | None,
    channels: list[str] | str | None,
    o16_model: str = "kolbe",
    radiative_corrections: bool = True,
) -> Plan:
    """Validate the request and list what to generate (module docstring)."""
    if n_events is not None:
        n_events = check_count(n_events)
    elif exposure is None:
        raise ConfigError("generate: give an exposure (--years) or a fixed count (-n/--count)")
    if exposure is not None and not (math.isfinite(exposure.pot) and exposure.pot > 0):
        raise ConfigError(f"exposure: expected a positive number of protons on target, got {exposure.pot!r}")
    if o16_model not in ("kolbe", "nakazato"):
        raise ConfigError(f"--o16-model: expected 'kolbe' or 'nakazato', got '{o16_model}'")
    requested = parse_channels(channels)

    # the rate engine's components, with a response that sees every particle (CEvNS included)
    ref_exposure = exposure if exposure is not None else Exposure(pot=1.0, neutrinos_per_flavour=1.0, years=0.0)
    full = detector.make_response(visible_particles=VISIBLE_PARTICLES)
    expectation = expect(
        detector, source, ref_exposure, o16_model=o16_model, response=full, radiative_corrections=radiative_corrections
    )
    options = registry_options(detector, radiative_corrections)
    comps = [c for c in expectation.components if c.interactions > 0]
    sees_recoils = detector.response.sees("nuclear_recoil")
    names = sorted({c.channel for c in comps})
    region_names = [r.name for r in detector.regions]
    default = [n for n in names if not (n.startswith("cevns_") and not sees_recoils)]

    if requested is None:
        requested = default
    selected: list[tuple[str, str, str | None]] = []
    for label in requested:
        chan, _, reg = label.partition("@")
        if chan not in names:
            if chan in available_channels() or chan.startswith("cevns_"):
                raise ConfigError(
                    f"--channels: channel '{chan}' has no interactions in detector '{detector.name}' with this "
                    f"source (flavours {', '.join(source.flavours)}); expected one of {', '.join(names)}"
                )
            raise ConfigError(
                f"--channels: unknown channel '{chan}'{suggest(chan, names)}; expected one of {', '.join(names)}"
                " (optionally as name@region)"
            )
        if reg:
            if reg not in region_names:
                raise ConfigError(
                    f"--channels: unknown region '{reg}' in '{label}'{suggest(reg, region_names)}; "
                    f"expected one of {', '.join(region_names)}"
                )
            if not any(c.channel == chan and c.region == reg for c in comps):
                raise ConfigError(f"--channels: channel '{chan}' has no interactions in region '{reg}'")
        selected.append((label, chan, reg or None))

    seen: set[tuple[str, str]] = set()
    items: list[SelectionItem] = []
    plan_comps: list[PlanComponent] = []
    targets = {r.name: r.targets() for r in detector.regions}
    for k, (label, chan, reg) in enumerate(selected):
        mine = [c for c in comps if c.channel == chan and (reg is None or c.region == reg)]
        for c in mine:
            key = (chan, c.region)
            if key in seen:
                raise ConfigError(f"--channels: '{label}' selects {chan}@{c.region} a second time")
        for c in mine:
            seen.add((chan, c.region))
            plan_comps.append(
                PlanComponent(
                    item=k,
                    region=region_names.index(c.region),
                    flavour=c.flavour,
                    target=c.target,
                    n_targets=targets[c.region][c.target],
                    interactions=c.interactions,
                )
            )
        flavours = sorted({c.flavour for c in mine})
        xs_by_flavour = {}
        for c in mine:
            if c.flavour in xs_by_flavour:
                continue
            (xs,) = [x for x in cross_sections_for_target(c.target, (c.flavour,), o16_model, options) if x.name == chan]
            xs_by_flavour[c.flavour] = xs
        assert flavours == sorted(xs_by_flavour)
        spectra = {f: FlavourSpectrum(source, f) for f in flavours}
        items.append(
            SelectionItem(label, chan, model_for(chan, xs_by_flavour, spectra), sum(c.interactions for c in mine))
        )

    used_regions = sorted({c.region for c in plan_comps})
    for r in used_regions:
        require_geometry(detector, detector.regions[r])

    return Plan(
        detector=detector,
        source=source,
        exposure=exposure,
        items=items,
        components=plan_comps,
        regions=region_names,
        fluence_per_cm2=dict(expectation.fluence_per_cm2),
        o16_model=o16_model,
        n_events=n_events,
        channel_names=[i.channel for i in items],
    )
