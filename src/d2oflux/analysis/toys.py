"""Pseudo-experiments: draw data from the model, fit each, and check pulls and coverage."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, check_seed, is_whole_number
from .fitter import fit_batch
from .likelihood import NumpyModel

#: Fewest converged toys, as a fraction, for the summary to be reported as valid.
MIN_CONVERGED_FRACTION = 0.99


@dataclass
class ToyResult:
    """Summary of a toy study of the parameter of interest (fitted values are fractions of nominal).

    Each statistic comes with its statistical error from the finite number of toys. A toy counts as
    converged when its fit converged with a positive error and the parameter of interest is not at a bound.
    With fewer than two converged toys the statistics are ``None``.
    """

    ntoys: int
    seed: int
    n_converged: int
    pull_mean: float | None
    pull_mean_error: float | None
    pull_width: float | None
    pull_width_error: float | None
    coverage_68: float | None
    coverage_68_error: float | None
    fitted_mean: float | None
    fitted_spread: float | None
    fitted_spread_error: float | None
    mean_reported_error: float | None

    @property
    def converged_fraction(self) -> float:
        return self.n_converged / self.ntoys if self.ntoys else 0.0

    @property
    def valid(self) -> bool:
        """Whether at least :data:`MIN_CONVERGED_FRACTION` of the toys converged (and two or more)."""
        return self.n_converged >= 2 and self.converged_fraction >= MIN_CONVERGED_FRACTION

    def to_dict(self) -> dict:
        return {**self.__dict__, "converged_fraction": self.converged_fraction, "valid": self.valid}


def draw_toys(nm: NumpyModel, ntoys: int, rng: np.random.Generator, theta: np.ndarray | None = None):
    """Poisson main data and unit-Gaussian auxiliary data at ``theta`` (default: nominal)."""
    truth = nm.init if theta is None else theta
    lam = nm.expected(truth)[0]
    data = rng.poisson(lam, size=(ntoys, lam.size)).astype(float)
    aux = np.where(nm.constrained, truth + rng.standard_normal((ntoys, truth.size)), 0.0)
    return data, aux


#: Toys above which ``allow_large`` (``--allow-large``) is needed: 10^6 toys take about half an hour here.
MAX_TOYS = 10**6


def check_ntoys(ntoys, *, allow_large: bool = False) -> int:
    """An integer number of toys >= 2 (``1e4`` accepted), at most :data:`MAX_TOYS` unless ``allow_large``."""
    if not is_whole_number(ntoys, at_least=2):
        raise ConfigError(f"--ntoys: expected an integer number of toys, at least 2, got {ntoys!r}")
    if ntoys > MAX_TOYS and not allow_large:
        raise ConfigError(
            f"--ntoys: {ntoys:.4g} toys is above the limit of {MAX_TOYS:.0e}; pass --allow-large to run them anyway"
        )
    return int(ntoys)


def run_toys(
    nm: NumpyModel, ntoys: int, seed: int, *, chunk: int = 1000, progress: bool = False, allow_large: bool = False
) -> ToyResult:
    """Fit ``ntoys`` pseudo-experiments drawn at the nominal parameters, seeded by ``seed``.

    ``progress`` shows a tqdm bar on stderr; more than :data:`MAX_TOYS` toys need ``allow_large``.
    """
    ntoys = check_ntoys(ntoys, allow_large=allow_large)
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    truth = nm.init[nm.poi_index]
    mu, err, ok = [], [], []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=ntoys, desc="toy fits", unit="toy", file=sys.stderr)
    for start in range(0, ntoys, chunk):
        n = min(chunk, ntoys - start)
        data, aux = draw_toys(nm, n, rng)
        fit = fit_batch(nm, data, aux)
        mu.append(fit.theta[:, nm.poi_index])
        err.append(fit.errors[:, nm.poi_index])
        ok.append(fit.converged & (fit.errors[:, nm.poi_index] > 0))
        if bar is not None:
            bar.update(n)
    if bar is not None:
        bar.close()
    mu_a, err_a, ok_a = np.concatenate(mu), np.concatenate(err), np.concatenate(ok)
    return summarise_toys(mu_a, err_a, ok_a, truth, ntoys, seed, nm.lower[nm.poi_index], nm.upper[nm.poi_index])


def summarise_toys(
    mu: np.ndarray,
    err: np.ndarray,
    ok: np.ndarray,
    truth: float,
    ntoys: int,
    seed: int,
    lower: float = -np.inf,
    upper: float = np.inf,
) -> ToyResult:
    """Pulls, coverage and spread of the converged toys (``ok``, positive finite error, not at a bound)."""
    span = upper - lower
    tol = 1e-6 * (span if np.isfinite(span) else 1.0)
    ok = ok & np.isfinite(mu) & np.isfinite(err) & (err > 0) & (mu > lower + tol) & (mu < upper - tol)
    mu_a, err_a = mu[ok], err[ok]
    n = int(mu_a.size)
    if n < 2:
        return ToyResult(ntoys, seed, n, *([None] * 10))
    pulls = (mu_a - truth) / err_a
    cover = float(np.mean(np.abs(mu_a - truth) <= err_a))
    width = float(np.std(pulls, ddof=1))
    spread = float(np.std(mu_a, ddof=1))
    return ToyResult(
        ntoys=ntoys,
        seed=seed,
        n_converged=n,
        pull_mean=float(np.mean(pulls)),
        pull_mean_error=width / np.sqrt(n),
        pull_width=width,
        pull_width_error=width / np.sqrt(2 * (n - 1)),
        coverage_68=cover,
        coverage_68_error=float(np.sqrt(cover * (1 - cover) / n)),
        fitted_mean=float(np.mean(mu_a)),
        fitted_spread=spread,
        fitted_spread_error=spread / np.sqrt(2 * (n - 1)),
        mean_reported_error=float(np.mean(err_a)),
    )
