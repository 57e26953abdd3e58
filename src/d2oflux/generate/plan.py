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
interactions (before any cut), shared among its regions and flavours in proportion to theirs; every
event has weight 1. With a fixed count N (``-n``), N is the total: it is split over the selected
channels in proportion to their expected interactions per SNS-year (largest-remainder rounding, ties
broken with the seed, at least one event per channel), and each event carries the weight
``mu_c / N_c`` in events per SNS-year (``weight`` column, NuHepMC ``CV``), so the weights of a file sum
to the expected interactions per SNS-year of the selected channels. With ``per_channel=True``
(``--per-channel``) each channel gets N events, weighted the same way.

Sizes
-----
A request above :data:`MAX_EVENTS` events is refused unless ``allow_large`` is given; the error states
the event count and the estimated file size (:data:`BYTES_PER_EVENT`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..detector import VISIBLE_PARTICLES, Detector
from ..errors import ConfigError, is_whole_number, suggest
from ..rates import expect, registry_options
from ..source import Exposure, Source
from ..xsec import available_channels, cross_sections_for_target
from ..xsec.oxygen import O16_MODELS
from .geometry import require_geometry
from .kinematics import ChannelModel, model_for
from .spectra import FlavourSpectrum

#: Output formats by file suffix.
FORMATS = {".parquet": "parquet", ".hepmc3": "hepmc3", ".root": "root"}

#: Events above which a request needs ``allow_large`` (``--allow-large``): 10^8 events is ~20 GB of parquet.
MAX_EVENTS = 10**8

#: File size per event [bytes], measured on d2oflux 0.1.0 output for d2o-module1's default channel mix
#: (220,000 events: parquet 171 B, ROOT 175 B; 22,000 events: HepMC3 879 B), rounded up.
BYTES_PER_EVENT = {"parquet": 180, "root": 180, "hepmc3": 900}


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
    per_channel: bool = False
    channel_names: list[str] = field(default_factory=list)

    @property
    def expected_known(self) -> bool:
        return self.exposure is not None

    def total_events(self) -> float:
        """Events requested: N (or N per channel), or the expected number with an exposure."""
        if self.n_events is None:
            return sum(i.expected for i in self.items)
        return self.n_events * (len(self.items) if self.per_channel else 1)

    def flux_averaged_xs_cm2(self) -> float:
        """Expected interactions / total fluence (summed over flavours): the detector's flux-averaged
        total cross section for the selected channels [cm^2] ("per detector")."""
        return sum(i.expected for i in self.items) / sum(self.fluence_per_cm2.values())


def parse_channels(text: str | list[str] | None) -> list[str] | None:
    """``"a,b@r"`` or a list -> list of stripped names (None stays None); an empty item is an error."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    out = [s.strip() for s in items]
    if not any(out):
        raise ConfigError("--channels: expected a comma-separated list of channel names, got an empty list")
    if not all(out):
        raise ConfigError(f"--channels: empty item in {','.join(items)!r}; expected names separated by single commas")
    return out


def output_format(output) -> str:
    """The format of an output path by its suffix; ConfigError for an unknown suffix."""
    from pathlib import Path

    suffix = Path(output).suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(
            f"--output '{output}': unknown suffix '{suffix or '(none)'}'; expected one of {', '.join(FORMATS)}"
        )
    return FORMATS[suffix]


def check_output_path(output) -> tuple[str, str]:
    """``(format, suffix)`` of an output path, after the checks of :func:`d2oflux.outputs.check_output_file`
    (folder exists and is writable, not a folder, an existing file only if d2oflux wrote it)."""
    from pathlib import Path

    from ..outputs import check_output_file
    from .writers import written_by_d2oflux

    if Path(output).is_dir():
        raise ConfigError(f"--output '{output}': is a folder; expected a file name ending in {', '.join(FORMATS)}")
    fmt = output_format(output)
    check_output_file(output, "--output", is_ours=lambda p: written_by_d2oflux(p, fmt))
    return fmt, Path(output).suffix.lower()


def check_count(n_events, *, allow_large: bool = False, fmt: str | None = None) -> int:
    """A positive integer event count (``1e6`` accepted), at most :data:`MAX_EVENTS` unless ``allow_large``."""
    if not is_whole_number(n_events, at_least=1):
        raise ConfigError(f"-n/--count: expected a positive integer, got {n_events!r}")
    check_size(float(n_events), allow_large=allow_large, fmt=fmt, option="-n/--count")
    return int(n_events)


def check_size(n_events: float, *, allow_large: bool, fmt: str | None, option: str) -> None:
    """ConfigError if ``n_events`` exceeds :data:`MAX_EVENTS` without ``allow_large`` (count and size stated)."""
    if n_events <= MAX_EVENTS or allow_large:
        return
    from ..outputs import human_bytes

    size = f" (~{human_bytes(n_events * BYTES_PER_EVENT[fmt])} of {fmt})" if fmt else ""
    raise ConfigError(
        f"{option}: {n_events:.4g} events{size} is above the limit of {MAX_EVENTS:.0e} events; "
        "pass --allow-large to generate them anyway"
    )


def make_plan(
    detector: Detector,
    source: Source,
    exposure: Exposure | None,
    *,
    n_events: int | None,
    channels: list[str] | str | None,
    o16_model: str = "kolbe",
    per_channel: bool = False,
    allow_large: bool = False,
    fmt: str | None = None,
    radiative_corrections: bool = True,
) -> Plan:
    """Validate the request and list what to generate (module docstring).

    ``n_events`` is the total number of events (``per_channel=False``) or the number per selected
    channel; ``fmt`` (parquet, root, hepmc3) only enters the size estimate of a size error.
    """
    if n_events is not None:
        n_events = check_count(n_events, allow_large=allow_large, fmt=fmt)
    elif exposure is None:
        raise ConfigError("generate: give an exposure (--years) or a fixed count (-n/--count)")
    if exposure is not None and not (math.isfinite(exposure.pot) and exposure.pot > 0):
        raise ConfigError(f"exposure: expected a positive number of protons on target, got {exposure.pot!r}")
    if o16_model not in O16_MODELS:
        raise ConfigError(f"--o16-model: expected one of {', '.join(O16_MODELS)}, got '{o16_model}'")
    requested = parse_channels(channels)

    # the rate engine's components, with a response that sees every particle (CEvNS included)
    # (with a fixed count: per SNS-year of the facility, the unit of the events' weights)
    ref_exposure = exposure if exposure is not None else Exposure.from_years(source.facility, 1.0)
    full = detector.make_response(visible_particles=VISIBLE_PARTICLES)
    expectation = expect(
        detector, source, ref_exposure, o16_model=o16_model, response=full, radiative_corrections=radiative_corrections
    )
    options = registry_options(detector, radiative_corrections)
    comps = [c for c in expectation.components if c.interactions > 0]
    sees_recoils = detector.response.sees("nuclear_recoil")
    names = sorted({c.channel for c in comps})
    region_names = [r.name for r in detector.regions]
    recoil_only = {c.channel for c in comps if c.visible_particle == "nuclear_recoil"}
    default = [n for n in names if not (n in recoil_only and not sees_recoils)]

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
        spectra = {f: FlavourSpectrum(source.spectrum(f)) for f in flavours}
        items.append(
            SelectionItem(label, chan, model_for(chan, xs_by_flavour, spectra), sum(c.interactions for c in mine))
        )

    used_regions = sorted({c.region for c in plan_comps})
    for r in used_regions:
        require_geometry(detector, detector.regions[r])

    if n_events is not None and not per_channel and n_events < len(items):
        raise ConfigError(
            f"-n/--count: {n_events} events cannot represent the {len(items)} selected channels (at least one "
            "each); give a larger -n or fewer --channels"
        )
    plan = Plan(
        detector=detector,
        source=source,
        exposure=exposure,
        items=items,
        components=plan_comps,
        regions=region_names,
        fluence_per_cm2=dict(expectation.fluence_per_cm2),
        o16_model=o16_model,
        n_events=n_events,
        per_channel=per_channel,
        channel_names=[i.channel for i in items],
    )
    option = "-n/--per-channel" if n_events else "--years"
    check_size(plan.total_events(), allow_large=allow_large, fmt=fmt, option=option)
    return plan
