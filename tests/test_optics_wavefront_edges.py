"""Corners of the wavefront photon transport: geometry edge cases in single precision, liner and PMT
extremes, the step limit, the photon record of full events, and the Cherenkov wavelength sampler.

Each comparison is either with the scalar double-precision reference kernel (the same photons traced by
both; detected fractions as two binomial samples, the hit PMTs by a chi2 test of homogeneity, the mean
steps per history by their standard errors; 4 sigma, false alarm ~6e-5 each, fixed seeds) or with an
analytic expectation (solid angles, interface counts of straight paths, the step limit, exact equality).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np
import pytest
from scipy.stats import chi2

from d2oflux.optics import _wavefront, tracks
from d2oflux.optics.config import OpticsConfig
from d2oflux.optics.geometry import build_geometry
from d2oflux.optics.photons import (
    MAX_STEPS,
    get_backend,
    seed_state,
    trace_batch,
    trace_wavefront_batch,
    volumes_of,
    wavefront_geometry,
    wavelength_index,
)
from d2oflux.optics.response import isotropic_directions
from d2oflux.optics.tracks import cherenkov_sampler, cherenkov_wavelength

NO_LOSS = {m: {"absorption_scale": 1e9, "rayleigh_scale": 1e9} for m in ("D2O", "H2O", "acrylic")}
BLACK = {"liner_reflectivity": 0.0, "bottom_reflectivity": 0.0}
MATCHED = {m: {"refractive_index": 1.33, "absorption_scale": 1e9, "rayleigh_scale": 1e9} for m in NO_LOSS}
# 8 PMTs of 4 cm on 4 planes: the two liner planes and two heights inside the light water (beside the vessel,
# where light reaches both faces), facing up and down
FOUR_PLANES = {
    "layout": "explicit",
    "photocathode_diameter_cm": 4.0,
    "positions_cm": [
        [0, 0, 82.54],
        [40, 0, 0],
        [-40, 0, 30],
        [0, 40, -82.54],
        [0, -40, 0],
        [20, 20, 82.54],
        [-40, 2, 0],
        [3, 0, -82.54],
    ],
    "facing": ["down", "up", "down", "up", "down", "down", "up", "up"],
}


def _trace_both(g, pos, d, il, seed):
    """The same photons through the wavefront and the scalar kernel: (hits, steps) of each."""
    vol = volumes_of(pos, g.cylinders)
    assert np.all(vol >= 0)
    n = len(pos)
    wave = trace_wavefront_batch(wavefront_geometry(g), pos, d, il, vol, _wavefront.photon_keys(seed, 0, n))
    scalar = trace_batch(pos, d, il, vol, seed + 1, g.cylinders, g.tables, g.pmts, g.reflectivity, g.diffuse, 4096)
    return wave, scalar


def _assert_same_distributions(wave, scalar, n_pmts):
    (ha, sa), (hb, sb) = wave, scalar
    n = len(ha)
    pa, pb = (ha >= 0).mean(), (hb >= 0).mean()
    p = 0.5 * (pa + pb)
    assert abs(pa - pb) <= 4 * math.sqrt(2 * p * (1 - p) / n) + 1e-12, (pa, pb)
    ca = np.bincount(ha[ha >= 0], minlength=n_pmts).astype(float)
    cb = np.bincount(hb[hb >= 0], minlength=n_pmts).astype(float)
    tot = ca + cb
    used = tot > 0
    if used.sum() > 1:
        ea, eb = tot[used] * ca.sum() / tot.sum(), tot[used] * cb.sum() / tot.sum()
        stat = (((ca[used] - ea) ** 2 / ea) + ((cb[used] - eb) ** 2 / eb)).sum()
        assert chi2.sf(stat, used.sum() - 1) > 1e-4
    err = math.sqrt(sa.var() / n + sb.var() / n)
    assert abs(sa.mean() - sb.mean()) <= 4 * err + 1e-9, (sa.mean(), sb.mean())
    return pa, pb


def _between(rng, n, outer, inner):
    """Points uniform in the cylinder ``outer`` = (R, z_low, z_high) outside the cylinder ``inner``."""
    out = []
    while sum(len(o) for o in out) < n:
        m = 2 * n
        r = outer[0] * np.sqrt(rng.random(m))
        phi = 2 * np.pi * rng.random(m)
        z = outer[1] + (outer[2] - outer[1]) * rng.random(m)
        inside = (r <= inner[0]) & (z >= inner[1]) & (z <= inner[2])
        out.append(np.column_stack([r * np.cos(phi), r * np.sin(phi), z])[~inside])
    return np.concatenate(out)[:n]


def _isotropic_in(volume: int) -> Callable:
    """Photons uniform in the acrylic (1) or the light water (2), isotropic, wavelengths uniform on the grid."""

    def make(g, rng, n):
        pos = _between(rng, n, g.cylinders[volume], g.cylinders[volume - 1])
        return pos, isotropic_directions(rng, n), rng.integers(0, g.detect_prob.size, n)

    return make


def _in_d2o(g, rng, n):
    r = g.cylinders[0, 0] * np.sqrt(rng.random(n))
    phi = 2 * np.pi * rng.random(n)
    pos = np.column_stack([r * np.cos(phi), r * np.sin(phi), g.cylinders[0, 2] * (2 * rng.random(n) - 1)])
    return pos, isotropic_directions(rng, n), rng.integers(0, g.detect_prob.size, n)


def _vertical(g, rng, n):
    """Exactly vertical photons, up and down, at radii on both sides of (and on) every interface."""
    R0, R1, R2 = g.cylinders[:, 0]
    radii = np.array([0.0, 10.0, R0 - 1e-2, R0, 0.5 * (R0 + R1), R1, R1 + 5e-3, 40.0, R2 - 0.5])
    r = radii[rng.integers(0, radii.size, n)]
    phi = 2 * np.pi * rng.random(n)
    pos = np.column_stack([r * np.cos(phi), r * np.sin(phi), rng.uniform(-60, 60, n)])
    d = np.zeros((n, 3))
    d[:, 2] = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    return pos, d, rng.integers(0, g.detect_prob.size, n)


def _tangent(g, rng, n):
    """From the light water, horizontal-ish rays within 0.02 cm of the tangent to the vessel (grazing it)."""
    b = g.cylinders[1, 0] + rng.uniform(-0.02, 0.005, n)
    pos = np.column_stack([np.full(n, -25.0), b, rng.uniform(-60, 60, n)])
    d = np.column_stack([np.ones(n), np.zeros(n), rng.uniform(-0.01, 0.01, n)])
    return pos, d, rng.integers(0, g.detect_prob.size, n)


def _corners(g, rng, n):
    """Rays aimed within 0.01 cm of the top corners of the D2O (from the D2O) and of the vessel (from above)."""
    (R0, _, h0), (R1, _, h1) = g.cylinders[0], g.cylinders[1]
    k = n // 2
    a = np.column_stack([rng.uniform(-30, 30, k), rng.uniform(-10, 10, k), rng.uniform(-60, 60, k)])
    ta = np.array([R0, 0.0, h0]) + rng.uniform(-0.01, 0.01, (k, 3))
    b = np.column_stack([rng.uniform(-30, 30, n - k), rng.uniform(-10, 10, n - k), rng.uniform(74, 82, n - k)])
    tb = np.array([R1, 0.0, h1]) + rng.uniform(-0.01, 0.01, (n - k, 3))
    pos = np.vstack([a, b])
    d = np.vstack([ta - a, tb - b])
    return pos, d / np.linalg.norm(d, axis=1, keepdims=True), rng.integers(0, g.detect_prob.size, n)


SCENARIOS = {
    "start in the acrylic": ({}, _isotropic_in(1)),
    "start in the light water": ({}, _isotropic_in(2)),
    "start in the acrylic, black liner": (BLACK, _isotropic_in(1)),
    "start in the acrylic, unit diffuse liner, no loss": (
        {"materials": NO_LOSS, "liner_reflectivity": 1.0, "bottom_reflectivity": 1.0},
        _isotropic_in(1),
    ),
    "start in the light water, unit specular liner, no loss": (
        {"materials": NO_LOSS, "liner_reflectivity": 1.0, "bottom_reflectivity": 1.0, "liner_reflection": "specular"},
        _isotropic_in(2),
    ),
    "4 PMT planes facing both ways, from the light water": ({"pmts": FOUR_PLANES}, _isotropic_in(2)),
    "4 PMT planes facing both ways, from the D2O, specular": (
        {"pmts": FOUR_PLANES, "liner_reflection": "specular", "materials": NO_LOSS},
        _in_d2o,
    ),
    "vertical photons on and beside every interface": ({"pmts": {"count": 24, "layout": "top-bottom"}}, _vertical),
    "grazing the vessel from the light water": ({"materials": NO_LOSS}, _tangent),
    "aimed at the D2O and vessel corners": ({}, _corners),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_wavefront_matches_scalar_in_corner_cases(name):
    cfg, make = SCENARIOS[name]
    g = build_geometry(OpticsConfig.model_validate(cfg))
    if cfg.get("pmts") is FOUR_PLANES:
        assert wavefront_geometry(g).planes.shape[0] == 4  # traced by the wavefront kernel, not the fallback
    rng = np.random.default_rng(sorted(SCENARIOS).index(name) + 100)
    n = 30_000
    pos, d, il = make(g, rng, n)
    pa, _ = _assert_same_distributions(*_trace_both(g, pos, d, il, seed=7), len(g.pmts))
    assert pa > 0.005  # the comparison has hits to compare


def test_unit_reflectivity_without_loss_detects_every_light_water_photon():
    # nothing absorbs: a photon ends only on a photocathode (the PMT bodies face the outside) or at the step
    # limit, which light from the light water never reaches here (max ~900 steps)
    cfg = {"materials": NO_LOSS, "liner_reflectivity": 1.0, "bottom_reflectivity": 1.0}
    g = build_geometry(OpticsConfig.model_validate(cfg))
    rng = np.random.default_rng(31)
    pos, d, il = _isotropic_in(2)(g, rng, 20_000)
    (ha, sa), (hb, sb) = _trace_both(g, pos, d, il, seed=3)
    assert np.all(ha >= 0) and np.all(hb >= 0)
    assert sa.max() < MAX_STEPS and sb.max() < MAX_STEPS


def _solid_angle_fraction(d, a):
    """Fraction of isotropic light from a point at distance d on the axis of a disc of radius a that hits it."""
    return 0.5 * (1 - d / math.hypot(d, a))


@pytest.mark.parametrize(
    ("disc_z", "facing", "source_z", "detected"),
    [
        (78.0, "up", 80.0, True),  # inside the light water, seen from above: the photocathode
        (78.0, "down", 80.0, False),  # the same disc facing down: hit from behind, the PMT body absorbs
        (78.0, "down", 76.0, True),
        (-82.54, "up", -80.0, True),  # on the bottom liner's plane, facing up
    ],
)
@pytest.mark.parametrize("backend", ["numba-wavefront", "numba-scalar"])
def test_disc_front_and_back_against_solid_angle(backend, disc_z, facing, source_z, detected):
    # black liner, matched indices, no loss: a photon reaches the disc only straight from the source
    cfg = {**BLACK, "materials": MATCHED, "pmts": {"layout": "explicit", "positions_cm": [[0, 0, disc_z]],
                                                   "facing": [facing]}}  # fmt: skip
    g = build_geometry(OpticsConfig.model_validate(cfg))
    n = 100_000
    d = isotropic_directions(np.random.default_rng(41), n)
    hits = get_backend(backend).trace(g, np.tile([0.0, 0.0, source_z], (n, 1)), d, 400.0, seed=9)
    if not detected:
        assert np.all(hits < 0)
        return
    p = _solid_angle_fraction(abs(disc_z - source_z), g.pmts[0, 4])
    assert abs((hits >= 0).sum() - n * p) < 4 * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("backend", ["numba-wavefront", "numba-scalar"])
@pytest.mark.parametrize("gap_cm", [2e-4, 2e-3])
def test_photons_starting_next_to_an_inner_surface_cross_it(backend, gap_cm):
    # regression: the wavefront kernel ignored an inner surface within 10 um of a photon's start (its guard
    # against re-entering the surface just left), so such photons crossed the D2O as acrylic or the whole
    # vessel as light water. Matched indices, no loss: a straight path counts one step per surface crossed.
    g = build_geometry(OpticsConfig.model_validate({**BLACK, "materials": MATCHED}))
    (R0, _, h0), (R1, _, _) = g.cylinders[0], g.cylinders[1]
    rng = np.random.default_rng(51)
    n = 2000
    phi = 2 * np.pi * rng.random(n)
    radial_in = np.column_stack([-np.cos(phi), -np.sin(phi), rng.uniform(-0.3, 0.3, n)])
    down = np.column_stack([rng.uniform(-0.3, 0.3, (n, 2)), -np.ones(n)])
    cases = {
        # acrylic beside the D2O: D2O in, D2O out, vessel out, liner
        "acrylic wall": ((R0 + gap_cm) * np.column_stack([np.cos(phi), np.sin(phi), np.zeros(n)]), radial_in, 4),
        # acrylic cap above the D2O: D2O in (top), D2O out, vessel out, liner
        "acrylic cap": (np.column_stack([rng.uniform(-20, 20, (n, 2)), np.full(n, h0 + gap_cm)]), down, 4),
        # light water beside the vessel: vessel in, D2O in, D2O out, vessel out, liner
        "light water": ((R1 + gap_cm) * np.column_stack([np.cos(phi), np.sin(phi), np.zeros(n)]), radial_in, 5),
    }
    for label, (pos, d, crossings) in cases.items():
        pos[:, 2] += rng.uniform(-50, 50, n) if label != "acrylic cap" else 0.0
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
        il = wavelength_index(g, np.full(n, 400.0))
        vol = volumes_of(pos, g.cylinders)
        if backend == "numba-wavefront":
            _, steps = trace_wavefront_batch(wavefront_geometry(g), pos, d, il, vol, _wavefront.photon_keys(5, 0, n))
        else:
            _, steps = trace_batch(pos, d, il, vol, 5, g.cylinders, g.tables, g.pmts, g.reflectivity, g.diffuse, 512)
        assert (steps == crossings).mean() > 0.999, (label, np.bincount(steps))


@pytest.mark.parametrize("backend", ["numba-wavefront", "numba-scalar"])
def test_step_limit_stops_photons_that_keep_scattering(backend):
    # regression: the wavefront kernel let a photon whose last allowed step was a Rayleigh scattering go on,
    # so in a strongly scattering medium it was never stopped (~5e4 steps per photon, up to 3.5e5).
    # Rayleigh lengths of 0.04-0.8 cm, no absorption: no photon from the centre escapes in MAX_STEPS steps.
    mats = {m: {"absorption_scale": 1e9, "rayleigh_scale": 1e-5} for m in ("D2O", "H2O", "acrylic")}
    g = build_geometry(OpticsConfig.model_validate({"materials": mats}))
    n = 300
    pos, d = np.zeros((n, 3)), isotropic_directions(np.random.default_rng(61), n)
    il, vol = wavelength_index(g, np.full(n, 400.0)), np.zeros(n, np.int64)
    if backend == "numba-wavefront":
        hits, steps = trace_wavefront_batch(wavefront_geometry(g), pos, d, il, vol, _wavefront.photon_keys(1, 0, n))
    else:
        hits, steps = trace_batch(pos, d, il, vol, 1, g.cylinders, g.tables, g.pmts, g.reflectivity, g.diffuse, 64)
    assert np.all(hits < 0)
    assert np.all(steps == MAX_STEPS)


@pytest.fixture(scope="module")
def small_events():
    g = build_geometry(OpticsConfig())
    n = 160  # three tasks of tracks.EVENTS_PER_TASK primaries
    rng = np.random.default_rng(71)
    e = rng.uniform(2.0, 6.0, n)
    return g, rng.integers(0, 2, n), e, isotropic_directions(rng, n)


EVENT_KEYS = ("pe", "pe_h2o", "photons_traced")  # the per-event results (not the timing)


def test_event_results_do_not_depend_on_the_record_capacity_or_threads(small_events, monkeypatch):
    # a primary whose photons do not fit the record is redone in a larger one (same random stream, same
    # photons, same keys): the events must be identical, as on one thread or two
    g, kinds, e, d = small_events
    ref = tracks.simulate_events(g, kinds, e, np.zeros(3), d, seed=17)
    assert ref["photons_traced"].max() > 10
    for cap in (3, 50):  # below one primary's photons (grown x4 until it fits) and a few primaries per batch
        monkeypatch.setattr(tracks, "RECORD_PHOTONS", cap)
        got = tracks.simulate_events(g, kinds, e, np.zeros(3), d, seed=17)
        for key in EVENT_KEYS:
            assert np.array_equal(got[key], ref[key]), (cap, key)
    monkeypatch.undo()
    threads = numba.get_num_threads()
    try:
        for k in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(k)
            got = tracks.simulate_events(g, kinds, e, np.zeros(3), d, seed=17)
            for key in EVENT_KEYS:
                assert np.array_equal(got[key], ref[key]), (k, key)
    finally:
        numba.set_num_threads(threads)


def test_scintillation_in_every_volume_matches_scalar():
    # isotropic light emitted in the D2O, the acrylic and the light water (electrons and gammas started near
    # the vessel wall, on both sides), recorded and traced in batches vs traced where emitted
    cfg = {"scintillation": {m: {"photons_per_MeV": 100.0} for m in ("D2O", "H2O", "acrylic")}}
    g = build_geometry(OpticsConfig.model_validate(cfg))
    rng = np.random.default_rng(81)
    n = 200
    pos = np.column_stack([rng.uniform(30, 42, n), np.zeros(n), rng.uniform(-75, 75, n)])
    kinds, e, d = rng.integers(0, 2, n), np.full(n, 3.0), isotropic_directions(rng, n)
    a = tracks.simulate_events(g, kinds, e, pos, d, seed=1, wavefront=True)
    b = tracks.simulate_events(g, kinds, e, pos, d, seed=2, wavefront=False)
    for key in ("pe", "pe_h2o", "photons_traced"):
        err = math.sqrt(a[key].var() / n + b[key].var() / n)
        assert abs(a[key].mean() - b[key].mean()) < 4 * err, key
    assert a["pe_h2o"].mean() > 1.0  # the light water's own light is there


def test_cherenkov_sampler_never_draws_a_bin_of_zero_detection_probability():
    # a QE curve that is zero below 380 nm and above 451 nm: the alias table's implied probabilities are the
    # 1/lambda^2 x QE weights (zero there), and draws follow them (chi2 over the non-zero bins)
    qe = {"wavelength_nm": [300.0, 380.0, 381.0, 450.0, 451.0, 680.0], "qe": [0.0, 0.0, 0.3, 0.2, 0.0, 0.0]}
    g = build_geometry(OpticsConfig.model_validate({"pmts": {"qe": qe}}))
    table, wsum = cherenkov_sampler(g.detect_prob, g.lambda_min_nm, g.lambda_step_nm)
    lam = g.wavelengths_nm
    lo = np.maximum(lam - 0.5 * g.lambda_step_nm, lam[0])
    hi = np.minimum(lam + 0.5 * g.lambda_step_nm, lam[-1])
    w = g.detect_prob * (1 / lo - 1 / hi)
    implied = table[0] / lam.size
    np.add.at(implied, table[1].astype(int), (1 - table[0]) / lam.size)
    assert wsum == pytest.approx(w.sum(), rel=1e-12)
    np.testing.assert_allclose(implied, w / w.sum(), rtol=1e-9, atol=1e-15)
    assert np.all(implied[g.detect_prob == 0] == 0)
    # draws: beta -> 1 and a single index, so every candidate is kept
    optab = g.tables.copy()
    optab[:, 0] = 1.33
    st = seed_state(5, 0)
    n = 40_000
    fmax = 1 - 1 / 1.33**2
    draws = np.array([cherenkov_wavelength(st, 1.0, fmax, 0, optab, table) for _ in range(n)])
    assert np.all(draws >= 0) and np.all(g.detect_prob[draws] > 0)
    counts = np.bincount(draws, minlength=lam.size)
    expected = n * w / w.sum()
    used = expected > 0
    stat = ((counts[used] - expected[used]) ** 2 / expected[used]).sum()
    assert chi2.sf(stat, used.sum() - 1) > 1e-4


@pytest.mark.parametrize("radius_cm", [0.05, 1.0, 10.0])
def test_pmt_grid_lists_every_disc_containing_a_point_and_stays_small(radius_cm):
    """The look-up grid against brute force: for points on a PMT plane, the point's cell lists every disc
    containing it (a disc missing from its cell would lose hits). Small photocathodes must not blow the
    grid up (its side is capped at MAX_GRID_CELLS cells; before the cap, 1 mm discs needed ~200 MB)."""
    from d2oflux.optics._kernels import pmt_planes
    from d2oflux.optics.photons import MAX_GRID_CELLS, pmt_grid

    rng = np.random.default_rng(5)
    pitch = 2.2 * radius_cm + 3.0  # a square lattice of non-overlapping discs over ~180 cm
    side = int(180.0 / pitch)
    xy = (np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2) - side / 2) * pitch
    xy = xy[rng.permutation(len(xy))[:400]]
    pmts = np.column_stack([xy, np.full(len(xy), 90.0), -np.ones(len(xy)), np.full(len(xy), radius_cm)])
    planes, discs = pmt_planes(pmts)
    table, grid = pmt_grid(planes[:1], discs)
    assert grid.shape[1] <= MAX_GRID_CELLS and grid.nbytes < 50e6
    _z, x0, y0, inv = table[0]
    # points near disc centres and uniform ones
    centres = discs[rng.integers(0, len(discs), 3000), :2]
    near = centres + rng.uniform(-1.1, 1.1, centres.shape) * radius_cm
    pts = np.vstack([near, rng.uniform(xy.min() - radius_cm, xy.max() + radius_cm, (3000, 2))])
    for px, py in pts:
        inside = set(np.nonzero((discs[:, 0] - px) ** 2 + (discs[:, 1] - py) ** 2 <= discs[:, 3])[0])
        ix, iy = int((px - x0) * inv), int((py - y0) * inv)
        if not (0 <= ix < grid.shape[2] and 0 <= iy < grid.shape[1]):
            assert not inside
            continue
        listed = {int(k) for k in grid[0, iy, ix] if k >= 0}
        assert inside <= listed
