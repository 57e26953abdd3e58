"""Command-line interface: ``d2oflux <command>``. Every command mirrors a Python function.

Bad input prints one line ``d2oflux: error: ...`` on stderr and exits with status 2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import ConfigError
from .setup import build_setup

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
    typer.Option("--beam-history", help="Beam-history CSV (start,end,power_MW|pot,proton_energy_GeV)."),
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
JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")]
FluxOpt = Annotated[
    Path | None,
    typer.Option(
        "--flux-file",
        help="CSV of dN/dE per flavour (E_MeV,nu_mu,nu_e,anti_nu_mu) replacing the analytic piDAR spectra.",
    ),
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
    as_json: JsonOpt = False,
) -> None:
    """Expected interactions and detected events per channel (default: 1 SNS-year)."""
    from .rates import expect
    from .summary import rates_summary, rates_table

    det, src, exposure = build_setup(
        detector, years, pot, beam_history, facility, nu_per_proton, mu_minus_dar, flux_file=flux_file
    )
    result = expect(det, src, exposure, o16_model=_check_o16(o16_model))
    summary = rates_summary(result)
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(rates_table(summary))


def parse_years(text: str) -> list[float]:
    """Parse ``"0.5,1,2"`` into floats (validated by :func:`d2oflux.analysis.sensitivity.check_years`)."""
    from .analysis.sensitivity import check_years

    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--years: expected comma-separated positive numbers, got {text!r}") from None
    return check_years(values)


def _model(detector, years, pot, beam_history, facility, nu_per_proton, mu_minus_dar, o16_model, flux_file=None):
    from .analysis.model import build_model

    det, src, exposure = build_setup(
        detector, years, pot, beam_history, facility, nu_per_proton, mu_minus_dar, flux_file=flux_file
    )
    return build_model(det, src, exposure, o16_model=_check_o16(o16_model))


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
) -> None:
    """Write the flux-measurement likelihood as a pyhf workspace (Asimov observations)."""
    from .io import write_json_atomic

    model = _model(detector, years, pot, beam_history, facility, nu_per_proton, mu_minus_dar, o16_model, flux_file)
    _validate_with_pyhf(model.workspace)
    write_json_atomic(output, model.workspace)
    typer.echo(
        f"wrote {output}: {len(model.workspace['channels'])} channels, "
        f"{sum(len(c['samples']) for c in model.workspace['channels'])} samples "
        f"(try: pyhf fit {output})",
        err=True,
    )


def _validate_with_pyhf(spec: dict) -> None:
    import pyhf

    try:
        pyhf.Workspace(spec).model()
    except Exception as exc:  # pyhf raises schema and model errors of several types
        raise ConfigError(f"workspace rejected by pyhf: {str(exc).splitlines()[0]}") from None


@app.command()
def fit(
    events: Annotated[
        Path,
        typer.Option(
            "--events",
            help="Event file (.csv or .parquet): energy_MeV,time_ns,window; 'example' for the "
            "shipped pseudo-data (d2o-module1, 1 SNS-year, seed 1).",
        ),
    ],
    detector: DetectorOpt = "d2o-module1",
    years: YearsOpt = None,
    pot: PotOpt = None,
    beam_history: HistoryOpt = None,
    facility: FacilityOpt = None,
    nu_per_proton: YieldOpt = None,
    o16_model: O16Opt = "kolbe",
    mu_minus_dar: MuMinusOpt = True,
    flux_file: FluxOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit measured events: the flux normalisation, neutrinos per proton, flux at the detector, pulls."""
    from .analysis.measurement import fit_events, fit_table

    if years is None and pot is None and beam_history is None:
        raise ConfigError("fit: give the exposure of the data with --years, --pot or --beam-history")
    if str(events) == "example" and not events.exists():
        from importlib import resources

        events = Path(str(resources.files("d2oflux") / "data/examples/events_d2o-module1_1y_seed1.csv"))
    model = _model(detector, years, pot, beam_history, facility, nu_per_proton, mu_minus_dar, o16_model, flux_file)
    result = fit_events(model, events)
    typer.echo(json.dumps(result) if as_json else fit_table(result))


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
    as_json: JsonOpt = False,
) -> None:
    """Projected relative flux uncertainty vs exposure (Asimov), impacts, and CEvNS propagation."""
    from .analysis.propagation import propagation_table
    from .study import sensitivity_study, sensitivity_table

    year_list = parse_years(years)
    model = _model(detector, 1.0, None, None, facility, nu_per_proton, mu_minus_dar, o16_model, flux_file)
    result, rows = sensitivity_study(model, year_list, [c.strip() for c in cevns.split(",") if c.strip()])
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(sensitivity_table(result))
        typer.echo("")
        typer.echo(propagation_table(rows, max(year_list)))


@app.command()
def toys(
    detector: DetectorOpt = "d2o-module1",
    years: Annotated[float, typer.Option("--years", help="Exposure in SNS-years.")] = 1.0,
    ntoys: Annotated[int, typer.Option("--ntoys", help="Number of pseudo-experiments.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same numbers).")] = 1,
    facility: FacilityOpt = None,
    nu_per_proton: YieldOpt = None,
    o16_model: O16Opt = "kolbe",
    mu_minus_dar: MuMinusOpt = True,
    flux_file: FluxOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pseudo-experiments from the model, each fitted: pulls, coverage and spread of the flux normalisation."""
    from .analysis.toys import run_toys

    model = _model(detector, years, None, None, facility, nu_per_proton, mu_minus_dar, o16_model, flux_file)
    res = run_toys(model.numpy_model(), ntoys, seed, progress=not as_json and sys.stderr.isatty())
    d = res.to_dict()
    d = {"detector": model.expectation.detector.name, "years": years, **d}
    if as_json:
        typer.echo(json.dumps(d))
        return
    typer.echo(
        f"{res.n_converged}/{ntoys} toys converged (seed {seed}), {model.expectation.detector.name}, "
        f"{years:g} SNS-years\n"
        f"pull mean      {res.pull_mean:+.4f} +- {res.pull_mean_error:.4f}   (expected 0)\n"
        f"pull width     {res.pull_width:.4f} +- {res.pull_width_error:.4f}   (expected 1)\n"
        f"68% coverage   {res.coverage_68:.4f} +- {res.coverage_68_error:.4f}   (expected 0.6827)\n"
        f"fitted flux_norm: mean {res.fitted_mean:.4f}, "
        f"spread {res.fitted_spread:.4f} +- {res.fitted_spread_error:.4f}, "
        f"mean reported error {res.mean_reported_error:.4f}"
    )


@app.command()
def report(
    detector: DetectorOpt = "d2o-module1",
    years: Annotated[
        str, typer.Option("--years", help="Comma-separated SNS-years for the projection.")
    ] = "0.5,1,2,3,5",
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")] = Path("d2oflux-report"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the validation toys.")] = 20261125,
) -> None:
    """The flux-normalisation study: report.html, summary.json and figures (PNG + PDF) in one folder."""
    from .report import make_report

    make_report(detector, parse_years(years), output, seed=seed, progress=sys.stderr.isatty())
    typer.echo(f"wrote {output}/report.html (open it in a browser), summary.json and figures")


def _register_generate() -> None:
    from .generate.command import generate_command

    app.command("generate")(generate_command)


_register_generate()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning every input error into one line and exit status 2."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        app(args=args or ["--help"], standalone_mode=False, prog_name="d2oflux")
    except ConfigError as exc:
        print(f"d2oflux: error: {exc}", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("d2oflux: aborted", file=sys.stderr)
        return 130
    except typer.TyperException as exc:  # usage errors: unknown option, missing value, bad type
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        print(f"d2oflux: error: {' '.join(message.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("d2oflux: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line, the traceback on request
        if os.environ.get("D2OFLUX_DEBUG"):
            raise
        print(
            f"d2oflux: internal error: {type(exc).__name__}: {exc} (set D2OFLUX_DEBUG=1 for the traceback; "
            "please report it)",
            file=sys.stderr,
        )
        return 1
    return 0


def _register_scan() -> None:
    from .scan.commands import scan_command, scan_report_command

    app.command("scan")(scan_command)
    app.command("scan-report")(scan_report_command)


_register_scan()


if __name__ == "__main__":
    sys.exit(main())
