"""Photon transport and light production against analytic results.

Each Monte Carlo comparison uses a binomial or Poisson error and a 4-sigma tolerance (false alarm
~6e-5 per comparison), with fixed seeds. The transport checks run on every photon backend (the
vectorised wavefront kernel and the scalar reference kernel).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from d2oflux.optics.config import OpticsConfig
from d2oflux.optics.geometry import build_geometry
from d2oflux.optics.photons import BACKENDS, fresnel_reflectance, get_backend, wavelength_index
from d2oflux.optics.tracks import (
    ALPHA,
    DENSITY_EFFECT,
    cherenkov_sampler,
    collision_stopping_power,
    count_cherenkov,
    highland_step_theta0,
    transport_table,
)

BLACK = {"liner_reflectivity": 0.0, "bottom_reflectivity": 0.0}
NO_LOSS = {m: {"absorption_scale": 1e9, "rayleigh_scale": 1e9} for m in ("D2O", "H2O", "acrylic")}


def _config(index=None, materials=None, **pmts) -> OpticsConfig:
    mats = {m: dict(v) for m, v in (materials or NO_LOSS).items()}
    for m, n in (index or {}).items():
        mats.setdefault(m, {})["refractive_index"] = n
    return OpticsConfig.model_validate({**BLACK, "materials": mats, "pmts": pmts or {}})


@pytest.mark.parametrize("n", [1.33, 1.34])
def test_frank_tamm_photons_per_cm(n):
    # analytic: dN/dx = 2 pi alpha (1/l1 - 1/l2)(1 - 1/(beta^2 n^2)), 300-600 nm, flat detection probability
    cfg = OpticsConfig.model_validate(
        {
            "wavelength_range_nm": [300.0, 600.0],
            "materials": {"D2O": {"refractive_index": n}},
            "pmts": {"qe": {"wavelength_nm": [200.0, 800.0], "qe": [1.0, 1.0]}, "collection_efficiency": 1.0},
        }
    )
    g = build_geometry(cfg)
    beta, s, steps = 0.999, 1.0, 5000
    total = count_cherenkov(beta, s, steps, 7, 0, g.tables, g.detect_prob, g.lambda_min_nm, g.lambda_step_nm)
    expected = 2 * math.pi * ALPHA * (1 / 300e-7 - 1 / 600e-7) * (1 - 1 / (beta * n) ** 2) * s * steps
    assert abs(total - expected) < 4 * math.sqrt(expected)
    assert 320 < expected / steps < 350  # ~330 photons/cm for water: the familiar number


def test_cherenkov_wavelength_sampler_follows_the_detectable_spectrum():
    # alias-table draws vs the 1/lambda^2 spectrum times the QE x CE curve, integrated over each 1 nm bin
    g = build_geometry(OpticsConfig())
    table, wsum = cherenkov_sampler(g.detect_prob, g.lambda_min_nm, g.lambda_step_nm)
    lam = g.wavelengths_nm
    lo = np.maximum(lam - 0.5 * g.lambda_step_nm, lam[0])
    hi = np.minimum(lam + 0.5 * g.lambda_step_nm, lam[-1])
    w = g.detect_prob * (1 / lo - 1 / hi)
    assert wsum == pytest.approx(w.sum(), rel=1e-12)
    # the alias table's implied probabilities: bin k kept with table[0, k], else its alias
    nl = lam.size
    implied = table[0] / nl
    np.add.at(implied, table[1].astype(int), (1 - table[0]) / nl)
    np.testing.assert_allclose(implied, w / w.sum(), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_point_source_in_black_cylinder_detects_solid_angle_times_qe(backend):
    # one disc of radius a at distance d above an isotropic point source: f = (1 - d / sqrt(d^2 + a^2)) / 2
    cfg = _config(
        index={"D2O": 1.33, "acrylic": 1.33, "H2O": 1.33},
        layout="explicit",
        positions_cm=[[0.0, 0.0, 82.54]],
        facing=["down"],
    )
    g = build_geometry(cfg)
    n = 400_000
    rng = np.random.default_rng(3)
    d = rng.normal(size=(n, 3))
    lam = 400.0
    hits = get_backend(backend).trace(g, np.zeros((n, 3)), d, lam, seed=5, apply_detection_probability=True)
    a, dist = g.pmts[0, 4], g.pmts[0, 2]
    f = 0.5 * (1 - dist / math.hypot(dist, a))
    p = f * g.detect_prob[wavelength_index(g, lam)][0]
    assert abs((hits >= 0).sum() - n * p) < 4 * math.sqrt(n * p * (1 - p))


def test_fresnel_normal_incidence():
    for n1, n2 in ((1.33, 1.49), (1.49, 1.33), (1.0, 1.5)):
        r, _ = fresnel_reflectance(1.0, n1, n2)
        assert r == pytest.approx(((n1 - n2) / (n1 + n2)) ** 2, rel=1e-12)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_fresnel_reflection_in_transport(backend):
    # normal incidence D2O (1.33) -> acrylic (1.7) -> H2O (1.7): only the first interface reflects;
    # the reflected light goes to the black bottom, the transmitted light reaches the PMT above
    cfg = _config(index={"D2O": 1.33, "acrylic": 1.7, "H2O": 1.7}, layout="explicit", positions_cm=[[0, 0, 82.54]])
    g = build_geometry(cfg)
    n = 200_000
    hits = get_backend(backend).trace(g, np.zeros((n, 3)), np.tile([0.0, 0.0, 1.0], (n, 1)), 400.0, seed=2)
    r = ((1.33 - 1.7) / (1.33 + 1.7)) ** 2
    assert abs((hits < 0).sum() - n * r) < 4 * math.sqrt(n * r * (1 - r))


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_exponential_attenuation(backend):
    # straight up from the centre through 70 cm D2O, 2.54 cm acrylic, 10 cm H2O: exp(-sum d_i / L_i)
    cfg = _config(
        index={"D2O": 1.33, "acrylic": 1.33, "H2O": 1.33},
        materials={m: {"rayleigh_scale": 1e9, "absorption_scale": 0.1} for m in ("D2O", "H2O", "acrylic")},
        layout="explicit",
        positions_cm=[[0, 0, 82.54]],
    )
    g = build_geometry(cfg)
    lam = 350.0
    i = wavelength_index(g, lam)[0]
    L = g.tables[:, 1, i]
    expected = math.exp(-(70 / L[0] + 2.54 / L[1] + 10 / L[2]))
    n = 200_000
    hits = get_backend(backend).trace(g, np.zeros((n, 3)), np.tile([0.0, 0.0, 1.0], (n, 1)), lam, seed=4)
    assert 0.05 < expected < 0.95
    assert abs((hits >= 0).sum() - n * expected) < 4 * math.sqrt(n * expected * (1 - expected))


@pytest.mark.parametrize(("T", "estar"), [(1.0, 1.849), (10.0, 1.968)])
def test_collision_stopping_power_vs_estar(T, estar):
    # NIST ESTAR, liquid water, collision stopping power [MeV cm^2/g]; tolerance 1 %
    m = transport_table(("H2O",))
    value = collision_stopping_power(T, m[0, 0], m[0, 1], DENSITY_EFFECT) / m[0, 3]
    assert value == pytest.approx(estar, rel=0.01)


def test_light_scales_with_energy_and_is_reproducible():
    from d2oflux.optics.tracks import simulate_events

    g = build_geometry(OpticsConfig())
    a = simulate_events(g, 0, np.array([10.0, 40.0] * 30), np.zeros(3), np.array([1.0, 0.0, 0.0]), seed=9)
    b = simulate_events(g, 0, np.array([10.0, 40.0] * 30), np.zeros(3), np.array([1.0, 0.0, 0.0]), seed=9)
    assert np.array_equal(a["pe"], b["pe"])
    ratio = a["pe"][1::2].mean() / a["pe"][0::2].mean()
    assert 3.3 < ratio < 4.7  # ~linear light yield (Cherenkov light ~ track length ~ energy)


def test_multiple_scattering_steps_add_up_to_highland_for_the_whole_path():
    # PDG eq. 34.15 for 15 cm of water (X0 = 36.08 cm) at 30 MeV, against 50 steps of 0.3 cm at constant energy
    T, me, X0, step, n = 30.0, 0.51099895, 36.08, 0.3, 50
    p = math.sqrt(T * (T + 2 * me))
    beta = p / (T + me)
    x = n * step / X0
    highland = 13.6 / (beta * p) * math.sqrt(x) * (1 + 0.038 * math.log(x / beta**2))
    steps = [highland_step_theta0(T, step / X0, k * step / X0) for k in range(n)]
    assert math.sqrt(sum(t * t for t in steps)) == pytest.approx(highland, rel=1e-9)
    # each step taken alone (the earlier model): 13-17 % low over such paths
    alone = math.sqrt(n) * highland_step_theta0(T, step / X0, 0.0)
    assert 0.80 < alone / highland < 0.90
