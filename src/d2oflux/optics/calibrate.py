"""Light yield and resolution from a Michel-electron PE spectrum: a binned likelihood fit (iminuit).

Model of the PE spectrum: the Michel kinetic-energy spectrum of stopped cosmic muons
(:func:`d2oflux.optics.michel.michel_template`, mu+ free and mu- bound in oxygen) folded with a Gaussian
of mean ``Y E`` and variance ``Y E + (c Y E)^2`` (photo-electron statistics plus a constant relative
term ``c`` that absorbs the position and direction dependence of the light collection). Free parameters:
the light yield ``Y`` [PE/MeV], ``c`` and the number of events (extended binned likelihood,
``iminuit.cost.ExtendedBinnedNLL``). The fit uses PE from 5 % of the spectrum's 99.5th percentile
upwards: the whole spectrum, so that its peak as well as its edge fix the scale when the resolution is
broad. A single Gaussian cannot describe a strongly position-dependent light collection exactly (the
module's: 35 %); the p-value says how well it does. The goodness of fit is the likelihood-ratio
(saturated-model) statistic over bins with >= 5 expected events, with bins - 3 degrees of freedom.

Numerics: the model is the sum over the non-empty 0.05 MeV bins of the template (Monte Carlo, fixed seed)
of the bin weight times the Gaussian CDF at each PE bin edge (``scipy.special.ndtr``). The multi-start
search for the global minimum runs on the template merged into 0.25 MeV bins (5x fewer CDF evaluations;
its minimum lies within ~1e-5 relative of the full model's), and each distinct minimum it finds is then
refined by Migrad and Hesse on the full 0.05 MeV model, so the reported values and errors are those of
the full model (timing: ``benchmarks/bench_optics.py``).

The relative error of ``Y`` becomes the energy-scale nuisance of the flux measurement
(``[systematics] energy_scale``). When the model describes the spectrum badly the errors are multiplied by
the scale factor ``S = max(1, sqrt(chi2 / ndof))`` (the Particle Data Group's convention for inconsistent
data); the statistical error is reported as well.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr
from scipy.stats import chi2

from ..errors import ConfigError, read_text_file
from .michel import michel_template

if TYPE_CHECKING:
    from iminuit import Minuit

E_EDGES = np.arange(0.0, 70.0 + 1e-9, 0.05)
E_CENTERS = 0.5 * (E_EDGES[1:] + E_EDGES[:-1])


@dataclass(frozen=True)
class Calibration:
    """Fitted light yield [PE/MeV] and constant resolution term, with errors, and the fit quality."""

    light_yield: float
    light_yield_error: float
    resolution: float
    resolution_error: float
    n_events: float
    p_value: float
    n_used: int
    pe_edges: np.ndarray
    counts: np.ndarray
    expected: np.ndarray
    scale_factor: float = 1.0

    @property
    def energy_scale_uncertainty(self) -> float:
        """Relative light-yield error including the scale factor (the energy-scale nuisance)."""
        return self.scale_factor * self.light_yield_error / self.light_yield

    def to_dict(self) -> dict:
        return {
            "light_yield_pe_per_MeV": {
                "value": self.light_yield,
                "error": self.scale_factor * self.light_yield_error,
                "statistical_error": self.light_yield_error,
            },
            "resolution": {
                "value": self.resolution,
                "error": self.scale_factor * self.resolution_error,
                "definition": "constant term c: sigma_PE^2 = Y E + (c Y E)^2",
            },
            "p_value": self.p_value,
            "scale_factor": self.scale_factor,
            "n_events_fitted": self.n_used,
            "energy_scale_uncertainty": self.energy_scale_uncertainty,
        }

    def to_toml(self, source: str) -> str:
        """A response section (and the energy-scale systematic) for a detector TOML file."""
        return (
            f"# Michel-electron calibration by d2oflux calibrate from '{source}' ({self.n_used} events fitted),\n"
            f"# p-value {self.p_value:.3f}. Paste into a detector file (replacing its [response] and\n"
            "# the energy_scale of its [systematics]).\n"
            "[response]\n"
            'model = "analytic"\n'
            f"light_yield_pe_per_MeV = {self.light_yield:.6g}   # +- {self.scale_factor * self.light_yield_error:.3g}\n"
            f"resolution_constant = {self.resolution:.6g}   # +- {self.scale_factor * self.resolution_error:.3g}\n"
            "\n[systematics]\n"
            f"energy_scale = {self.energy_scale_uncertainty:.6g}   # relative light-yield error of the fit\n"
        )


def read_michel_pe(path: str | Path, region: str | None = None) -> np.ndarray:
    """The ``pe`` column of a Michel CSV file (comment lines ``#`` allowed); validated.

    ``region`` keeps only rows whose ``region`` column equals it (e.g. ``"d2o"`` in simulated files).
    """
    text = read_text_file(path, "Michel file", "a CSV file with a 'pe' column")
    reader = csv.DictReader(ln for ln in text.splitlines() if not ln.startswith("#"))
    if reader.fieldnames:  # " pe" is the column pe (spaces after the commas of a hand-written header)
        reader.fieldnames = [name.strip() for name in reader.fieldnames]
        repeated = sorted({n for n in reader.fieldnames if reader.fieldnames.count(n) > 1})
        if repeated:
            raise ConfigError(f"Michel file '{path}': column '{repeated[0][:40]}' appears more than once")
    if not reader.fieldnames or "pe" not in reader.fieldnames:
        raise ConfigError(f"Michel file '{path}': no 'pe' column (columns: {', '.join(reader.fieldnames or [])})")
    if region is not None and "region" not in reader.fieldnames:
        raise ConfigError(f"Michel file '{path}': --region given but the file has no 'region' column")
    values = []
    for i, row in enumerate(reader, start=1):
        if region is not None and (row["region"] or "").strip() != region:
            continue
        try:
            v = float(row["pe"])
        except (TypeError, ValueError):
            raise ConfigError(f"Michel file '{path}': data row {i}: 'pe' is not a number ({row['pe']!r})") from None
        if not math.isfinite(v) or v < 0:
            raise ConfigError(f"Michel file '{path}': data row {i}: 'pe' must be a finite number >= 0, got {v}")
        values.append(v)
    if len(values) < 100:
        raise ConfigError(f"Michel file '{path}': {len(values)} events; a calibration needs at least 100")
    return np.asarray(values)


E_SEARCH_REBIN = 5  # template bins merged for the multi-start search (0.25 MeV; the result uses 0.05 MeV)
SEARCH_MARGIN = 10.0  # -2 ln L above the lowest search minimum within which minima are refined


@cache
def _template() -> np.ndarray:
    """The Michel kinetic-energy spectrum on ``E_EDGES`` (computed once per process, fixed seed)."""
    return michel_template(E_EDGES)


@cache
def _folding_grid(rebin: int) -> tuple[np.ndarray, np.ndarray]:
    """Energies [MeV] and weights of the non-empty template bins, ``rebin`` bins of ``E_EDGES`` merged.

    Merged bins sit at their weighted mean energy; ``rebin = 1`` gives the bin centres unchanged.
    """
    weights, energies = _template(), E_CENTERS
    if rebin > 1:
        w = weights.reshape(-1, rebin)
        e = energies.reshape(-1, rebin)
        weights = w.sum(axis=1)
        energies = np.divide((w * e).sum(axis=1), weights, out=e.mean(axis=1), where=weights > 0)
    keep = weights > 0
    return energies[keep], weights[keep]


class _FoldedMichelCdf:
    """Scaled CDF in PE of the Michel spectrum folded with the Gaussian response: ``cdf(x, n, y, c)``.

    ``cdf(x) = n sum_j w_j Phi((x - y E_j) / sigma_j)``, ``sigma_j^2 = y E_j + (c y E_j)^2``, over the
    template bins ``(E_j, w_j)`` of :func:`_folding_grid`. The sum over bins for given ``(y, c)`` is kept
    for the next call: Minuit's numerical derivative in ``n`` then costs no new CDF evaluations.
    """

    def __init__(self, rebin: int = 1):
        self.energies, self.weights = _folding_grid(rebin)
        self._last: tuple[float, float, np.ndarray, np.ndarray] | None = None

    def __call__(self, x, n: float, y: float, c: float) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        last = self._last
        if last is None or last[0] != y or last[1] != c or not np.array_equal(last[2], x):
            mu = y * self.energies
            sigma = np.sqrt(mu + (c * mu) ** 2) + 1e-9
            folded = ndtr((x[:, None] - mu[None, :]) / sigma[None, :]) @ self.weights
            last = self._last = (y, c, x.copy(), folded)
        return n * last[3]


def _same_minimum(a: Minuit, b: Minuit) -> bool:
    """Whether two Migrad minima agree in ``y`` and ``c`` within their errors."""
    return all(abs(a.values[p] - b.values[p]) <= max(a.errors[p], b.errors[p]) for p in ("y", "c"))


def calibrate(pe: np.ndarray) -> Calibration:
    """Fit the light yield and the constant resolution term to Michel PE values."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # absurd spectra: one error, no warnings
        return _calibrate(pe)


def _calibrate(pe: np.ndarray) -> Calibration:
    from iminuit import Minuit
    from iminuit.cost import ExtendedBinnedNLL

    pe = np.asarray(pe, dtype=float)
    top = float(np.percentile(pe, 99.5))
    if top <= 0:
        raise ConfigError("calibration did not converge: the PE spectrum is empty (all zero)")
    lo = 0.05 * top
    hi = float(pe.max()) + 1.0
    width = max(1.0, round((hi - lo) / 80))
    edges = np.arange(lo, hi + width, width)
    counts, _ = np.histogram(pe, edges)
    template = _template()
    sel = pe >= lo
    mean_t = float((template * E_CENTERS).sum() / template.sum())

    def migrad(cost, **start):
        m = Minuit(cost, **start)
        m.limits["n"] = (1.0, None)
        m.limits["y"] = (1e-3, None)
        m.limits["c"] = (0.0, 2.0)
        m.migrad()
        return m

    # several starts (endpoint- and mean-based yields, narrow to broad resolution): a broad,
    # position-dependent response has local minima at the resolution limit. The starts run on the merged
    # template; its -2 ln L differs from the full model's by < 1 at the same parameters (measured: <= 0.15
    # for 1e5 events, Y = 2-100 PE/MeV and the optical model's spectra), so only minima within
    # SEARCH_MARGIN of the lowest can be the full model's best; each distinct one of those is refined.
    search = ExtendedBinnedNLL(counts, edges, _FoldedMichelCdf(E_SEARCH_REBIN))
    found = []
    for y0 in (top / 52.8 / 1.1, float(pe.mean()) / mean_t):
        for c0 in (0.05, 0.2, 0.5):
            m = migrad(search, n=float(len(pe)), y=y0, c=c0)
            if m.valid:
                found.append(m)
    found.sort(key=lambda m: m.fval)
    minima = []
    for m in found:
        if m.fval < found[0].fval + SEARCH_MARGIN and not any(_same_minimum(m, other) for other in minima):
            minima.append(m)
    model = _FoldedMichelCdf()
    cost = ExtendedBinnedNLL(counts, edges, model)
    best = None
    for start in minima:
        m = migrad(cost, **start.values.to_dict())
        if m.valid and (best is None or m.fval < best.fval - 1e-9):
            best = m
    if best is None:
        raise ConfigError("calibration did not converge: the PE spectrum does not look like a Michel spectrum")
    m = best
    m.hesse()
    if not m.accurate:
        raise ConfigError("calibration did not converge: no accurate covariance at the minimum")
    cdf = model(edges, *m.values)
    expected = np.diff(cdf)
    ok = expected >= 5
    k, mu = counts[ok], expected[ok]
    dev = 2 * np.sum(mu - k + np.where(k > 0, k * np.log(np.maximum(k, 1) / mu), 0.0))
    ndof = max(int(ok.sum()) - 3, 1)
    scale = max(1.0, math.sqrt(dev / ndof))  # PDG scale factor: errors inflated when the model fits badly
    return Calibration(
        float(m.values["y"]), float(m.errors["y"]), float(m.values["c"]), float(m.errors["c"]),
        float(m.values["n"]), float(chi2.sf(dev, ndof)), int(sel.sum()), edges, counts, expected, scale,
    )  # fmt: skip


def simulate_analytic_michel_pe(n: int, light_yield: float, resolution: float, seed: int) -> np.ndarray:
    """PE of Michel electrons through the analytic response of :func:`calibrate` (for closure tests)."""
    from .michel import michel_kinetic_energy

    rng = np.random.default_rng(seed)
    t, _ = michel_kinetic_energy(rng, n)
    mu = light_yield * t
    return np.maximum(rng.normal(mu, np.sqrt(mu + (resolution * mu) ** 2)), 0.0)
