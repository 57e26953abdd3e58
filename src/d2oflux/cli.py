"""Command-line interface: ``d2oflux <command>``. Every command mirrors a Python function.

Exit status: 0 success; 2 bad input (one line ``d2oflux: error: ...`` on stderr); 3 an invalid result
(a fit at a parameter bound, with a covariance that is not positive definite or a minimiser that did not
converge; fewer than 99 % of the toys converged): the result is printed, then one line
``d2oflux: invalid result: ...``; pass ``--allow-invalid`` to accept it with exit 0; 1 an internal error;
130 interrupted. ``--json`` output is strict JSON: never NaN or Infinity.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import ConfigError, InvalidResult, strict_json
from .formats import BEAM_HISTORY, EVENT_FILE, FLUX_FILE
from .setup import YEARS_RANGE, build_setup

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="d2oflux: heavy-water flux normalisation of a pion-decay-at-rest neutrino source.",
)

DetectorOpt = Annotated[str, typer.Option("--detector", "-d", help="Preset name or path to a detector TOML file.")]
YearsOpt = Annotated[float | None, typer.Option("--years", help="Exposure in SNS-years (5000 h at nominal power).")]
PotOpt = Annotated[float | None, typer.Option("--pot", help="Exposure in protons on target.")]
HistoryOpt = Annotated[
    Path | None,
    typer.Option("--beam-history", help=f"Beam-history file: {BEAM_HISTORY.help()}."),
]
FacilityOpt = Annotated[
    str | None, typer.Option("--facility", help="Facility preset or TOML (default: the detector's).")
]
YieldOpt = Annotated[
    float | None,
    typer.Option("--nu-per-proton", help="Neutrinos per proton per flavour (overrides the facility)."),
]
O16Opt = Annotated[str, typer.Option("--o16-model", help="nu_e 16O CC model: kolbe or nakazato.")]
MuMinusOpt = Annotated[
    bool,
    typer.Option("--mu-minus-dar/--no-mu-minus-dar", help="Include the mu- DAR anti-nu_e contamination."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one strict JSON object on stdout.")]
DatasetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--dataset",
        help="CEvNS data set (preset coherent-csi-2021, coherent-lar-2020 or a TOML); repeat "
        "for a joint fit sharing the flux.",
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Offline folder of the COHERENT releases (default: $D2OFLUX_DATA_DIR, else fetch)."
    ),
]
AllowInvalidOpt = Annotated[
    bool,
    typer.Option(
        "--allow-invalid",
        help="Accept an invalid result (fit at a bound, non-positive-definite covariance, unconverged "
        "minimiser, fewer than 99 % of toys converged) with exit status 0 instead of 3.",
    ),
]
FluxOpt = Annotated[
    Path | None,
    typer.Option(
        "--flux-file",
        help=f"Flux file replacing the analytic piDAR spectra: {FLUX_FILE.help()}.",
    ),
]
RadiativeOpt = Annotated[
    bool,
    typer.Option(
        "--radiative-corrections/--no-radiative-corrections",
        help="KRV radiative correction on nu-d CC (default on; off: the bare NSAPMGK table).",
    ),
]
SystematicsOpt = Annotated[
    str,
    typer.Option("--systematics", help="Systematics profile: default, theory-only, or a TOML file."),
]


def _check_o16(model: str) -> str:
    if model not in ("kolbe", "nakazato"):
        raise ConfigError(f"--o16-model: expected 'kolbe' or 'nakazato', got '{model}'")
    return model


@app.command()
def rates(
    detector: DetectorOpt = "d2o-module1",
    years: YearsOpt = None,
    pot: PotOpt = None,
    beam_history: HistoryOpt = None,
    facility: FacilityOpt = None,
    nu_per_proton: YieldOpt = None,
    o16_model: O16Opt = "kolbe",
    mu_minus_dar: MuMinusOpt = True,
    flux_file: FluxOpt = None,
    radiative_corrections: RadiativeOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Expected interactions and detected events per channel (default: 1 SNS-year)."""
    from .rates import expect
    from .summary import rates_summary, rates_table

    det, src, exposure = build_setup(
        detector, years, pot, beam_history, facility, nu_per_proton, mu_minus_dar, flux_file=flux_file
    )
    result = expect(det, src, exposure, o16_model=_check_o16(o16_model), radiative_corrections=radiative_corrections)
    summary = rates_summary(result)
    if as_json:
        typer.echo(strict_json(summary))
    else:
        typer.echo(rates_table(summary))


def parse_years(text: str) -> list[float]:
    """Parse ``"0.5,1,2"`` into floats (validated by :func:`d2oflux.analysis.sensitivity.check_years`)."""
    from .analysis.sensitivity import check_years

    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--years: expected comma-separated positive numbers, got {text!r}") from None
    lo, hi = YEARS_RANGE
    for y in check_years(values):
        if not lo <= y <= hi:
            raise ConfigError(f"--years: {y:g} SNS-years is outside the accepted {lo:g} to {hi:g}")
    return values


def _model(
    detector,
    years,
    pot,
    beam_history,
    facility,
    nu_per_proton,
    mu_minus_dar,
    o16_model,
    flux_file=None,
    radiative_corrections=True,
    systematics="default",
):
    from .analysis.model import build_model

    det, src, exposure = build_setup(
        detector, years, pot, beam_history, facility, nu_per_proton, mu_minus_dar, flux_file=flux_file
    )
    return build_model(
        det,
        src,
        exposure,
        o16_model=_check_o16(o16_model),
        radiative_corrections=radiative_corrections,
        systematics=systematics,
    )


@app.command()
def workspace(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the pyhf workspace JSON.")],
    detector: DetectorOpt = "d2o-module1",
    years: YearsOpt = None,
    pot: PotOpt = None,
    beam_history: HistoryOpt = None,
    facility: FacilityOpt = None,
    nu_per_proton: YieldOpt = None,
    o16_model: O16Opt = "kolbe",
    mu_minus_dar: MuMinusOpt = True,
    flux_file: FluxOpt = None,
    radiative_corrections: RadiativeOpt = True,
    systematics: SystematicsOpt = "default",
) -> None:
    """Write the flux-measurement likelihood as a pyhf workspace (Asimov observations)."""
    from .outputs import check_output_file, write_json_atomic

    check_output_file(output, "--output", is_ours=_is_d2oflux_workspace)
    model = _model(
        detector,
        years,
        pot,
        beam_history,
        facility,
        nu_per_proton,
        mu_minus_dar,
        o16_model,
        flux_file,
        radiative_corrections,
        systematics,
    )
    _validate_with_pyhf(model.workspace)
    write_json_atomic(output, model.workspace, "--output", is_ours=_is_d2oflux_workspace)
    typer.echo(
        f"wrote {output}: {len(model.workspace['channels'])} channels, "
        f"{sum(len(c['samples']) for c in model.workspace['channels'])} samples "
        f"(try: pyhf fit {output})",
        err=True,
    )


def _is_d2oflux_workspace(path: Path) -> bool:
    """A pyhf workspace as d2oflux writes it (measurement 'flux' with d2oflux's POI), so it may be replaced."""
    from .analysis.model import POI

    if path.stat().st_size > 200_000_000:
        return False
    spec = json.loads(path.read_text(encoding="utf-8"))
    (measurement,) = spec["measurements"]
    return measurement["name"] == "flux" and measurement["config"]["poi"] == POI


def _validate_with_pyhf(spec: dict) -> None:
    import pyhf

    try:
        pyhf.Workspace(spec).model()
    except Exception as exc:  # pyhf raises schema and model errors of several types
        raise ConfigError(f"workspace rejected by pyhf: {str(exc).splitlines()[0]}") from None


@app.command()
def fit(
    events: Annotated[
        Path | None,
        typer.Option(
            "--events",
            help=f"Event file: {EVENT_FILE.help()}; 'example' for the "
            "shipped pseudo-data (d2o-module1, 1 SNS-year, seed 1).",
        ),
    ] = None,
    detector: DetectorOpt = "d2o-module1",
    years: YearsOpt = None,
    pot: PotOpt = None,
    beam_history: HistoryOpt = None,
    facility: FacilityOpt = None,
    nu_per_proton: YieldOpt = None,
    o16_model: O16Opt = "kolbe",
    mu_minus_dar: MuMinusOpt = True,
    flux_file: FluxOpt = None,
    radiative_corrections: RadiativeOpt = True,
    systematics: SystematicsOpt = "default",
    as_json: JsonOpt = False,
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", "-o", help="With --dataset: write the fit figure here.")
    ] = None,
    allow_invalid: AllowInvalidOpt = False,
) -> None:
    """Fit measured events: the flux normalisation, neutrinos per proton, flux at the detector, pulls.

    With --dataset: fit COHERENT CEvNS data sets (jointly with the D2O --events if given)."""
    from .analysis.measurement import fit_events, fit_table

    if events is not None and str(events) == "example" and not events.exists():
        from importlib import resources

        events = Path(str(resources.files("d2oflux") / "data/examples/events_d2o-module1_1y_seed1.csv"))
    if dataset:
        from .coherent.command import fit_datasets_command

        d2o = None
        if events is not None:
            if years is None and pot is None and beam_history is None:
                raise ConfigError("fit: give the exposure of the D2O events with --years, --pot or --beam-history")
            d2o = _model(
                detector,
                years,
                pot,
                beam_history,
                facility,
                nu_per_proton,
                mu_minus_dar,
                o16_model,
                flux_file,
                radiative_corrections,
                systematics,
            )
        typer.echo(fit_datasets_command(dataset, data_dir, plot, as_json, d2o, events))
        return
    if events is None:
        raise ConfigError("fit: give --events (D2O events) or --dataset (CEvNS data set)")
    if years is None and pot is None and beam_history is None:
        raise ConfigError("fit: give the exposure of the data with --years, --pot or --beam-history")
    model = _model(
        detector,
        years,
        pot,
        beam_history,
        facility,
        nu_per_proton,
        mu_minus_dar,
        o16_model,
        flux_file,
        radiative_corrections,
        systematics,
    )
    result = fit_events(model, events)
    typer.echo(strict_json(result) if as_json else fit_table(result))
    if not result["valid"] and not allow_invalid:
        shown = result["problems"][:3] + (
            [f"{len(result['problems']) - 3} more"] if len(result["problems"]) > 3 else []
        )
        raise InvalidResult(f"fit invalid: {'; '.join(shown)} (--allow-invalid accepts it)")


@app.command()
def sensitivity(
    detector: DetectorOpt = "d2o-module1",
    years: Annotated[str, typer.Option("--years", help="Comma-separated SNS-years, e.g. 0.5,1,2,3,5.")] = "0.5,1,2,3,5",
    facility: FacilityOpt = None,
    nu_per_proton: YieldOpt = None,
    o16_model: O16Opt = "kolbe",
    mu_minus_dar: MuMinusOpt = True,
    flux_file: FluxOpt = None,
    cevns: Annotated[
        str, typer.Option("--cevns-detectors", help="CEvNS detectors to propagate the flux to.")
    ] = "csi,lar",
    radiative_corrections: RadiativeOpt = True,
    systematics: SystematicsOpt = "default",
    as_json: JsonOpt = False,
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Projected relative flux uncertainty vs exposure (Asimov), impacts, and CEvNS propagation.

    With --dataset: the CEvNS cross-section uncertainty of each data set with today's flux prior vs the
    D2O-constrained flux after each exposure (joint fits of the real CEvNS data with the D2O Asimov data)."""
    from .analysis.propagation import propagation_table
    from .study import sensitivity_study, sensitivity_table

    year_list = parse_years(years)
    model = _model(
        detector,
        1.0,
        None,
        None,
        facility,
        nu_per_proton,
        mu_minus_dar,
        o16_model,
        flux_file,
        radiative_corrections,
        systematics,
    )
    result, rows = sensitivity_study(model, year_list, [c.strip() for c in cevns.split(",") if c.strip()])
    xsec_text = ""
    if dataset:
        from .coherent.command import propagation_for_sensitivity

        result["cevns_xsec_propagation"], xsec_text = propagation_for_sensitivity(
            dataset, year_list, detector, data_dir, progress=not as_json and sys.stderr.isatty()
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


@app.command()
def toys(
    detector: DetectorOpt = "d2o-module1",
    years: Annotated[float, typer.Option("--years", help="Exposure in SNS-years.")] = 1.0,
    ntoys: Annotated[
        float, typer.Option("--ntoys", help="Number of pseudo-experiments (e.g. 10000 or 1e4; at most 1e6).")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed in [0, 2^63) (same seed, same numbers).")] = 1,
    allow_large: Annotated[bool, typer.Option("--allow-large", help="Allow more than 10^6 toys.")] = False,
    facility: FacilityOpt = None,
    nu_per_proton: YieldOpt = None,
    o16_model: O16Opt = "kolbe",
    mu_minus_dar: MuMinusOpt = True,
    flux_file: FluxOpt = None,
    radiative_corrections: RadiativeOpt = True,
    systematics: SystematicsOpt = "default",
    as_json: JsonOpt = False,
    allow_invalid: AllowInvalidOpt = False,
) -> None:
    """Pseudo-experiments from the model, each fitted: pulls, coverage and spread of the flux normalisation."""
    from .analysis.toys import MIN_CONVERGED_FRACTION, check_ntoys, run_toys
    from .errors import check_seed

    ntoys, seed = check_ntoys(ntoys, allow_large=allow_large), check_seed(seed)
    model = _model(
        detector,
        years,
        None,
        None,
        facility,
        nu_per_proton,
        mu_minus_dar,
        o16_model,
        flux_file,
        radiative_corrections,
        systematics,
    )
    res = run_toys(model.numpy_model(), ntoys, seed, progress=sys.stderr.isatty(), allow_large=allow_large)
    d = {"detector": model.expectation.detector.name, "years": years, **res.to_dict()}
    summarise = res.n_converged >= 2 and (res.valid or allow_invalid)
    if not summarise:  # refuse to summarise too few converged toys
        d.update({k: None for k, v in d.items() if isinstance(v, float) and k not in ("years", "converged_fraction")})
    if as_json:
        typer.echo(strict_json(d))
    else:
        typer.echo(
            f"{res.n_converged}/{ntoys} toys converged ({res.converged_fraction:.1%}; seed {seed}), "
            f"{model.expectation.detector.name}, {years:g} SNS-years"
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


def _register_generate() -> None:
    from .generate.command import generate_command

    app.command("generate")(generate_command)


_register_generate()


def _register_optics() -> None:
    from .optics.commands import calibrate_command, optics_command

    app.command("optics")(optics_command)
    app.command("calibrate")(calibrate_command)


_register_optics()


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

    from pydantic import ValidationError

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
    except ValidationError as exc:  # a pydantic model not wrapped in ConfigError: still one line
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or exc.title
        print(f"d2oflux: error: {where}: {first.get('msg', 'invalid value')}", file=sys.stderr)
        return 2
    except OSError as exc:  # the file system said no (disk full, permissions changed while running)
        name = f" '{exc.filename}'" if exc.filename else ""
        print(f"d2oflux: error: cannot write or read{name}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not bad input: one line, the traceback on request
        if os.environ.get("D2OFLUX_DEBUG"):
            raise
        print(
            f"d2oflux: internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
            "(set D2OFLUX_DEBUG=1 for the traceback; "
            "please report it)",
            file=sys.stderr,
        )
        return 1


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one line ``d2oflux: warning: ...`` on stderr."""
    print(f"d2oflux: warning: {' '.join(str(message).split())}", file=sys.stderr)


def _register_scan() -> None:
    from .scan.commands import scan_command, scan_report_command

    app.command("scan")(scan_command)
    app.command("scan-report")(scan_report_command)


_register_scan()


if __name__ == "__main__":
    sys.exit(main())
