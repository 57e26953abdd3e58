"""Command-line interface: ``d2oflux <command>``. Every command mirrors a Python function.

Bad input prints one line ``d2oflux: error: ...`` on stderr and exits with status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import click
import typer

from .errors import ConfigError

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
HistoryOpt = Annotated[Path | None, typer.Option("--beam-history", help="Beam-history CSV (start,end,power_MW|pot,proton_energy_GeV).")]
FacilityOpt = Annotated[str | None, typer.Option("--facility", help="Facility preset or TOML (default: the detector's).")]
YieldOpt = Annotated[float | None, typer.Option("--nu-per-proton", help="Neutrinos per proton per flavour (overrides the facility).")]
O16Opt = Annotated[str, typer.Option("--o16-model", help="nu_e 16O CC model: kolbe or nakazato.")]
MuMinusOpt = Annotated[bool, typer.Option("--mu-minus-dar/--no-mu-minus-dar", help="Include the mu- DAR anti-nu_e contamination.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")]


def build_setup(detector: str, years: float | None, pot: float | None, beam_history: Path | None,
                facility: str | None, nu_per_proton: float | None, mu_minus_dar: bool, default_years: float = 1.0):
    """Load the detector, the source and the exposure from CLI options."""
    from .detector import load_detector
    from .source import Exposure, Source, load_facility

    det = load_detector(detector)
    fac = load_facility(facility or det.config.facility, nu_per_proton=nu_per_proton)
    given = [x is not None for x in (years, pot, beam_history)]
    if sum(given) > 1:
        raise ConfigError("give only one of --years, --pot, --beam-history")
    if pot is not None:
        exposure = Exposure.from_pot(fac, pot)
    elif beam_history is not None:
        exposure = Exposure.from_beam_history(fac, beam_history)
    else:
        exposure = Exposure.from_years(fac, default_years if years is None else years)
    return det, Source(fac, include_mu_minus_dar=mu_minus_dar), exposure


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
    as_json: JsonOpt = False,
) -> None:
    """Expected interactions and detected events per channel (default: 1 SNS-year)."""
    from .rates import expect
    from .summary import rates_summary, rates_table

    det, src, exposure = build_setup(detector, years, pot, beam_history, facility, nu_per_proton, mu_minus_dar)
    result = expect(det, src, exposure, o16_model=_check_o16(o16_model))
    summary = rates_summary(result)
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(rates_table(summary))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning every input error into one line and exit status 2."""
    try:
        app(args=argv, standalone_mode=False, prog_name="d2oflux")
    except ConfigError as exc:
        print(f"d2oflux: error: {exc}", file=sys.stderr)
        return 2
    except click.exceptions.UsageError as exc:
        print(f"d2oflux: error: {exc.format_message()}", file=sys.stderr)
        return 2
    except click.exceptions.Abort:
        print("d2oflux: aborted", file=sys.stderr)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
