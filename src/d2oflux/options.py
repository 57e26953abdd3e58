"""The command-line options every command shares, declared once as typer ``Annotated`` aliases.

A command lists the options it takes as parameters typed with these aliases (so each command's ``--help``
is complete) and packs the model-building ones into a :class:`d2oflux.settings.ModelSettings`. Importing
this module is cheap (typer and the file-format descriptions only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .formats import BEAM_HISTORY, EVENT_FILE, FLUX_FILE
from .settings import O16Model

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
