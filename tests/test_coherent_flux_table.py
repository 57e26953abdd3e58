"""An energy x time flux table per data set: the analytic piDAR source written as a table must give the same
prediction as the analytic path (second method: the table code path against the closed-form timing)."""

from __future__ import annotations

import numpy as np
import pytest

from _coherent_data import COHERENT_DIR, needs_releases
from d2oflux.coherent.dataset import load_dataset
from d2oflux.coherent.predict import predict_cevns
from d2oflux.constants import E_MICHEL_MAX_MEV, E_NUMU_PROMPT_MEV
from d2oflux.errors import ConfigError
from d2oflux.source import TimingModel, spectrum_pdf

pytestmark = needs_releases


def write_table(path, E, t, timing):
    cols = {f: np.outer(spectrum_pdf(f, E), timing.pdf(f, t * 1e3)) for f in ("nu_e", "anti_nu_mu")}
    line = np.zeros((E.size, t.size))
    line[np.argmin(np.abs(E - E_NUMU_PROMPT_MEV))] = timing.pdf("nu_mu", t * 1e3)
    cols["nu_mu"] = line
    EE, TT = np.meshgrid(E, t, indexing="ij")
    data = np.column_stack([EE.ravel(), TT.ravel(), *(cols[f].ravel() for f in ("nu_mu", "nu_e", "anti_nu_mu"))])
    np.savetxt(path, data, delimiter=",", header="analytic piDAR\nE_MeV,t_us,nu_mu,nu_e,anti_nu_mu", comments="")
    text = path.read_text().replace("analytic piDAR", "# analytic piDAR", 1)
    path.write_text(text)


def test_analytic_flux_as_a_table_reproduces_the_prediction(tmp_path):
    from importlib import resources

    preset = (resources.files("d2oflux") / "presets/datasets/coherent-lar-2020.toml").read_text()
    E = np.sort(np.append(np.linspace(0.05, E_MICHEL_MAX_MEV, 265), E_NUMU_PROMPT_MEV))  # the nu_mu line on the grid
    t = np.arange(-0.99, 30.0, 0.04)  # to 30 us: the table is normalised over its grid, the muon tail must be in
    write_table(tmp_path / "flux.csv", E, t, TimingModel(440.0, 150.0))
    (tmp_path / "ds.toml").write_text(preset.replace("\n[exposure]", '\nflux_table = "flux.csv"\n\n[exposure]', 1))
    with_table = predict_cevns(load_dataset(tmp_path / "ds.toml", COHERENT_DIR))
    analytic = predict_cevns(load_dataset("coherent-lar-2020", COHERENT_DIR))
    # the grid (0.2 MeV, 40 ns) against exact bin integrals: 1 % on the total, 2e-3 (absolute) on the time fractions
    assert with_table.sum() == pytest.approx(analytic.sum(), rel=0.01)
    np.testing.assert_allclose(
        with_table.sum(axis=(0, 1)) / with_table.sum(), analytic.sum(axis=(0, 1)) / analytic.sum(), atol=2e-3
    )


def test_flux_table_must_be_a_full_grid(tmp_path):
    from importlib import resources

    preset = (resources.files("d2oflux") / "presets/datasets/coherent-lar-2020.toml").read_text()
    (tmp_path / "flux.csv").write_text("E_MeV,t_us,nu_e\n1,0,1\n2,0,1\n2,1,1\n")
    (tmp_path / "ds.toml").write_text(preset.replace("\n[exposure]", '\nflux_table = "flux.csv"\n\n[exposure]', 1))
    with pytest.raises(ConfigError, match="full E_MeV x t_us grid"):
        load_dataset(tmp_path / "ds.toml", COHERENT_DIR)
