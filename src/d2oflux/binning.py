"""Bin-edge specifications in configuration files: ``{min, max, width}`` or ``{edges = [...]}``."""

from __future__ import annotations

import math

import numpy as np
from pydantic import model_validator

from .config import StrictModel


class Axis(StrictModel):
    """A binned axis: either regular (``min``, ``max``, ``width``) or explicit ``edges``.

    All in the unit the enclosing key names (``..._MeV``, ``..._ns``).
    """

    min: float | None = None
    max: float | None = None
    width: float | None = None
    edges: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _check(self) -> Axis:
        regular = (self.min, self.max, self.width)
        if self.edges is not None:
            if any(v is not None for v in regular):
                raise ValueError("give either 'edges' or 'min', 'max', 'width', not both")
            e = np.asarray(self.edges, dtype=float)
            if e.size < 2 or not np.all(np.isfinite(e)) or not np.all(np.diff(e) > 0):
                raise ValueError("energy/time grid 'edges' must be at least two finite, strictly increasing values")
            return self
        if any(v is None for v in regular):
            raise ValueError("expected 'min', 'max' and 'width' (or 'edges')")
        assert self.min is not None and self.max is not None and self.width is not None
        if not (math.isfinite(self.min) and math.isfinite(self.max)) or self.max <= self.min:
            raise ValueError(f"grid is not increasing: min = {self.min} must be below max = {self.max}")
        if self.width <= 0 or self.width > self.max - self.min:
            raise ValueError(f"width = {self.width} must be > 0 and at most max - min")
        n = (self.max - self.min) / self.width
        if not math.isfinite(n) or n > 1e9:
            raise ValueError(f"(max - min) / width = {n:g} bins is far too many; use a wider 'width'")
        if abs(n - round(n)) > 1e-6:
            raise ValueError(f"(max - min) / width = {n:g} must be a whole number of bins")
        return self

    @property
    def n_bins(self) -> int:
        """Number of bins."""
        if self.edges is not None:
            return len(self.edges) - 1
        assert self.min is not None and self.max is not None and self.width is not None
        return round((self.max - self.min) / self.width)

    def to_edges(self) -> np.ndarray:
        """The bin edges as a float array."""
        if self.edges is not None:
            return np.asarray(self.edges, dtype=float)
        assert self.min is not None and self.max is not None and self.width is not None
        n = round((self.max - self.min) / self.width)
        return np.linspace(self.min, self.max, n + 1)
