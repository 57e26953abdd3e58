"""Command-line commands: ``d2oflux optics`` and ``d2oflux calibrate`` (registered in :mod:`d2oflux.cli`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..errors import ConfigError, strict_json

#: Upper guard of ``--michel`` (a CSV row is ~60 bytes: 10^8 events are ~6 GB).
MAX_MICHEL = 100_000_000


def _optics_config(detector: str):
    from ..detector import load_detector
    from .config import OpticsConfig

    det = load_detector(detector)
    if det.config.optics is None and not any(r.material == "D2O" for r in det.regions):
        raise ConfigError(
            f"detector '{det.label}' has no [optics] section and no D2O region; the default optical model "
            "describes the heavy-water module (add an [optics] section to model another water detector)"
        )
    return det, det.config.optics or OpticsConfig()


def optics_command(
    detector: Annotated[str, typer.Option("--detector", "-d", help="Preset name or detector TOML.")] = "d2o-module1",
    michel: Annotated[
        int | None, typer.Option("--michel", help="Simulate this many Michel electrons and write their PE (-o).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the Michel simulation.")] = 1,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Michel .csv to write (with --michel).")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild the cached derived response.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")] = False,
) -> None:
    """The response derived from the optical model (cached), or simulated Michel electrons (--michel N -o F)."""
    det, cfg = _optics_config(detector)
    if michel is None and output is not None:
        raise ConfigError(f"--output '{output}': writes simulated Michel electrons; give their number with --michel N")
    if michel is not None:
        from .michel import simulate_michel, write_michel_csv

        if output is None:
            raise ConfigError("--michel: give the output CSV with -o FILE.csv")
        if michel < 1:
            raise ConfigError(f"--michel: expected a positive number of events, got {michel}")
        if michel > MAX_MICHEL:
            raise ConfigError(f"--michel: at most {MAX_MICHEL:.0e} events per file, got {michel}")
        from ..errors import check_seed
        from ..outputs import check_output_file
        from .michel import written_by_d2oflux

        seed = check_seed(seed)
        if output.suffix.lower() != ".csv":
            raise ConfigError(f"--output '{output}': the Michel file is CSV text; expected a name ending in .csv")
        check_output_file(output, "--output", is_ours=written_by_d2oflux)
        cols = simulate_michel(cfg, michel, seed)
        header = [
            f"Michel electrons from stopped cosmic muons, d2oflux optics --michel {michel} --seed {seed}",
            f"detector '{det.label}', optical configuration {cfg.digest()}",
            "pe: photo-electrons; kinetic_energy_MeV: true electron kinetic energy; charge: parent muon charge",
        ]
        write_michel_csv(output, cols, header)
        summary = {
            "events": michel,
            "output": str(output),
            "mean_pe": float(cols["pe"].mean()),
            "pe_99_5_percentile": float(np.percentile(cols["pe"], 99.5)),
        }
        if as_json:
            typer.echo(strict_json(summary))
        else:
            typer.echo(f"wrote {output}: {michel} Michel electrons, mean {summary['mean_pe']:.1f} PE", err=True)
        return
    from .response import cache_path, derived_response

    resp = derived_response(cfg, progress=not as_json and sys.stderr.isatty(), rebuild=rebuild)
    d = {"detector": det.name, **resp.summary(det.config.response.threshold_MeV), "cache_file": str(cache_path(cfg))}
    if as_json:
        typer.echo(strict_json(d))
        return
    typer.echo(
        f"optical response of {det.name}: {d['n_pmts']} PMTs, QE {d['qe_source']}\n"
        f"light yield (electrons uniform in D2O)   {d['light_yield_pe_per_MeV']:.2f} PE/MeV\n"
        f"light yield (at the centre)              {d['light_yield_center_pe_per_MeV']:.2f} PE/MeV\n"
        f"resolution sigma/E at 30 MeV             {d['resolution_at_30MeV']:.3f}\n"
        f"light from the light water (D2O events)  {d['light_water_fraction']:.3f}\n"
        f"threshold efficiency at {d['threshold_MeV']:g} MeV           "
        + ", ".join(f"{k} MeV: {v:.3f}" for k, v in d["threshold_efficiency"].items())
        + "\n"
        f"photons traced                           {d['photons_traced']:.3g} in a {d['build_seconds']:.1f} s build "
        f"({d['photons_traced_per_second']:.3g} per wall second, showers included; {d['backend']} backend)\n"
        + (
            f"photon tracing alone                     {d['photon_histories_per_cpu_second']:.3g} photon histories "
            "per CPU second (per core)\n"
            if d["photon_histories_per_cpu_second"]
            else ""
        )
        + f"comparison: public analysis code ~{d['comparison']['public_analysis_code_pe_per_MeV']:g} PE/MeV "
        f"(Michel endpoint ~800 PE); this model's endpoint {d['comparison']['this_model_michel_endpoint_pe']:.0f} PE\n"
        f"cache: {d['cache_file']}"
    )


def calibrate_command(
    michel: Annotated[Path, typer.Option("--michel", help="Michel CSV with a 'pe' column.")],
    detector: Annotated[str, typer.Option("--detector", "-d", help="Preset name or detector TOML.")] = "d2o-module1",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the fitted [response] and [systematics] as TOML.")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Use only rows with this 'region' (e.g. d2o in simulated files).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")] = False,
) -> None:
    """Fit the light yield and resolution to a Michel PE spectrum (binned likelihood, iminuit)."""
    from ..detector import load_detector
    from ..outputs import check_output_file, write_text_atomic
    from .calibrate import calibrate, read_michel_pe

    load_detector(detector)  # validates the detector the calibration is meant for
    if output is not None:
        check_output_file(output, "--output", is_ours=_calibration_toml)
    cal = calibrate(read_michel_pe(michel, region))
    if output is not None:
        write_text_atomic(output, cal.to_toml(str(michel)), "--output", is_ours=_calibration_toml)
    d = cal.to_dict()
    if as_json:
        typer.echo(strict_json(d))
        return
    S = cal.scale_factor
    typer.echo(
        f"light yield    {cal.light_yield:.4f} +- {S * cal.light_yield_error:.4f} PE/MeV "
        f"(statistical {cal.light_yield_error:.4f}; energy-scale uncertainty {cal.energy_scale_uncertainty:.2%})\n"
        f"resolution c   {cal.resolution:.4f} +- {S * cal.resolution_error:.4f}  (sigma_PE^2 = Y E + (c Y E)^2)\n"
        f"p-value        {cal.p_value:.3g}, scale factor {S:.2f}  ({cal.n_used} events fitted)"
        + (f"\nwrote {output}" if output else "")
    )


def _calibration_toml(path: Path) -> bool:
    """True if ``path`` is a calibration TOML written by ``d2oflux calibrate`` (its header says so)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        return "d2oflux calibrate" in fh.read(400)
