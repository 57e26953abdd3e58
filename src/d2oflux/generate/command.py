"""``d2oflux generate``: the command-line face of :func:`d2oflux.generate.generate`.

Registered lazily by :mod:`d2oflux.cli` (this module is imported only when the command runs); the options
shared with the other commands come from :mod:`d2oflux.options` (the model-building ones packed into a
:class:`~d2oflux.settings.ModelSettings`). Options mirror the function; bad input
raises :class:`~d2oflux.errors.ConfigError` (one line, exit status 2 through ``d2oflux.cli.main``).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ConfigError
from ..options import DetectorOpt, model_options
from ..settings import ModelSettings


@model_options("facility", "mu_minus_dar", "o16_model", "nu_per_proton", "flux_file", "radiative_corrections")
def generate_command(
    seed: Annotated[int, typer.Option("--seed", help="Random seed in [0, 2^63) (same seed, same file).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file: .parquet, .hepmc3 (NuHepMC) or .root.")],
    detector: DetectorOpt = "d2o-module1",
    years: Annotated[
        float | None, typer.Option("--years", help="Exposure in SNS-years: Poisson counts per channel.")
    ] = None,
    count: Annotated[
        float | None,
        typer.Option(
            "--count",
            "-n",
            help="Total number of events (e.g. 100000 or 1e5), split over the channels in proportion to their "
            "expected rates; each event's weight is in events per SNS-year (the weights sum to the expected "
            "interactions per SNS-year).",
        ),
    ] = None,
    per_channel: Annotated[
        bool, typer.Option("--per-channel", help="-n is the number of events per channel, not the total.")
    ] = False,
    allow_large: Annotated[
        bool, typer.Option("--allow-large", help="Allow more than 10^8 events (refused by default).")
    ] = False,
    channels: Annotated[
        str | None,
        typer.Option("--channels", help="Comma-separated channels (e.g. nue_d_cc,es_nue,nue_o16_cc@h2o); default all."),
    ] = None,
    *,
    settings: ModelSettings,
) -> None:
    """Generate neutrino interactions with full final states (vertex, time, four-momenta) into a file.

    With --years each channel gets a Poisson number of events (weight 1). With -n N the file holds N
    events in total, split over the channels in proportion to their expected rates, each weighted in
    events per SNS-year; --per-channel gives N events to every channel instead. More than 10^8 events
    need --allow-large. The file appears only when complete (an interrupted run leaves nothing).
    """
    from ..beam import Exposure
    from ..detector import load_detector
    from ..errors import check_seed
    from ..setup import build_source, facility_for
    from .core import generate
    from .plan import check_count, check_output_path, parse_channels

    check_seed(seed)
    if per_channel and count is None:
        raise ConfigError("--per-channel: applies to -n/--count; give -n")
    if years is not None and count is not None:
        raise ConfigError("generate: give only one of --years, -n/--count")
    if years is None and count is None:
        raise ConfigError("generate: give an exposure with --years or a fixed count with -n/--count")
    if years is not None and not (math.isfinite(years) and years > 0):
        raise ConfigError(f"--years: expected a positive number of SNS-years, got {years!r}")
    fmt, _ = check_output_path(output)
    if count is not None:
        count = check_count(count, allow_large=allow_large, fmt=fmt)
    channel_list = parse_channels(channels)
    det = load_detector(detector)
    fac = facility_for(det, settings.facility, settings.nu_per_proton)
    exposure = Exposure.from_years(fac, years) if years is not None else None
    summary = generate(
        det,
        build_source(fac, settings.mu_minus_dar, settings.flux_file),
        exposure,
        n_events=count,
        per_channel=per_channel,
        channels=channel_list,
        seed=seed,
        output=output,
        progress=sys.stderr.isatty(),
        o16_model=settings.o16_model.value,
        allow_large=allow_large,
        radiative_corrections=settings.radiative_corrections,
    )
    lines = [f"wrote {summary['file']}: {summary['total']} events ({summary['format']}, seed {seed})"]
    width = max(len(k) for k in summary["events"])
    for label, n in summary["events"].items():
        mu = summary["expected"][label]
        extra = (
            f"   expected {mu:.4g}"
            if mu is not None
            else f"   weight {summary['weights'][label]:.4g} events per SNS-year per event"
        )
        lines.append(f"  {label:<{width}}  {n:>10d}{extra}")
    typer.echo("\n".join(lines), err=True)
