"""Legitimate input that the bad-input sweep must keep accepting (found by reviewing the sweep)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg", ".eps", ".ps", ".EPS", ""])
def test_fit_plot_accepts_every_format_whose_metadata_carries_the_mark(tmp_path, suffix):
    """``fit --dataset -o fig.eps`` worked before the suffix check: EPS and PS carry matplotlib's ``Creator``
    metadata like PNG, PDF and SVG, so a rerun recognises its own figure and replaces it (the overwrite rule)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from d2oflux.coherent.plots import _MARK_KEY, check_plot_path, drawn_by_d2oflux

    path = tmp_path / f"fig{suffix}"
    assert check_plot_path(path) == path
    fig = plt.figure()
    try:  # the call plot_fit makes
        fig.savefig(path, format=path.suffix.lstrip(".") or "png", metadata={_MARK_KEY: "d2oflux test"})
    finally:
        plt.close(fig)
    assert drawn_by_d2oflux(path)
    assert check_plot_path(path) == path  # an earlier figure of d2oflux: replaced, not refused


def test_fit_plot_refuses_formats_without_the_mark(tmp_path):
    from d2oflux.coherent.plots import check_plot_path
    from d2oflux.errors import ConfigError

    with pytest.raises(ConfigError, match=r"--plot '.*fig\.jpg': unknown suffix '\.jpg'; expected one of .*\.eps"):
        check_plot_path(Path(tmp_path / "fig.jpg"))
