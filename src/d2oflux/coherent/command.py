"""The ``--dataset`` paths of ``d2oflux fit`` and ``d2oflux sensitivity`` (kept out of cli.py)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, strict_json


def fit_datasets_command(
    datasets: list[str],
    data_dir: Path | None,
    plot: Path | None,
    as_json: bool,
    d2o_model=None,
    events: Path | None = None,
) -> tuple[str, dict]:
    """Fit one or more data sets (jointly, with the D2O events if given): the text to print and the result."""
    from .joint import fit_datasets, fit_table

    d2o_data = None
    if events is not None:
        if d2o_model is None:
            raise ConfigError("--events with --dataset: the D2O model is missing")
        from ..analysis.events import bin_event_file, with_observations
        from ..analysis.likelihood import NumpyModel

        observations, _ = bin_event_file(d2o_model, events)
        d2o_data = NumpyModel.from_workspace(with_observations(d2o_model.workspace, observations)).observed
    result = fit_datasets(datasets, data_dir=data_dir, plot=plot, d2o=d2o_model, d2o_data=d2o_data)
    return (strict_json(result) if as_json else fit_table(result)), result


def propagation_for_sensitivity(
    datasets: list[str], years: list[float], detector: str, data_dir: Path | None, progress: bool
) -> tuple[list[dict], str]:
    """CEvNS cross-section uncertainty of each data set with today's flux prior vs the D2O-constrained flux."""
    from .propagation import propagation_rows, propagation_table

    rows = propagation_rows(datasets, years, detector, data_dir, progress=progress)
    return [r.to_dict() for r in rows], propagation_table(rows)
