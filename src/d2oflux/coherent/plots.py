"""Figures of CEvNS data-set fits: data vs the fitted stack, projected on each axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .fit import DatasetModel, FitResult, Likelihood

_AXIS_LABELS = {"energy": "Energy", "psd": "F90", "time": "Reconstructed time"}


def _per_sample(model: DatasetModel, x_local: np.ndarray) -> dict[str, np.ndarray]:
    """Fitted counts per sample on the full axes (zeros in dropped bins)."""
    nm = model.numpy_model
    base, f, *_ = nm._state(np.atleast_2d(x_local), 0)
    vals = f.prod(axis=2)[0][:, None] * base[0]
    out = {}
    for name, v in zip(nm.sample_names, vals, strict=True):
        full = np.zeros(model.mask.shape)
        full[model.mask] = v
        out[name.split("/", 1)[1]] = full
    return out


def plot_fit(models: list[DatasetModel], lik: Likelihood, res: FitResult, path: Path) -> None:
    """Write one panel per (data set, axis): data with Poisson errors and the fitted samples stacked.

    The figure is written whole (temporary file, then rename); the format follows the suffix (.png, .pdf).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncol = max(len(m.dataset.axis_names) for m in models)
    fig, axes = plt.subplots(len(models), ncol, figsize=(4.2 * ncol, 3.4 * len(models)), squeeze=False)
    for row, m in enumerate(models):
        term = next(t for t in lik.terms if t.label == m.name)
        samples = _per_sample(m, res.values[term.index])
        ds = m.dataset
        for col in range(ncol):
            ax = axes[row, col]
            if col >= len(ds.axis_names):
                ax.set_visible(False)
                continue
            a = ds.axis_names[col]
            other = tuple(k for k in range(len(ds.axis_names)) if k != col)
            edges = ds.edges[a]
            bottom = np.zeros(edges.size - 1)
            for name, counts in samples.items():
                proj = counts.sum(axis=other)
                ax.stairs(bottom + proj, edges, baseline=bottom, fill=True, alpha=0.6, label=name)
                bottom = bottom + proj
            data = ds.observed.sum(axis=other)
            centres = 0.5 * (edges[1:] + edges[:-1])
            ax.errorbar(centres, data, yerr=np.sqrt(data), fmt="ko", ms=3, label="data")
            ax.set_xlabel(f"{_AXIS_LABELS[a]} [{ds.config.axes[a].unit}]")
            ax.set_ylabel("events per bin")
            ax.set_title(ds.name, fontsize=9)
            if col == 0:
                ax.legend(fontsize=7)
    fig.tight_layout()
    from .. import __version__
    from ..outputs import atomic_file

    try:
        # whole or not at all; an existing file is replaced only if d2oflux drew it (its PNG/PDF metadata)
        with atomic_file(path, "--plot", is_ours=drawn_by_d2oflux) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", metadata={_MARK_KEY: f"d2oflux {__version__}"})
    finally:
        plt.close(fig)


#: Metadata key carrying the d2oflux mark in the figures this module writes (PNG text chunk, PDF info).
_MARK_KEY = "Creator"


#: Suffixes of ``--plot``: the figure formats whose metadata carries the d2oflux mark (no suffix: PNG); matplotlib
#: writes no metadata into JPEG or TIFF, so a rerun could not tell its own figure from a user's file.
PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".eps", ".ps")


def check_plot_path(path: Path) -> Path:
    """Check a ``--plot`` file name before any work: a known figure suffix, a writable place, no user file there."""
    from ..errors import ConfigError
    from ..outputs import check_output_file

    if path.suffix and path.suffix.lower() not in PLOT_SUFFIXES:
        expected = ", ".join(PLOT_SUFFIXES)
        raise ConfigError(f"--plot '{path}': unknown suffix '{path.suffix}'; expected one of {expected}")
    return check_output_file(path, "--plot", is_ours=drawn_by_d2oflux)


def drawn_by_d2oflux(path: Path) -> bool:
    """True if ``path`` is a figure this module wrote (its metadata names d2oflux)."""
    with open(path, "rb") as fh:
        return b"d2oflux" in fh.read(1 << 16)
