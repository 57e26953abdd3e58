"""Tabulated inverse-CDF samplers: one variable (the neutrino energy), and one variable given another
(a kinetic energy given the neutrino energy).

:class:`PiecewiseLinearSampler`
    Samples exactly from the piecewise-linear interpolant of a density tabulated on a fine grid (the
    CDF is the cumulative trapezoid; inside a cell the quadratic CDF is inverted in closed form).
:class:`ConditionalQuantileTable`
    For a family of distributions of a scaled variable ``s`` in [0, 1] indexed by the neutrino energy
    ``E``: quantiles ``s(E_i, u_j)`` on a uniform grid of ``E`` (rows) and a grid of probabilities
    ``u_j = (1 - cos(pi v_j)) / 2`` with ``v_j`` uniform (nodes ~1000 times denser in both tails than a
    uniform grid, where the quantile function is steep), built from each row's CDF. A sample is the
    bilinear interpolation in ``(E, v)`` at ``v = arccos(1 - 2u) / pi``, ``u ~ U(0, 1)``; neighbouring rows
    are blended by quantile (horizontal) interpolation, which is accurate for families whose shape
    changes smoothly with ``E``. All index arithmetic is direct (uniform grids in ``E`` and ``v``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class PiecewiseLinearSampler:
    """Inverse-CDF sampling from a density given on a grid (linear between grid points).

    Parameters
    ----------
    x : array, increasing
        Grid.
    pdf : array
        Non-negative density at ``x`` (unnormalised).
    """

    def __init__(self, x: np.ndarray, pdf: np.ndarray) -> None:
        x = np.asarray(x, dtype=float)
        f = np.clip(np.asarray(pdf, dtype=float), 0.0, None)
        if x.ndim != 1 or x.size < 2 or x.shape != f.shape or np.any(np.diff(x) <= 0):
            raise ValueError("PiecewiseLinearSampler: need an increasing grid and a density of the same shape")
        cells = 0.5 * (f[1:] + f[:-1]) * np.diff(x)
        total = cells.sum()
        if not total > 0:
            raise ValueError("PiecewiseLinearSampler: the density integrates to zero")
        self.x = x
        self.f = f / total
        self.cdf = np.concatenate([[0.0], np.cumsum(cells) / total])
        self.cdf[-1] = 1.0
        self.total = float(total)
        # guide table: the cell of u = g / G for G uniform bins; a sample's cell is found from its bin's
        # start by a few vectorised steps (no binary search)
        self.G = 4 * x.size
        self.guide = np.clip(np.searchsorted(self.cdf, np.arange(self.G) / self.G, side="right") - 1, 0, x.size - 2)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        """Map uniform numbers ``u`` in [0, 1) to samples."""
        last = self.x.size - 2
        i = self.guide[np.minimum((u * self.G).astype(np.intp), self.G - 1)]
        todo = np.nonzero((i < last) & (self.cdf[np.minimum(i + 1, last + 1)] <= u))[0]
        while todo.size:
            i[todo] += 1
            it = i[todo]
            todo = todo[(it < last) & (self.cdf[it + 1] <= u[todo])]
        du = u - self.cdf[i]
        f0 = self.f[i]
        h = self.x[i + 1] - self.x[i]
        slope = (self.f[i + 1] - f0) / h
        # solve f0 t + slope t^2 / 2 = du for t in [0, h] (stable root)
        disc = np.sqrt(np.maximum(f0 * f0 + 2.0 * slope * du, 0.0))
        denom = f0 + disc
        t = np.where(denom > 0, 2.0 * du / np.where(denom > 0, denom, 1.0), 0.0)
        return self.x[i] + np.clip(t, 0.0, h)


class ConditionalQuantileTable:
    """Samples a scaled variable ``s`` in [0, 1] given ``E`` (module docstring).

    Parameters
    ----------
    E_grid : array, uniform and increasing (or a single value)
        Row energies.
    cdf_rows : callable
        ``cdf_rows(E_i) -> (s_grid, cdf)``: the CDF of ``s`` at energy ``E_i`` on an increasing grid of
        ``s`` (non-decreasing, from 0 to 1 after normalisation).
    n_u : int
        Number of quantile nodes per row (uniform in u).
    """

    def __init__(
        self,
        E_grid: np.ndarray,
        cdf_rows: Callable[[float], tuple[np.ndarray, np.ndarray]],
        n_u: int = 2049,
    ) -> None:
        E = np.atleast_1d(np.asarray(E_grid, dtype=float))
        if E.size > 1 and not np.allclose(np.diff(E), E[1] - E[0], rtol=1e-9, atol=0.0):
            raise ValueError("ConditionalQuantileTable: E_grid must be uniform")
        u = 0.5 * (1.0 - np.cos(np.pi * np.linspace(0.0, 1.0, n_u)))
        u[0], u[-1] = 0.0, 1.0
        table = np.empty((E.size, n_u))
        for i, e in enumerate(E):
            s, cdf = cdf_rows(float(e))
            cdf = np.maximum.accumulate(np.asarray(cdf, dtype=float))
            if not cdf[-1] > 0:
                table[i] = np.linspace(0.0, 1.0, n_u)  # degenerate row (below threshold): unused
                continue
            cdf = cdf / cdf[-1]
            # the quantile function is the inverse of the CDF; where the CDF is flat, take the
            # leftmost s for u = 0 and the rightmost for u = 1 (the support of the row)
            lo = s[np.searchsorted(cdf, 0.0, side="right") - 1]
            hi = s[np.searchsorted(cdf, 1.0, side="left")]
            q = np.interp(u, cdf, s)
            q[0], q[-1] = lo, hi
            table[i] = q
        self.E0 = float(E[0])
        self.dE = float(E[1] - E[0]) if E.size > 1 else 1.0
        self.n_rows = E.size
        self.n_u = n_u
        self.table = table
        self._flat = table.ravel()

    def __call__(self, E: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Scaled samples ``s`` for energies ``E`` and uniform numbers ``u`` (same shape)."""
        nu = self.n_u
        pu = np.arccos(1.0 - 2.0 * u) * ((nu - 1) / np.pi)
        j = np.minimum(pu.astype(np.intp), nu - 2)
        fu = pu - j
        flat = self._flat
        if self.n_rows == 1:
            q0 = flat[j]
            return q0 + fu * (flat[j + 1] - q0)
        pe = np.clip((E - self.E0) / self.dE, 0.0, self.n_rows - 1.0)
        i = np.minimum(pe.astype(np.intp), self.n_rows - 2)
        fe = pe - i
        b = i * nu + j
        q00 = flat[b]
        s0 = q00 + fu * (flat[b + 1] - q00)
        b += nu
        q10 = flat[b]
        s1 = q10 + fu * (flat[b + 1] - q10)
        return s0 + fe * (s1 - s0)


def endpoint_dense_grid(n: int) -> np.ndarray:
    """``n`` points on [0, 1], dense near 1: ``s = 1 - (1 - t)^2`` with ``t`` uniform (spacing ~ 2(1-s)/n)."""
    t = np.linspace(0.0, 1.0, n)
    s = 1.0 - (1.0 - t) ** 2
    s[-1] = 1.0
    return s
