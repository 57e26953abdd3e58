"""Projected flux uncertainty vs exposure from Asimov fits, systematic impacts, and CEvNS propagation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .fitter import fit_batch
from .likelihood import NumpyModel
from .model import FREE_PARAMETERS, FluxModel, scale_workspace


@dataclass
class Sensitivity:
    """Relative (fractional) flux-normalisation uncertainty per exposure, and impacts at the largest one."""

    years: list[float]
    stat_only: list[float]
    total: list[float]
    impacts: dict[str, float]
    events_per_year: dict[str, float]


def check_years(years: list[float]) -> list[float]:
    """Validate an exposure list: non-empty, every value a positive finite number."""
    if not years:
        raise ConfigError("--years: expected a non-empty comma-separated list of positive numbers")
    out = []
    for y in years:
        if not np.isfinite(y) or y <= 0:
            raise ConfigError(f"--years: every exposure must be a positive number of SNS-years, got {y}")
        out.append(float(y))
    return out


def asimov_uncertainties(nm: NumpyModel) -> tuple[float, float, dict[str, float]]:
    """Total and stat-only POI uncertainty of the Asimov fit, and each constrained nuisance's impact.

    Impact of a nuisance = sqrt(sigma_total^2 - sigma_with_it_fixed^2) (the quadrature-difference method).
    Stat only = every constrained nuisance fixed at its nominal value (free normalisations still float).
    """
    data = nm.asimov()
    constrained = [i for i, n in enumerate(nm.parameters) if n not in FREE_PARAMETERS and nm.constrained[i]]
    P = len(nm.parameters)
    fixed = np.zeros((2 + len(constrained), P), dtype=bool)
    fixed[1, constrained] = True
    for row, k in enumerate(constrained, start=2):
        fixed[row, k] = True
    fit = fit_batch(nm, np.broadcast_to(data, (fixed.shape[0], data.size)), fixed=fixed)
    sig = fit.errors[:, nm.poi_index] / np.maximum(fit.theta[:, nm.poi_index], 1e-12)
    total, stat = float(sig[0]), float(sig[1])
    impacts = {
        nm.parameters[k]: float(np.sqrt(max(total**2 - sig[row] ** 2, 0.0)))
        for row, k in enumerate(constrained, start=2)
    }
    return total, stat, dict(sorted(impacts.items(), key=lambda kv: -kv[1]))


def sensitivity(model: FluxModel, years: list[float]) -> Sensitivity:
    """Asimov fits of ``model`` (built for any exposure) scaled to each of ``years`` (SNS-years)."""
    years = check_years(years)
    stat, total = [], []
    impacts: dict[str, float] = {}
    for y in years:
        nm = NumpyModel.from_workspace(scale_workspace(model.workspace, y / model.years))
        t, s, imp = asimov_uncertainties(nm)
        total.append(t)
        stat.append(s)
        if y == max(years):
            impacts = imp
    per_year = {k: v / model.years for k, v in model.events_in_window.items()}
    return Sensitivity(years, stat, total, impacts, per_year)
