"""The command-line options every command shares, declared once as typer ``Annotated`` aliases.

A command lists the options it takes as parameters typed with these aliases (so each command's ``--help``
is complete). The model-building ones (the fields of :class:`d2oflux.settings.ModelSettings`) come as a
group: :func:`model_options` gives a command the ones it names and hands them to it packed into one
``ModelSettings``. Importing this module is cheap (typer and the file-format descriptions only).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

import typer

from .formats import BEAM_HISTORY, EVENT_FILE, FLUX_FILE
from .settings import ModelSettings, O16Model

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
O16Opt = Annotated[
    O16Model,
    typer.Option("--o16-model", help="nu_e 16O CC model: Kolbe et al. 2002 or the Nakazato et al. 2018 fit."),
]
MuMinusOpt = Annotated[
    bool,
    typer.Option("--mu-minus-dar/--no-mu-minus-dar", help="Include the mu- DAR anti-nu_e contamination."),
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
ModelFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="A model saved by 'd2oflux workspace -o FILE' (the pyhf workspace FILE and its sidecar "
        "FILE-stem.d2oflux.json) instead of building one from the options above.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one strict JSON object on stdout.")]
EventsOpt = Annotated[
    Path | None,
    typer.Option(
        "--events",
        help=f"Event file: {EVENT_FILE.help()}; 'example' for the "
        "shipped pseudo-data (d2o-module1, 1 SNS-year, seed 1).",
    ),
]
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

#: The option of each :class:`~d2oflux.settings.ModelSettings` field (its default is the field's default).
MODEL_OPTIONS: dict[str, Any] = {
    "detector": DetectorOpt,
    "years": YearsOpt,
    "pot": PotOpt,
    "beam_history": HistoryOpt,
    "facility": FacilityOpt,
    "nu_per_proton": YieldOpt,
    "mu_minus_dar": MuMinusOpt,
    "o16_model": O16Opt,
    "flux_file": FluxOpt,
    "radiative_corrections": RadiativeOpt,
    "systematics": SystematicsOpt,
}
#: The exposure options, in the order the commands list them.
EXPOSURE_OPTIONS = ("years", "pot", "beam_history")
#: The source and cross-section options, in the order the commands list them.
PHYSICS_OPTIONS = ("facility", "nu_per_proton", "o16_model", "mu_minus_dar", "flux_file", "radiative_corrections")


def model_options(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: give a typer command the model-building options ``names``, packed as ``settings``.

    The command declares a parameter ``settings: ModelSettings``. Its signature, which typer reads for the
    options and ``--help``, shows instead the options ``names`` (:data:`MODEL_OPTIONS`, in the order given)
    where ``settings`` stands; when it runs, the command receives their values as one
    :class:`~d2oflux.settings.ModelSettings` (the fields not named keep their defaults).

    Parameters
    ----------
    names : str
        Fields of :class:`~d2oflux.settings.ModelSettings`, in the order ``--help`` lists their options.

    Returns
    -------
    callable
        The decorator; it returns a function that takes the options as keyword arguments.
    """
    defaults = {f.name: f.default for f in fields(ModelSettings)}

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        parameters = list(signature.parameters.values())
        at = [p.name for p in parameters].index("settings")
        kind = parameters[at].kind
        group = [inspect.Parameter(n, kind, default=defaults[n], annotation=MODEL_OPTIONS[n]) for n in names]

        @functools.wraps(command)
        def with_settings(**arguments: Any) -> Any:
            settings = ModelSettings(**{n: arguments.pop(n) for n in names})
            return command(settings=settings, **arguments)

        with_settings.__signature__ = signature.replace(parameters=[*parameters[:at], *group, *parameters[at + 1 :]])
        return with_settings

    return decorate
