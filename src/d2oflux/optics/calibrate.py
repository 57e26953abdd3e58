"""Light yield and resolution from a Michel-electron PE spectrum: a binned likelihood fit (iminuit).

Model of the PE spectrum: the Michel kinetic-energy spectrum of stopped cosmic muons
(:func:`d2oflux.optics.michel.michel_template`, mu+ free and mu- bound in oxygen) folded with a Gaussian
of mean ``Y E`` and variance ``Y E + (c Y E)^2`` (photo-electron statistics plus a constant relative
term ``c`` that absorbs the position and direction dependence of the light collection). Free parameters:
the light yield ``Y`` [PE/MeV], ``c`` and the number of events (extended binned likelihood,
``iminuit.cost.ExtendedBinnedNLL``). The fit uses PE from 30 % of the spectrum's 99.5th percentile
upwards (the endpoint region that fixes the scale). The goodness of fit is the likelihood-ratio
(saturated-model) statistic over bins with >= 5 expected events, with bins - 3 degrees of freedom.

The relative error of ``Y`` becomes the energy-scale nuisance of the flux measurement
(``[systematics] energy_scale``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import ndtr
from scipy.stats import chi2

from ..errors import ConfigError
from .michel import michel_template

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

    @property
    def energy_scale_uncertainty(self) -> float:
        return self.light_yield_error / self.light_yield

    def to_dict(self) -> dict:
        return {
            "light_yield_pe_per_MeV": {"value": self.light_yield, "error": self.light_yield_error},
            "resolution": {
                "value": self.resolution,
                "error": self.resolution_error,
                "definition": "constant term c: sigma_PE^2 = Y E + (c Y E)^2",
            },
            "p_value": self.p_value,
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
            f"light_yield_pe_per_MeV = {self.light_yield:.6g}   # +- {self.light_yield_error:.3g} (Michel fit)\n"
            f"resolution_constant = {self.resolution:.6g}   # +- {self.resolution_error:.3g} (Michel fit)\n"
            "\n[systematics]\n"
            f"energy_scale = {self.energy_scale_uncertainty:.6g}   # relative light-yield error of the fit\n"
        )


def read_michel_pe(path: str | Path) -> np.ndarray:
    """The ``pe`` column of a Michel CSV file (comment lines ``#`` allowed); validated."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Michel file '{path}' does not exist")
    with p.open(encoding="utf-8") as fh:
        reader = csv.DictReader(ln for ln in fh if not ln.startswith("#"))
        if not reader.fieldnames or "pe" not in reader.fieldnames:
            raise ConfigError(f"Michel file '{path}': no 'pe' column (columns: {', '.join(reader.fieldnames or [])})")
        values = []
        for i, row in enumerate(reader, start=1):
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


def _model_cdf(template: np.ndarray):
    def cdf(x, n, y, c):
        mu = y * E_CENTERS
        sigma = np.sqrt(mu + (c * mu) ** 2) + 1e-9
        return n * (template[None, :] * ndtr((np.asarray(x)[:, None] - mu[None, :]) / sigma[None, :])).sum(axis=1)

    return cdf


def calibrate(pe: np.ndarray) -> Calibration:
    """Fit the light yield and the constant resolution term to Michel PE values."""
    from iminuit import Minuit
    from iminuit.cost import ExtendedBinnedNLL

    pe = np.asarray(pe, dtype=float)
    top = float(np.percentile(pe, 99.5))
    if top <= 0:
        raise ConfigError("calibration did not converge: the PE spectrum is empty (all zero)")
    lo = 0.3 * top
    hi = float(pe.max()) + 1.0
    width = max(1.0, round((hi - lo) / 80))
    edges = np.arange(lo, hi + width, width)
    counts, _ = np.histogram(pe, edges)
    template = michel_template(E_EDGES)
    sel = pe >= lo
    y0 = top / 52.8 / 1.1
    cost = ExtendedBinnedNLL(counts, edges, _model_cdf(template))
    m = Minuit(cost, n=float(len(pe)), y=y0, c=0.1)
    m.limits["n"] = (1.0, None)
    m.limits["y"] = (1e-3, None)
    m.limits["c"] = (0.0, 2.0)
    m.migrad()
    if not m.valid:
        m.migrad()
    if not m.valid or (not m.accurate and not m.hesse().accurate):
        raise ConfigError("calibration did not converge: the PE spectrum does not look like a Michel spectrum")
    m.hesse()
    cdf = _model_cdf(template)(edges, *m.values)
    expected = np.diff(cdf)
    ok = expected >= 5
    k, mu = counts[ok], expected[ok]
    dev = 2 * np.sum(mu - k + np.where(k > 0, k * np.log(np.maximum(k, 1) / mu), 0.0))
    ndof = max(int(ok.sum()) - 3, 1)
    return Calibration(
        float(m.values["y"]), float(m.errors["y"]), float(m.values["c"]), float(m.errors["c"]),
        float(m.values["n"]), float(chi2.sf(dev, ndof)), int(sel.sum()), edges, counts, expected,
    )  # fmt: skip


def simulate_analytic_michel_pe(n: int, light_yield: float, resolution: float, seed: int) -> np.ndarray:
    """PE of Michel electrons through the analytic response of :func:`calibrate` (for closure tests)."""
    from .michel import michel_kinetic_energy

    rng = np.random.default_rng(seed)
    t, _ = michel_kinetic_energy(rng, n)
    mu = light_yield * t
    return np.maximum(rng.normal(mu, np.sqrt(mu + (resolution * mu) ** 2)), 0.0)
