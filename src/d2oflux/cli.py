"""Command-line interface: ``d2oflux <command>``. Every command mirrors a Python function.

Exit status: 0 success; 2 bad input (one line ``d2oflux: error: ...`` on stderr); 3 an invalid result
(a fit at a parameter bound, with a covariance that is not positive definite or a minimiser that did not
converge; fewer than 99 % of the toys converged): the result is printed, then one line
``d2oflux: invalid result: ...``; pass ``--allow-invalid`` to accept it with exit 0; 1 an internal error;
130 interrupted. ``--json`` output is strict JSON: never NaN or Infinity.

The shared options are declared once (:mod:`d2oflux.options`); the model-building ones reach each command
packed into a :class:`~d2oflux.settings.ModelSettings` (:func:`~d2oflux.options.model_options`). Each command
imports what it needs when it runs; the commands of other packages (generate, optics, scan) are registered by
name (:data:`LAZY_COMMANDS`) and imported only when they are run or their help is shown, so
``import d2oflux.cli`` and ``d2oflux --help`` stay fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from .errors import ConfigError, InvalidResult, strict_json
from .options import (
    EXPOSURE_OPTIONS,
    PHYSICS_OPTIONS,
    AllowInvalidOpt,
    DataDirOpt,
    DatasetOpt,
    DetectorOpt,
    EventsOpt,
    FacilityOpt,
    JsonOpt,
    ModelFileOpt,
    RadiativeOpt,
    SystematicsOpt,
    YieldOpt,
    model_options,
)
from .settings import ModelSettings
from .setup import YEARS_RANGE

#: Commands defined in other packages: name -> (module, function, one-line help shown by ``d2oflux --help``;
#: the same as the first line of the function's docstring, checked by the tests).
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "generate": (
        "d2oflux.generate.command",
        "generate_command",
        "Generate neutrino interactions with full final states (vertex, time, four-momenta) into a file.",
    ),
    "optics": (
        "d2oflux.optics.commands",
        "optics_command",
        "The response derived from the optical model (cached), or simulated Michel electrons (--michel N -o F).",
    ),
    "calibrate": (
        "d2oflux.optics.commands",
        "calibrate_command",
        "Fit the light yield and resolution to a Michel PE spectrum (binned likelihood, iminuit).",
    ),
    "scan": (
        "d2oflux.scan.commands",
        "scan_command",
        "Scan detector designs on Dask into a resumable Parquet store (rerun the same command to resume).",
    ),
    "scan-report": (
        "d2oflux.scan.commands",
        "scan_report_command",
        "Figures and the answer ('which design, where, how long') from a scan store.",
    ),
}


class LazyGroup(TyperGroup):
    """The ``d2oflux`` group: commands of :data:`LAZY_COMMANDS` are imported when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.commands, *(name for name in LAZY_COMMANDS if name not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            module, function, _ = LAZY_COMMANDS[cmd_name]
            single = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
            single.command(cmd_name)(getattr(importlib.import_module(module), function))
            self.commands[cmd_name] = typer.main.get_command(single)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, with the lazy commands' one-line help taken from :data:`LAZY_COMMANDS`."""
        rows = []
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        for name in names:
            cmd = self.commands.get(name)
            if cmd is None:
                rows.append((name, click.Command(name, help=LAZY_COMMANDS[name][2]).get_short_help_str(limit)))
            elif not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    cls=LazyGroup,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="d2oflux: heavy-water flux normalisation of a pion-decay-at-rest neutrino source.",
)


@app.command()
@model_options("detector", *EXPOSURE_OPTIONS, *PHYSICS_OPTIONS)
def rates(settings: ModelSettings, as_json: JsonOpt = False) -> None:
    """Expected interactions and detected events per channel (default: 1 SNS-year)."""
    from .rates import expect
    from .summary import rates_summary, rates_table

    det, src, exposure = settings.setup()
    result = expect(
        det,
        src,
        exposure,
        o16_model=settings.o16_model.value,
        radiative_corrections=settings.radiative_corrections,
        disk_cache=True,  # d2oflux.rate_cache: a repeated run skips the physics (D2OFLUX_NO_CACHE=1: off)
    )
    summary = rates_summary(result)
    if as_json:
        typer.echo(strict_json(summary))
    else:
        typer.echo(rates_table(summary))


def parse_years(text: str) -> list[float]:
    """Parse ``"0.5,1,2"`` into floats (validated by :func:`d2oflux.analysis.sensitivity.check_years`)."""
    from .analysis.sensitivity import check_years

    items = text.split(",") if text.strip() else []
    if any(not x.strip() for x in items):
        raise ConfigError(f"--years: empty item in {text!r}; expected comma-separated positive numbers, e.g. 0.5,1,2")
    try:
        values = [float(x) for x in items]
    except ValueError:
        raise ConfigError(f"--years: expected comma-separated positive numbers, got {text!r}") from None
    lo, hi = YEARS_RANGE
    for y in check_years(values):
        if not lo <= y <= hi:
            raise ConfigError(f"--years: {y:g} SNS-years is outside the accepted {lo:g} to {hi:g}")
    return values


def parse_cevns_detectors(text: str) -> list[str]:
    """Parse ``"csi,lar"`` into detector names (``"none"``: no CEvNS propagation); an empty list or an empty
    item is a :class:`ConfigError`."""
    from .config import parse_toml, preset_names, read_preset_text

    if text.strip().lower() == "none":
        return []
    items = [x.strip() for x in text.split(",")]
    if not any(items) or not all(items):
        cevns = [  # the presets whose response is a COHERENT data set's chain
            n
            for n in preset_names("detectors")
            if parse_toml(n, read_preset_text("detectors", n)[1]).get("response", {}).get("model") == "coherent_chain"
        ]
        raise ConfigError(
            f"--cevns-detectors: expected comma-separated CEvNS detectors (presets {', '.join(cevns)}, or detector "
            f"TOML files) or 'none', got {text!r}"
        )
    return items


def _model(settings: ModelSettings, saved: Path | None = None):
    """The flux model: read from ``saved`` (``--model``) if given, else built from ``settings``.

    With ``--model`` the model-building options must be left at their defaults (the saved model fixes them).
    """
    if saved is None:
        return settings.build_model()
    given = settings.changed()
    if given:
        raise ConfigError(f"--model: the saved model fixes the model options; do not give {', '.join(given)}")
    from .analysis.saved import load_model

    return load_model(saved)


@app.command()
@model_options("detector", *EXPOSURE_OPTIONS, *PHYSICS_OPTIONS, "systematics")
def workspace(
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the pyhf workspace JSON; the d2oflux sidecar (binning, mask, exposure, "
            "settings; read by --model) goes beside it as <stem>.d2oflux.json.",
        ),
    ],
    settings: ModelSettings,
) -> None:
    """Write the flux-measurement likelihood as a pyhf workspace (Asimov observations) and its d2oflux sidecar."""
    from .analysis.saved import is_sidecar, sidecar, sidecar_path
    from .outputs import check_output_file, write_json_atomic

    side = sidecar_path(output)
    if side == output:
        raise ConfigError(f"--output '{output}': the name is reserved for the sidecar; choose e.g. model.json")
    check_output_file(output, "--output", is_ours=_is_d2oflux_workspace)
    check_output_file(side, "--output (sidecar)", is_ours=is_sidecar)
    model = _model(settings)
    _validate_with_pyhf(model.workspace)
    write_json_atomic(side, sidecar(model, settings), "--output (sidecar)", is_ours=is_sidecar)
    write_json_atomic(output, model.workspace, "--output", is_ours=_is_d2oflux_workspace)
    typer.echo(
        f"wrote {output}: {len(model.workspace['channels'])} channels, "
        f"{sum(len(c['samples']) for c in model.workspace['channels'])} samples "
        f"(try: pyhf fit {output}), and its d2oflux sidecar {side} (for --model {output})",
        err=True,
    )


def _is_d2oflux_workspace(path: Path) -> bool:
    """A pyhf workspace as d2oflux writes it (measurement 'flux' with d2oflux's POI), so it may be replaced."""
    from .analysis.model import POI
    from .analysis.saved import json_if_small

    spec = json_if_small(path)
    if spec is None:
        return False
    (measurement,) = spec["measurements"]
    return measurement["name"] == "flux" and measurement["config"]["poi"] == POI


def _validate_with_pyhf(spec: dict) -> None:
    import pyhf

    try:
        pyhf.Workspace(spec).model()
    except Exception as exc:  # pyhf raises schema and model errors of several types
        raise ConfigError(f"workspace rejected by pyhf: {str(exc).splitlines()[0]}") from None


@app.command()
@model_options("detector", *EXPOSURE_OPTIONS, *PHYSICS_OPTIONS, "systematics")
def fit(
    events: EventsOpt = None,
    *,
    settings: ModelSettings,
    model_file: ModelFileOpt = None,
    as_json: JsonOpt = False,
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", "-o", help="With --dataset: the fit figure (.png, .pdf, .svg, .eps, .ps).")
    ] = None,
    allow_invalid: AllowInvalidOpt = False,
) -> None:
    """Fit measured events: the flux normalisation, neutrinos per proton, flux at the detector, pulls.

    With --dataset: fit COHERENT CEvNS data sets (jointly with the D2O --events if given)."""
    from .analysis.measurement import fit_events, fit_table

    no_exposure = model_file is None and all(x is None for x in (settings.years, settings.pot, settings.beam_history))
    if events is not None and str(events) == "example" and not events.exists():
        from importlib import resources

        events = Path(str(resources.files("d2oflux") / "data/examples/events_d2o-module1_1y_seed1.csv"))
    if dataset:
        from .coherent.command import fit_datasets_command

        d2o = None
        if events is not None:
            if no_exposure:
                raise ConfigError("fit: give the exposure of the D2O events with --years, --pot or --beam-history")
            d2o = _model(settings, model_file)
        text, result = fit_datasets_command(dataset, data_dir, plot, as_json, d2o, events)
    else:
        if events is None:
            raise ConfigError("fit: give --events (D2O events) or --dataset (CEvNS data set)")
        if plot is not None:
            raise ConfigError(f"--plot '{plot}': the figure is drawn for --dataset fits only; add --dataset or drop -o")
        if no_exposure:
            raise ConfigError("fit: give the exposure of the data with --years, --pot or --beam-history")
        result = fit_events(_model(settings, model_file), events)
        text = strict_json(result) if as_json else fit_table(result)
    typer.echo(text)
    if not result["valid"] and not allow_invalid:
        shown = result["problems"][:3] + (
            [f"{len(result['problems']) - 3} more"] if len(result["problems"]) > 3 else []
        )
        raise InvalidResult(f"fit invalid: {'; '.join(shown)} (--allow-invalid accepts it)")


@app.command()
@model_options(*PHYSICS_OPTIONS, "systematics")
def sensitivity(
    detector: DetectorOpt = "d2o-module1",
    years: Annotated[str, typer.Option("--years", help="Comma-separated SNS-years, e.g. 0.5,1,2,3,5.")] = "0.5,1,2,3,5",
    cevns: Annotated[
        str, typer.Option("--cevns-detectors", help="CEvNS detectors to propagate the flux to ('none': skip).")
    ] = "csi,lar",
    *,
    settings: ModelSettings,
    model_file: ModelFileOpt = None,
    as_json: JsonOpt = False,
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Projected relative flux uncertainty vs exposure (Asimov), impacts, and CEvNS propagation.

    With --dataset: the CEvNS cross-section uncertainty of each data set with today's flux prior vs the
    D2O-constrained flux after each exposure (joint fits of the real CEvNS data with the D2O Asimov data).
    With --model: the saved model, at any exposure, scaled to each of --years."""
    from .analysis.propagation import propagation_table
    from .study import sensitivity_study, sensitivity_table

    year_list = parse_years(years)
    cevns_detectors = parse_cevns_detectors(cevns)
    settings = replace(settings, detector=detector)
    model = _model(settings if model_file is not None else _one_year(settings), model_file)
    result, rows = sensitivity_study(model, year_list, cevns_detectors)
    xsec_text = ""
    if dataset:
        from .coherent.command import propagation_for_sensitivity

        det = model.settings.detector if model_file is not None else detector
        result["cevns_xsec_propagation"], xsec_text = propagation_for_sensitivity(
            dataset, year_list, det, data_dir, progress=not as_json and sys.stderr.isatty()
        )
    if as_json:
        typer.echo(strict_json(result))
    else:
        typer.echo(sensitivity_table(result))
        typer.echo("")
        typer.echo(propagation_table(rows, max(year_list)))
        if xsec_text:
            typer.echo("")
            typer.echo(xsec_text)


def _one_year(settings: ModelSettings) -> ModelSettings:
    """The settings at 1 SNS-year (sensitivity builds its model there and scales it to each exposure)."""
    return replace(settings, years=1.0)


@app.command()
@model_options(*PHYSICS_OPTIONS, "systematics")
def toys(
    detector: DetectorOpt = "d2o-module1",
    years: Annotated[
        float | None, typer.Option("--years", help="Exposure in SNS-years (default 1; with --model: the model's).")
    ] = None,
    ntoys: Annotated[
        float, typer.Option("--ntoys", help="Number of pseudo-experiments (e.g. 10000 or 1e4; at most 1e6).")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed in [0, 2^63) (same seed, same numbers).")] = 1,
    allow_large: Annotated[bool, typer.Option("--allow-large", help="Allow more than 10^6 toys.")] = False,
    *,
    settings: ModelSettings,
    model_file: ModelFileOpt = None,
    as_json: JsonOpt = False,
    allow_invalid: AllowInvalidOpt = False,
) -> None:
    """Pseudo-experiments from the model, each fitted: pulls, coverage and spread of the flux normalisation."""
    from .analysis.toys import MIN_CONVERGED_FRACTION, check_ntoys, run_toys
    from .errors import check_seed

    ntoys, seed = check_ntoys(ntoys, allow_large=allow_large), check_seed(seed)
    settings = replace(settings, detector=detector, years=years)
    model = _model(settings if model_file is not None or years is not None else _one_year(settings), model_file)
    years = model.years
    res = run_toys(model.numpy_model(), ntoys, seed, progress=sys.stderr.isatty(), allow_large=allow_large)
    d = {"detector": model.detector_name, "years": years, **res.to_dict()}
    summarise = res.n_converged >= 2 and (res.valid or allow_invalid)
    if not summarise:  # refuse to summarise too few converged toys
        d.update({k: None for k, v in d.items() if isinstance(v, float) and k not in ("years", "converged_fraction")})
    if as_json:
        typer.echo(strict_json(d))
    else:
        typer.echo(
            f"{res.n_converged}/{ntoys} toys converged ({res.converged_fraction:.1%}; seed {seed}), "
            f"{model.detector_name}, {years:g} SNS-years"
        )
        if summarise:
            typer.echo(
                f"pull mean      {res.pull_mean:+.4f} +- {res.pull_mean_error:.4f}   (expected 0)\n"
                f"pull width     {res.pull_width:.4f} +- {res.pull_width_error:.4f}   (expected 1)\n"
                f"68% coverage   {res.coverage_68:.4f} +- {res.coverage_68_error:.4f}   (expected 0.6827)\n"
                f"fitted flux_norm: mean {res.fitted_mean:.4f}, "
                f"spread {res.fitted_spread:.4f} +- {res.fitted_spread_error:.4f}, "
                f"mean reported error {res.mean_reported_error:.4f}"
            )
    if not res.valid and not (allow_invalid and res.n_converged >= 2):
        raise InvalidResult(
            f"only {res.n_converged}/{ntoys} toys converged ({res.converged_fraction:.1%}, need "
            f"{MIN_CONVERGED_FRACTION:.0%}); the toy summary is not reliable"
            + (" (--allow-invalid accepts it)" if res.n_converged >= 2 else "")
        )


@app.command()
def report(
    detector: DetectorOpt = "d2o-module1",
    years: Annotated[
        str, typer.Option("--years", help="Comma-separated SNS-years for the projection.")
    ] = "0.5,1,2,3,5",
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Output folder: new, empty, or an earlier d2oflux report (only its files replaced)."
        ),
    ] = Path("d2oflux-report"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the validation toys, in [0, 2^63).")] = 20261125,
    facility: FacilityOpt = None,
    nu_per_proton: YieldOpt = None,
    radiative_corrections: RadiativeOpt = True,
    systematics: SystematicsOpt = "default",
    optics: Annotated[
        bool,
        typer.Option(
            "--optics/--no-optics",
            help="Detector-response section from the optical model (first build ~1-2 min, then cached).",
        ),
    ] = True,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Folder of COHERENT's public releases (csi2021/, lar2020/) for the CEvNS cross-section section "
            "(default: $D2OFLUX_DATA_DIR, else downloaded).",
        ),
    ] = None,
) -> None:
    """The flux-normalisation study: report.html, summary.json and figures (PNG + PDF) in one folder."""
    from .errors import check_seed
    from .report import make_report

    check_seed(seed)
    make_report(
        detector,
        parse_years(years),
        output,
        seed=seed,
        progress=sys.stderr.isatty(),
        facility=facility,
        nu_per_proton=nu_per_proton,
        radiative_corrections=radiative_corrections,
        systematics=systematics,
        optics=optics,
        data_dir=data_dir,
    )
    typer.echo(f"wrote {output}/report.html (open it in a browser), summary.json and figures")


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that partial outputs are removed on the way out."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated


def _install_signal_handlers() -> dict:
    """SIGINT -> KeyboardInterrupt (even if the parent ignored it), SIGTERM -> :class:`Terminated`.

    Returns the previous handlers (restored when :func:`main` returns).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_terminated),
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning every input error into one line and exit status 2.

    SIGINT exits with 130 and SIGTERM with 143, after the outputs being written are removed.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    previous = _install_signal_handlers()
    try:
        return _run(args)
    finally:
        import signal

        for signum, handler in previous.items():
            if handler is not None:  # None: installed outside Python, cannot be restored
                signal.signal(signum, handler)


def _run(args: list[str]) -> int:
    import warnings

    try:
        # typer, not standalone, returns an exit code: 130 after turning a KeyboardInterrupt into Exit(130)
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            code = app(args=args or ["--help"], standalone_mode=False, prog_name="d2oflux")
        if code == 130:
            print("d2oflux: interrupted", file=sys.stderr)
        return code if isinstance(code, int) else 0
    except ConfigError as exc:
        print(f"d2oflux: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except InvalidResult as exc:
        print(f"d2oflux: invalid result: {exc}", file=sys.stderr)
        return 3
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("d2oflux: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("d2oflux: terminated", file=sys.stderr)
        return 143
    except typer.TyperException as exc:  # usage errors: unknown option, missing value, bad type
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        print(f"d2oflux: error: {' '.join(message.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("d2oflux: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the file system said no (disk full, permissions changed while running)
        name = f" '{exc.filename}'" if exc.filename else ""
        print(f"d2oflux: error: cannot write or read{name}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not bad input: one line, the traceback on request
        if _is_validation_error(exc):  # a pydantic model not wrapped in ConfigError: still one line
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first.get("loc", ())) or exc.title
            print(f"d2oflux: error: {where}: {first.get('msg', 'invalid value')}", file=sys.stderr)
            return 2
        if os.environ.get("D2OFLUX_DEBUG"):
            raise
        print(
            f"d2oflux: internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
            "(set D2OFLUX_DEBUG=1 for the traceback; "
            "please report it)",
            file=sys.stderr,
        )
        return 1


def _is_validation_error(exc: Exception) -> bool:
    """A pydantic ``ValidationError`` (pydantic is not imported for it: if it was never loaded, none was raised)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(exc, pydantic.ValidationError)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one line ``d2oflux: warning: ...`` on stderr."""
    print(f"d2oflux: warning: {' '.join(str(message).split())}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
