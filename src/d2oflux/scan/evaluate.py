"""Evaluate one scan point: events per channel, Asimov stat-only and total uncertainty, impacts, toys.

The likelihood is the one of :func:`d2oflux.analysis.model.build_model` (built once per point, for one
facility-year). Its Asimov uncertainties come from the exact Hessian at the nominal point, which is where
the Asimov fit of :func:`d2oflux.analysis.sensitivity.sensitivity` ends: there the observed counts equal the
expected ones, so the Hessian is the Fisher information

    H(y) = y A + C,

with ``A`` the information per facility-year (every sample scales with the exposure ``y``) and ``C`` the
unit Gaussian constraints. Hence for every exposure, without refitting:

* total: ``sigma^2 = [H^-1]_00`` (the parameter of interest is first and nominally 1, so this is relative);
* stat only: the constrained nuisances fixed, ``sigma^2 = [(H_ff)^-1]_00`` over the free parameters;
* impact of nuisance k (quadrature difference when k is fixed): ``[H^-1]_0k^2 / [H^-1]_kk`` (the Schur
  complement: fixing k removes exactly that from ``[H^-1]_00``);
* time to reach a precision p: the root of ``[H(y)^-1]_00 = p^2`` in y (monotonic), infinite when the
  systematic floor (column ``systematic_floor``, the limit y -> inf) is above p; stat only
  ``[(A_ff)^-1]_00 / p^2`` in closed form.

Tests compare these numbers with ``build_model`` + ``sensitivity`` (the Newton fits of ``fit_batch``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

from .. import __version__
from ..analysis.likelihood import NumpyModel
from ..analysis.model import build_model, scale_workspace
from ..analysis.toys import run_toys
from ..beam import Exposure
from ..detector import Detector
from ..source import Source
from .space import Configured, Point, ScanBase, configure

#: Exposure range searched for the time to reach a precision [facility-years].
YEARS_SEARCH = (1e-4, 1e6)


def evaluate_batch(base: ScanBase, points: list[Point]) -> list[dict]:
    """Rows (one per point and exposure) for a batch of points, in the batch's order."""
    rows: list[dict] = []
    for point in points:
        rows.extend(evaluate_point(base, configure(base, point)))
    return rows


def evaluate_point(base: ScanBase, configured: Configured) -> list[dict]:
    """Rows for one configuration, one per exposure of the specification."""
    spec = base.spec
    settings = spec.settings
    det = Detector(configured.detector, base.detector_label, base.toml_text, Path(base.base_dir))
    source = Source(configured.facility, include_mu_minus_dar=settings.mu_minus_dar)
    model = build_model(det, source, Exposure.from_years(configured.facility, 1.0), o16_model=settings.o16_model)
    nm = model.numpy_model()
    info = AsimovInformation.from_model(nm)
    targets = [p / 100.0 for p in settings.targets_percent]
    times_total = {p: info.years_to_reach(p) for p in targets}
    times_stat = {p: info.stat_years_to_reach(p) for p in targets}
    common: dict = {
        "point": configured.point.index,
        "config_hash": configured.config_hash,
        "spec_hash": spec.spec_hash,
        "d2oflux_version": __version__,
    }
    for path, value in configured.point.values.items():
        common[path] = [float(x) for x in value] if isinstance(value, tuple) else value
    common.update(configured.derived)
    common["systematic_floor"] = info.floor()
    for p in targets:
        common[f"years_to_{_pct(p)}pct_total"] = times_total[p]
        common[f"years_to_{_pct(p)}pct_stat"] = times_stat[p]
    seeds = np.random.SeedSequence([settings.seed, int(configured.config_hash[:15], 16)])
    toy_seeds = seeds.generate_state(len(settings.years), dtype=np.uint32)
    rows = []
    for i, years in enumerate(settings.years):
        total, stat, impacts = info.uncertainties(years)
        row = dict(common)
        row["years"] = float(years)
        row["pot"] = float(Exposure.from_years(configured.facility, years).pot)
        row["stat_only"] = stat
        row["total"] = total
        for name, events in model.events_in_window.items():
            row[f"events.{name}"] = events * years / model.years
        for name, value in impacts.items():
            row[f"impact.{name}"] = value
        if settings.toys:
            nm_y = NumpyModel.from_workspace(scale_workspace(model.workspace, years / model.years))
            res = run_toys(nm_y, settings.toys, int(toy_seeds[i]))
            row["toys.seed"] = int(toy_seeds[i])
            for key in (
                "n_converged",
                "pull_mean",
                "pull_width",
                "coverage_68",
                "fitted_spread",
                "mean_reported_error",
            ):
                row[f"toys.{key}"] = getattr(res, key)
        rows.append(row)
    return rows


class AsimovInformation:
    """The Fisher information of the Asimov dataset per facility-year, ``A``, and the constraints ``C``.

    Parameters
    ----------
    per_year : array (P, P)
        ``A``: information from the counts for one facility-year.
    constraint : array (P,)
        1 for parameters with a unit Gaussian constraint, 0 for free ones.
    names : list of str
        Parameter names (the parameter of interest first).
    """

    def __init__(self, per_year: np.ndarray, constraint: np.ndarray, names: list[str]):
        self.A = per_year
        self.c = constraint
        self.names = names
        self.free = constraint == 0

    @classmethod
    def from_model(cls, nm: NumpyModel, years: float = 1.0) -> AsimovInformation:
        """From a model built for ``years`` facility-years: the exact Hessian at its Asimov minimum."""
        theta = nm.init[None]
        _, H, _ = nm.derivatives(theta, nm.asimov())
        c = nm.constrained.astype(float)
        return cls((H[0] - np.diag(c)) / years, c, list(nm.parameters))

    def hessian(self, years: float) -> np.ndarray:
        return years * self.A + np.diag(self.c)

    def total_variance(self, years: float) -> float:
        return float(np.linalg.inv(self.hessian(years))[0, 0])

    def uncertainties(self, years: float) -> tuple[float, float, dict[str, float]]:
        """Relative total and stat-only uncertainty of the flux normalisation, and impacts, at ``years``."""
        H = self.hessian(years)
        V = np.linalg.inv(H)
        total = math.sqrt(V[0, 0])
        Hf = H[np.ix_(self.free, self.free)]
        stat = math.sqrt(np.linalg.inv(Hf)[0, 0])
        impacts = {self.names[k]: math.sqrt(max(V[0, k] ** 2 / V[k, k], 0.0)) for k in np.nonzero(~self.free)[0]}
        return total, stat, dict(sorted(impacts.items(), key=lambda kv: -kv[1]))

    def floor(self) -> float:
        """Relative total uncertainty with unlimited exposure (the systematic floor; evaluated at 10^6 years)."""
        return math.sqrt(self.total_variance(YEARS_SEARCH[1]))

    def years_to_reach(self, precision: float) -> float:
        """Exposure [facility-years] at which the total uncertainty equals ``precision`` (inf if never)."""
        lo, hi = YEARS_SEARCH
        target = 2 * math.log(precision)

        def g(log_y: float) -> float:
            return math.log(self.total_variance(math.exp(log_y))) - target

        if g(math.log(hi)) > 0:
            return math.inf
        if g(math.log(lo)) <= 0:
            return lo
        return math.exp(brentq(g, math.log(lo), math.log(hi), xtol=1e-12, rtol=1e-12))

    def stat_years_to_reach(self, precision: float) -> float:
        """Exposure at which the stat-only uncertainty equals ``precision`` (closed form, it scales as 1/y)."""
        Af = self.A[np.ix_(self.free, self.free)]
        return float(np.linalg.inv(Af)[0, 0] / precision**2)


def _pct(p: float) -> str:
    """0.05 -> '5', 0.025 -> '2.5'."""
    return f"{100 * p:g}"
