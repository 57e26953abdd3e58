"""The ``d2oflux scan`` and ``d2oflux scan-report`` commands (registered in :mod:`d2oflux.cli`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .runner import DEFAULT_MAX_POINTS


def scan_command(
    spec: Annotated[str, typer.Argument(help="Scan preset (module-design, smoke) or path to a scan TOML file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Result store folder (created, or resumed).")],
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Dask LocalCluster worker processes (default: cores); 0 = in this process."),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Address of an existing Dask scheduler (tcp://host:port).")
    ] = None,
    max_points: Annotated[
        int, typer.Option("--max-points", help="Refuse larger scans unless --yes is given.")
    ] = DEFAULT_MAX_POINTS,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm a scan larger than --max-points.")] = False,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Points per task and per stored chunk (default: automatic).")
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Also draw the scan report into this folder.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")] = False,
) -> None:
    """Scan detector designs on Dask into a resumable Parquet store (rerun the same command to resume)."""
    from ..errors import ConfigError
    from .runner import run_scan
    from .spec import load_spec

    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"--batch-size: expected a positive number, got {batch_size}")
    scan_spec = load_spec(spec)
    if report is not None:
        from ..outputs import check_output_folder

        check_output_folder(report, "--report")  # before the scan: a bad folder costs nothing
    summary = run_scan(
        scan_spec,
        output,
        workers=workers,
        scheduler=scheduler,
        max_points=max_points,
        confirmed=yes,
        batch_size=batch_size,
        progress=not as_json and sys.stderr.isatty(),
    )
    result = summary.to_dict()
    if report is not None:
        from .report import make_scan_report

        answer = make_scan_report(output, report, option="--report")
        result["report"] = str(report)
        result["answer"] = answer
    if as_json:
        typer.echo(json.dumps(result, allow_nan=False))
        return
    excluded = ", ".join(f"{k}: {v}" for k, v in summary.excluded_by.items()) or "none"
    typer.echo(
        f"scan '{summary.spec}' ({summary.spec_hash}): {summary.points} points, {summary.excluded_by_constraints} "
        f"excluded by constraints ({excluded}), {summary.already_done} already in the store, "
        f"{summary.computed} computed in {summary.seconds:.1f} s ({summary.workers} workers)\n"
        f"store {summary.store}: {summary.rows_in_store} rows (one per configuration and exposure)"
    )
    if report is not None:
        typer.echo(f"report: {report}/scan-report.md and figures")


def scan_report_command(
    store: Annotated[Path, typer.Argument(help="A store folder written by 'd2oflux scan'.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Report folder.")] = Path("scan-report"),
    years: Annotated[
        float | None,
        typer.Option("--years", help="Exposure T of the Pareto front [SNS-years] (default: the largest scanned)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object on stdout.")] = False,
) -> None:
    """Figures and the answer ('which design, where, how long') from a scan store."""
    from .report import make_scan_report

    answer = make_scan_report(store, output, years=years)
    if as_json:
        typer.echo(json.dumps(answer, allow_nan=False))
    else:
        typer.echo((output / "scan-report.md").read_text(encoding="utf-8"))
