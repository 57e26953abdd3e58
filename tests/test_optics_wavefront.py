"""The wavefront photon transport against the scalar reference kernel, and its own invariants.

The scalar kernel (double precision, one photon at a time) is validated against analytic results in
``test_optics_transport.py``; here the vectorised single-precision kernel must give the same
distributions on the module's full geometry (PMTs, liner, acrylic, absorption, Rayleigh scattering).
Monte Carlo comparisons use 4-sigma tolerances (false alarm ~6e-5 each) with fixed seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2

from d2oflux.optics import _wavefront
from d2oflux.optics.config import OpticsConfig
from d2oflux.optics.geometry import build_geometry
from d2oflux.optics.photons import (
    get_backend,
    pmt_grid,
    pmt_planes,
    trace_wavefront_batch,
    volumes_of,
    wavefront_geometry,
    wavelength_index,
)
from d2oflux.optics.response import isotropic_directions, uniform_in_cylinder
from d2oflux.optics.tracks import simulate_events


def _cherenkov_photons(geom, n, seed):
    """Photons uniform in the D2O, isotropic, with 1/lambda^2 wavelengths over the table's range."""
    rng = np.random.default_rng(seed)
    pos = uniform_in_cylinder(rng, n, geom.cylinders[0, 0], geom.cylinders[0, 2])
    d = isotropic_directions(rng, n)
    lo, hi = geom.wavelengths_nm[0], geom.wavelengths_nm[-1]
    lam = 1 / (1 / lo - rng.random(n) * (1 / lo - 1 / hi))
    return pos, d, lam


def _kernel_inputs(geom, n, seed):
    """:func:`_cherenkov_photons` as the kernels take them: positions, directions, wavelength bins, volumes."""
    pos, d, lam = _cherenkov_photons(geom, n, seed)
    return pos, d, wavelength_index(geom, lam), volumes_of(pos, geom.cylinders)


@pytest.fixture(scope="module")
def module_geometry():
    return build_geometry(OpticsConfig())


DESIGNS = {
    "module": {},
    "24 PMTs top and bottom, specular liner": {
        "pmts": {"count": 24, "layout": "top-bottom"},
        "liner_reflection": "specular",
        "bottom_reflectivity": 0.5,
    },
}


@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_wavefront_matches_scalar_reference(design):
    g = build_geometry(OpticsConfig.model_validate(DESIGNS[design]))
    n = 200_000
    pos, d, lam = _cherenkov_photons(g, n, 11)
    a = get_backend("numba-wavefront").trace(g, pos, d, lam, seed=1)
    b = get_backend("numba-scalar").trace(g, pos, d, lam, seed=2)
    # detected fractions: two binomial samples
    pa, pb = (a >= 0).mean(), (b >= 0).mean()
    p = 0.5 * (pa + pb)
    assert 0.05 < p < 0.95
    assert abs(pa - pb) < 4 * math.sqrt(2 * p * (1 - p) / n)
    # which PMT: a chi2 test of homogeneity of the two hit distributions over the PMTs
    ca = np.bincount(a[a >= 0], minlength=len(g.pmts)).astype(float)
    cb = np.bincount(b[b >= 0], minlength=len(g.pmts)).astype(float)
    tot = ca + cb
    ea, eb = tot * ca.sum() / tot.sum(), tot * cb.sum() / tot.sum()
    stat = (((ca - ea) ** 2 / ea) + ((cb - eb) ** 2 / eb)).sum()
    assert chi2.sf(stat, len(tot) - 1) > 1e-4


def test_wavefront_steps_match_scalar_reference(module_geometry):
    # the number of steps per history probes every branch (interfaces, liner, absorption, scattering)
    from d2oflux.optics.photons import trace_batch

    g = module_geometry
    n = 100_000
    pos, d, il, vol = _kernel_inputs(g, n, 12)
    _, sa = trace_wavefront_batch(wavefront_geometry(g), pos, d, il, vol, _wavefront.photon_keys(3, 0, n))
    _, sb = trace_batch(pos, d, il, vol, 4, g.cylinders, g.tables, g.pmts, g.reflectivity, g.diffuse, 4096)
    err = math.sqrt(sa.var() / n + sb.var() / n)
    assert abs(sa.mean() - sb.mean()) < 4 * err
    assert 10 < sa.mean() < 40


def test_wavefront_results_do_not_depend_on_lanes_or_threads(module_geometry):
    g = module_geometry
    n = 20_000
    pos, d, il, vol = _kernel_inputs(g, n, 13)
    keys = _wavefront.photon_keys(7, 0, n)
    wg = wavefront_geometry(g)
    ref, steps = trace_wavefront_batch(wg, pos, d, il, vol, keys, lanes=2048, threads=1)
    for lanes, threads in ((64, 1), (512, 2), (4096, 2)):
        hit, st = trace_wavefront_batch(wg, pos, d, il, vol, keys, lanes=lanes, threads=threads)
        assert np.array_equal(hit, ref)
        assert np.array_equal(st, steps)
    # a photon's fate depends on its own key only: the second half traced alone gives the same
    hit, _ = trace_wavefront_batch(wg, pos[n // 2 :], d[n // 2 :], il[n // 2 :], vol[n // 2 :], keys[n // 2 :])
    assert np.array_equal(hit, ref[n // 2 :])


def test_event_light_matches_scalar_reference(module_geometry):
    # full events: showers record their photons, traced in batches, vs. traced where emitted
    g = module_geometry
    n = 150
    e = np.full(n, 30.0)
    d = isotropic_directions(np.random.default_rng(5), n)
    a = simulate_events(g, 0, e, np.zeros(3), d, seed=21, wavefront=True)
    b = simulate_events(g, 0, e, np.zeros(3), d, seed=22, wavefront=False)
    err = math.sqrt(a["pe"].var() / n + b["pe"].var() / n)
    assert abs(a["pe"].mean() - b["pe"].mean()) < 4 * err
    err = math.sqrt(a["photons_traced"].var() / n + b["photons_traced"].var() / n)
    assert abs(a["photons_traced"].mean() - b["photons_traced"].mean()) < 4 * err
    again = simulate_events(g, 0, e, np.zeros(3), d, seed=21, wavefront=True)
    assert np.array_equal(again["pe"], a["pe"])


def test_many_pmt_planes_fall_back_to_the_scalar_kernel():
    cfg = OpticsConfig.model_validate(
        {
            "pmts": {
                "layout": "explicit",
                "positions_cm": [[0, 0, 82.54], [25, 0, 80.0], [-25, 0, 78.0], [0, 25, 76.0], [0, -25, 74.0]],
                "facing": ["down"] * 5,
            }
        }
    )
    g = build_geometry(cfg)
    assert wavefront_geometry(g) is None
    pos, d, lam = _cherenkov_photons(g, 1000, 14)
    hits = get_backend().trace(g, pos, d, lam, seed=1)  # traced (by the scalar kernel), no error
    assert hits.shape == (1000,)


def test_cos_sin_polynomials_are_accurate():
    u = (np.arange(200_001) + 0.5) / 200_001
    got = np.array([_wavefront.cos_sin_2pi(np.float32(x)) for x in u[::97]])
    want = np.column_stack([np.cos(2 * np.pi * u[::97]), np.sin(2 * np.pi * u[::97])])
    assert np.abs(got - want).max() < 1e-6  # float32 rounding (6e-8 per operation), not the series


def test_pmt_grid_finds_every_disc_hit(module_geometry):
    # random points on the PMT plane: the cell's candidate list contains the disc a brute-force search finds
    planes, discs = pmt_planes(module_geometry.pmts)
    table, grid = pmt_grid(planes, discs)
    rng = np.random.default_rng(3)
    _z, x0, y0, inv = table[0]
    size = grid.shape[1] / inv
    pts = np.column_stack([x0 + size * rng.random(50_000), y0 + size * rng.random(50_000)])
    d2 = (pts[:, None, 0] - discs[None, :, 0]) ** 2 + (pts[:, None, 1] - discs[None, :, 1]) ** 2
    inside = d2 <= discs[None, :, 3]
    ix = ((pts[:, 0] - x0) * inv).astype(int).clip(0, grid.shape[2] - 1)
    iy = ((pts[:, 1] - y0) * inv).astype(int).clip(0, grid.shape[1] - 1)
    cand = grid[0, iy, ix]
    for k in np.nonzero(inside.any(axis=1))[0]:
        assert np.argmax(inside[k]) in cand[k]
    assert inside.any(axis=1).sum() > 1000


def _fresnel_double(n1, n2, cosi):
    """Unpolarised Fresnel reflectance in double precision (the Fresnel equations: Hecht, Optics, 5th ed., §4.6.2)."""
    g2 = n2**2 - n1**2 * (1 - cosi**2)  # n2^2 cos^2(t)
    if g2 <= 0:
        return g2, 1.0
    cost = math.sqrt(g2) / n2
    rs = (n1 * cosi - n2 * cost) / (n1 * cosi + n2 * cost)
    rp = (n2 * cosi - n1 * cost) / (n2 * cosi + n1 * cost)
    return g2, (rs * rs + rp * rp) / 2


@pytest.mark.parametrize("n1, n2", [(1.333, 1.49), (1.49, 1.333), (1.49, 1.0), (1.33, 1.338)])
def test_fresnel_without_division_matches_the_textbook_formula(n1, n2):
    # single-precision inputs, evaluated in double by the textbook formula; incidence cosines on a grid
    # and, from the denser medium, packed around the critical angle
    f32 = np.float32
    n1, n2 = f32(n1), f32(n2)
    cosines = list(np.linspace(0, 1, 401))
    if n1 > n2:
        cc = math.sqrt(1 - (float(n2) / float(n1)) ** 2)
        cosines += list(cc + np.linspace(-1e-4, 1e-4, 401))
    eps = 2.0**-24  # float32 unit roundoff
    for c in np.array(cosines, dtype=np.float32):
        g2, _g, num, den = _wavefront.fresnel(n1, n2, c)
        g2_ref, r_ref = _fresnel_double(float(n1), float(n2), float(c))
        # no cancellation: g2 = (n2 - n1)(n2 + n1) + (n1 cos i)^2 is good to a few roundings of its terms
        scale = max((float(n1) * float(c)) ** 2, abs(float(n2) ** 2 - float(n1) ** 2))
        assert abs(g2 - g2_ref) <= 4 * eps * scale
        if c == 0:  # grazing: everything reflects
            assert g2 <= 0 or num / den == pytest.approx(1.0, abs=1e-6)
        elif g2_ref > 1e-6:  # transmission: R to float32 rounding plus g2's error carried through dR/dg
            g, a = math.sqrt(g2_ref), float(n1) * float(c)
            slope = 2 / a + 2 * float(n1) / (float(n2) ** 2 * float(c))  # bounds |dR/dg| (R_s and R_p halves)
            assert num / den == pytest.approx(r_ref, abs=1e-6 + 2 * slope * 4 * eps * scale / (2 * g))
        elif g2_ref < -4 * eps * scale:
            assert g2 <= 0  # total internal reflection in both
    # normal incidence: R = ((n1 - n2) / (n1 + n2))^2
    _, _, num, den = _wavefront.fresnel(n1, n2, f32(1))
    assert num / den == pytest.approx(((n1 - n2) / (n1 + n2)) ** 2, rel=1e-5)
