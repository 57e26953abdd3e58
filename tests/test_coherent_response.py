"""The scintillator/ionisation response chain against analytic limits and the releases' own numbers."""

from __future__ import annotations

import numpy as np
import pytest

from _coherent_data import CSI_DIR, LAR_DIR, needs_releases
from d2oflux.coherent.response import (
    AcceptanceConfig,
    QuenchingConfig,
    ResponseChain,
    ResponseChainConfig,
    StatisticsConfig,
    TimeAcceptanceConfig,
)
from d2oflux.errors import ConfigError


def chain(stats: dict, quenching: dict | None = None, acceptance: dict | None = None, **kw) -> ResponseChain:
    q = quenching or {"model": "qf_polynomial", "coefficients": [1.0]}  # QF = 1: E_ee = T
    cfg = ResponseChainConfig(
        quenching=QuenchingConfig(**q),
        statistics=StatisticsConfig(**stats),
        acceptance=AcceptanceConfig(**(acceptance or {})),
        time_acceptance=TimeAcceptanceConfig(**kw),
    )
    return ResponseChain(cfg)


def row(ch: ResponseChain, E_keVee: float, edges: np.ndarray) -> np.ndarray:
    """Observed distribution of a recoil bin so narrow that E_ee is fixed."""
    return ch.matrix(np.array([E_keVee - 1e-6, E_keVee + 1e-6]), edges, substeps=1)[0]


def test_gamma_statistics_mean_and_variance():
    # gamma with mean Y E and shape k = 1 + s E: variance = mean^2 / k (analytic moments)
    ch = chain({"model": "gamma", "light_yield_pe_per_keVee": 13.35, "gamma_shape_per_keVee": 9.56})
    edges = np.linspace(0, 200, 4001)
    p = row(ch, 2.0, edges)
    c = 0.5 * (edges[1:] + edges[:-1])
    mean = (p * c).sum()
    var = (p * c * c).sum() - mean**2
    assert p.sum() == pytest.approx(1.0, abs=1e-6)
    assert mean == pytest.approx(13.35 * 2.0, rel=1e-4)
    assert var == pytest.approx((13.35 * 2.0) ** 2 / (1 + 9.56 * 2.0), rel=1e-3)


def test_poisson_zero_and_one_photoelectron():
    ch = chain({"model": "poisson", "light_yield_pe_per_keVee": 2.0})
    p = row(ch, 1.5, np.arange(0.0, 40.0))  # bins [0,1), [1,2), ...: one integer each
    mu = 3.0
    assert p[0] == pytest.approx(np.exp(-mu), rel=1e-9)
    assert p[1] == pytest.approx(mu * np.exp(-mu), rel=1e-9)


def test_gaussian_keVee_resolution():
    # LAr: sigma / E = 0.58 / sqrt(E [keVee]) -> at 25 keVee sigma = 2.9 keVee
    ch = chain({"model": "gaussian", "gaussian_a_sqrt_keVee": 0.58})
    edges = np.linspace(0, 50, 2001)
    p = row(ch, 25.0, edges)
    c = 0.5 * (edges[1:] + edges[:-1])
    sd = np.sqrt((p * c * c).sum() - (p * c).sum() ** 2)
    assert sd == pytest.approx(0.58 * np.sqrt(25.0), rel=1e-3)


@needs_releases
def test_lar_quenching_reproduces_release_keVnr_column():
    # the release's efficiency file lists keVee bin centres with the keVnr they correspond to
    table = np.loadtxt(LAR_DIR / "CENNS10AnlAEfficiency.txt")
    ch = chain(
        {"model": "gaussian", "gaussian_a_sqrt_keVee": 0.58},
        {"model": "qf_polynomial", "coefficients": [0.246, 0.00078]},
    )
    E = ch.electron_equivalent_keVee(table[:, 1])
    np.testing.assert_allclose(E, table[:, 0], rtol=2e-3)  # the file's keVnr column has 6 significant digits


@needs_releases
def test_csi_polynomial_in_MeVnr():
    from d2oflux.coherent.releases import read_coefficient_sets

    a, b, c, d = read_coefficient_sets(CSI_DIR / "scintRespCoefficients.txt")[0]
    ch = chain(
        {"model": "gamma", "light_yield_pe_per_keVee": 13.35, "gamma_shape_per_keVee": 9.56},
        {"model": "eee_polynomial", "recoil_unit": "MeVnr", "coefficients": [a, b, c, d]},
    )
    x = 0.020  # 20 keVnr in MeVnr
    expected_keVee = 1e3 * (a * x + b * x**2 + c * x**3 + d * x**4)
    assert ch.electron_equivalent_keVee(np.array([20.0]))[0] == pytest.approx(expected_keVee, rel=1e-12)


def test_logistic_acceptance_and_time_acceptance():
    ch = chain(
        {"model": "poisson", "light_yield_pe_per_keVee": 13.35},
        acceptance={"model": "logistic", "coefficients": [1.0, 1.0, 10.0, 0.0], "zero_below": 5.0},
        model="exponential_after",
        start_us=0.52,
        rate_per_us=0.0494,
    )
    assert ch.acceptance(np.array([10.0]))[0] == pytest.approx(0.5)
    assert ch.acceptance(np.array([4.9]))[0] == 0.0
    t = np.array([0.3, 0.52, 3.52])
    np.testing.assert_allclose(ch.time_acceptance(t), [1.0, 1.0, np.exp(-0.0494 * 3.0)])


def test_nuisances_that_cannot_act_are_errors():
    poisson = chain({"model": "poisson", "light_yield_pe_per_keVee": 10.0})
    with pytest.raises(ConfigError, match="no width parameter"):
        poisson.varied("resolution", relative=0.1)
    with pytest.raises(ConfigError, match="no effect"):
        poisson.varied("acceptance", relative=0.1)
    with pytest.raises(ConfigError, match="no effect"):
        poisson.varied("time_acceptance", relative=0.1)
    table_q = chain(
        {"model": "poisson", "light_yield_pe_per_keVee": 10.0},
        {"model": "table", "table_keVnr": [0.0, 100.0], "table_keVee": [0.0, 10.0]},
    )
    with pytest.raises(ConfigError, match="no effect"):
        table_q.varied("quenching", coefficients=(0.1,))


def test_nuisances_act():
    ch = chain({"model": "gamma", "light_yield_pe_per_keVee": 13.35, "gamma_shape_per_keVee": 9.56})
    T = np.linspace(0, 50, 51)
    edges = np.linspace(0, 100, 51)
    nominal = ch.matrix(T, edges)
    for kind in ("energy_scale", "resolution", "quenching"):
        assert np.abs(ch.varied(kind, relative=0.05).matrix(T, edges) - nominal).max() > 1e-4, kind


def test_acceptance_unit_must_match_statistics():
    with pytest.raises(ValueError, match="acceptance is in keVee"):
        chain(
            {"model": "poisson", "light_yield_pe_per_keVee": 10.0},
            acceptance={"model": "table", "variable": "keVee", "table_x": [0, 1], "table_efficiency": [0, 1]},
        )
