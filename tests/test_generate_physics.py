"""The event generator's physics against independent numbers.

Statistical tests use fixed seeds and a chi-square (or Kolmogorov-type) test whose null hypothesis is
rejected at p < 1e-3 (P_MIN); bins with fewer than 5 expected events are merged. Reference numbers come
from the rate engine (visible spectra, expected counts, timing model) or from direct quadrature of the
model densities written out here (neutrino-energy spectra, angular distributions, vertex densities).
"""

import math
from itertools import pairwise

import numpy as np
import pytest
from scipy import integrate, stats

from d2oflux import constants as c
from d2oflux.detector import load_detector
from d2oflux.generate.core import draw_counts
from d2oflux.generate.events import ChunkSampler
from d2oflux.generate.geometry import inside, sample_vertices
from d2oflux.generate.kinematics import M_O16_MEV, linear_cos_bin_probability, sample_gt_angle
from d2oflux.generate.plan import make_plan
from d2oflux.rates import expect
from d2oflux.source import Exposure, Source, load_facility, spectrum_pdf
from d2oflux.xsec import cross_sections_for_target
from d2oflux.xsec.deuteron import Q_CC_MEV, cc_electron_T_pdf, nn_fsi_density

P_MIN = 1e-3
FAC = load_facility("sns-fts")
SRC = Source(FAC, include_mu_minus_dar=True)
ONE_YEAR = Exposure.from_years(FAC, 1.0)
ALL_CHANNELS = [
    "nue_d_cc",
    "nuebar_d_cc",
    "nc_d",
    "nue_o16_cc",
    "nuebar_o16_cc",
    "nc_o16",
    "es_nue",
    "es_nuebar",
    "es_numu",
    "es_anumu",
    "ibd_h",
    "cevns_O",
    "cevns_C",
]


@pytest.fixture(scope="module")
def module1():
    det = load_detector("d2o-module1")
    return det, expect(det, SRC, ONE_YEAR)


def sample(det, channels, n, seed):
    """Events of the given channels (n per channel, count mode), as a chunk dict + the sampler."""
    plan = make_plan(det, SRC, None, n_events=n, channels=channels, per_channel=True)
    rng = np.random.Generator(np.random.PCG64(seed))
    _, n_comp, w = draw_counts(plan, rng)
    sampler = ChunkSampler(plan, w)
    return sampler.chunk(n_comp, 0, rng), sampler, plan


def chi2_pvalue(observed, expected):
    """Chi-square p-value of counts against expectations (bins with < 5 expected merged)."""
    observed = np.asarray(observed, float)
    expected = np.asarray(expected, float)
    big = expected >= 5
    o = np.append(observed[big], observed[~big].sum())
    e = np.append(expected[big], expected[~big].sum())
    if e[-1] < 5:
        o[-2] += o[-1]
        e[-2] += e[-1]
        o, e = o[:-1], e[:-1]
    chi2 = float(((o - e) ** 2 / e).sum())
    return stats.chi2.sf(chi2, e.size - 1)


# ------------------------------------------------------------------------------------------------
# spectra
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("channel", "n", "seed"), [("nue_d_cc", 400_000, 11), ("es_nue", 200_000, 12), ("es_numu", 100_000, 13)]
)
def test_lepton_energy_reproduces_rate_engine(module1, channel, n, seed):
    det, res = module1
    ev, _, _ = sample(det, [channel], n, seed)
    h = res.channels[channel].visible_energy  # bin-integrated visible spectrum of the rate engine
    edges = h.axes[0].edges
    expected = h.values() / h.values().sum() * n
    observed = np.histogram(ev["lepton_kinetic_MeV"], edges)[0]
    assert observed.sum() == n  # nothing outside the rate engine's range
    assert chi2_pvalue(observed, expected) > P_MIN


@pytest.mark.parametrize(
    ("channel", "n", "seed"),
    [
        ("nue_d_cc", 200_000, 21),
        ("nc_d", 200_000, 22),
        ("es_nue", 100_000, 23),
        ("nue_o16_cc", 100_000, 24),
        ("ibd_h", 50_000, 25),
    ],
)
def test_neutrino_energy_reproduces_flux_times_sigma(module1, channel, n, seed):
    """Histogram of E_nu per channel against direct quadrature of sum_f N_f fluence_f f_f(E) sigma(E) per bin
    (what the rate engine's neutrino-energy spectrum integrates; its own histogram is built from
    quadrature nodes, see the report), and the nu_mu line exactly at 29.79 MeV."""
    det, res = module1
    ev, _, _ = sample(det, [channel], n, seed)
    edges = np.arange(0.0, 54.0, 1.0)
    comps = [x for x in res.components if x.channel == channel]
    expected = np.zeros(edges.size - 1)
    line = 0.0
    for comp in comps:
        (xs,) = [x for x in cross_sections_for_target(comp.target, (comp.flavour,)) if x.name == channel]
        if comp.flavour == "nu_mu":
            line += comp.interactions
            continue
        bins = np.array(
            [
                integrate.quad(lambda e, f=comp.flavour, x=xs: spectrum_pdf(f, e) * x.sigma(e), a, b)[0]
                for a, b in pairwise(edges)
            ]
        )
        expected += bins / bins.sum() * comp.interactions
    total = expected.sum() + line
    E = ev["nu_energy_MeV"]
    is_line = ev["nu_pdg"] == 14
    assert np.all(E[is_line] == c.E_NUMU_PROMPT_MEV)
    if line > 0:  # the share of the prompt line is binomial
        k, p = int(is_line.sum()), line / total
        assert abs(k - n * p) < 4 * math.sqrt(n * p * (1 - p))
    observed = np.histogram(E[~is_line], edges)[0]
    assert chi2_pvalue(observed, expected / expected.sum() * (~is_line).sum()) > P_MIN


@pytest.mark.parametrize(("channel", "seed"), [("nc_d", 31), ("es_nue", 32)])
def test_components_share_events_like_rate_engine(module1, channel, seed):
    """Events per (region, flavour) follow the rate engine's interactions (multinomial)."""
    det, res = module1
    n = 50_000
    ev, _, plan = sample(det, [channel], n, seed)
    comps = [x for x in res.components if x.channel == channel]
    mu = np.array([x.interactions for x in comps])
    from d2oflux.xsec.base import FLAVOUR_PDG

    observed = [
        np.count_nonzero((ev["region_id"] == plan.regions.index(x.region)) & (ev["nu_pdg"] == FLAVOUR_PDG[x.flavour]))
        for x in comps
    ]
    assert sum(observed) == n
    assert chi2_pvalue(observed, mu / mu.sum() * n) > P_MIN


def test_cevns_recoils_reproduce_rate_engine():
    det = load_detector("csi")  # sees nuclear recoils: CEvNS is in the rate engine
    res = expect(det, Source(FAC), ONE_YEAR)
    for channel, seed in (("cevns_Cs", 41), ("cevns_I", 42)):
        n = 100_000
        plan = make_plan(det, Source(FAC), None, n_events=n, channels=[channel])
        rng = np.random.Generator(np.random.PCG64(seed))
        _, n_comp, w = draw_counts(plan, rng)
        ev = ChunkSampler(plan, w).chunk(n_comp, 0, rng)
        h = res.channels[channel].visible_energy
        T = ev["fs_E_MeV"][:, 1] - ev["fs_mass_MeV"][:, 1]  # nucleus recoil kinetic energy
        observed = np.histogram(T, h.axes[0].edges)[0]
        assert chi2_pvalue(observed, h.values() / h.values().sum() * n) > P_MIN


# ------------------------------------------------------------------------------------------------
# angles
# ------------------------------------------------------------------------------------------------
class _FlatRho:
    def __call__(self, y):
        return np.ones_like(y)

    def max_on(self, lo, hi):
        return np.ones_like(lo)


def test_gt_angle_sampler_is_one_minus_beta_over_3_cos():
    """With the pair phase space switched off, the CC-on-d angle is exactly 1 - (beta/3) cos(theta)."""
    rng = np.random.default_rng(51)
    n = 400_000
    T = rng.uniform(0.05, 50.0, n)
    beta = np.sqrt(T * (T + 2 * c.M_E_MEV)) / (T + c.M_E_MEV)
    cos = sample_gt_angle(
        rng, np.full(n, 40.0), T, np.full(n, 10.0), -beta / 3, np.full(n, -1.0), c.M_P_MEV, _FlatRho()
    )
    edges = np.linspace(-1, 1, 41)
    expected = np.array([linear_cos_bin_probability(-beta / 3, a, b).sum() for a, b in pairwise(edges)])
    assert chi2_pvalue(np.histogram(cos, edges)[0], expected) > P_MIN
    assert np.mean(cos) == pytest.approx(np.mean(-beta / 9), abs=4 * 0.58 / math.sqrt(n))


_Y = np.linspace(0.0, 60.0, 300_001)  # independent of the generator's table (linear grid, 0.2 keV)
_RHO = {pair: nn_fsi_density(_Y, pair) for pair in ("pp", "nn")}


def rho_pp(y):
    return np.interp(y, _Y, _RHO["pp"], left=0.0)


def _conditional_cdf(E, T, cos, *, Q, m_lep, pair, m_N, n_grid=2001):
    """Independent CDF of the lepton cos(theta) given (E, T), GT + NN-FSI model:
    (1 - beta c/3) rho_NN(E - Q - T - q^2/4m_N), q^2 = E^2 + p^2 - 2 E p c."""
    grid = np.linspace(-1.0, 1.0, n_grid)
    out = np.empty(E.size)
    for s in range(0, E.size, 1000):
        e, t, cc = E[s : s + 1000, None], T[s : s + 1000, None], cos[s : s + 1000]
        p = np.sqrt(t * (t + 2 * m_lep))
        beta = p / (t + m_lep)
        q2 = e * e + p * p - 2 * e * p * grid
        f = (1 - beta * grid / 3) * np.interp(e - Q - t - q2 / (4 * m_N), _Y, _RHO[pair], left=0.0)
        cdf = np.concatenate([np.zeros((f.shape[0], 1)), np.cumsum(0.5 * (f[:, 1:] + f[:, :-1]), axis=1)], axis=1)
        cdf /= cdf[:, -1:]
        out[s : s + 1000] = [np.interp(x, grid, row) for x, row in zip(cc, cdf, strict=True)]
    return out


@pytest.mark.parametrize(
    ("channel", "kwargs", "seed"),
    [
        ("nue_d_cc", dict(Q=Q_CC_MEV, m_lep=c.M_E_MEV, pair="pp", m_N=c.M_P_MEV), 52),
        (
            "nc_d",
            dict(Q=c.M_P_MEV + c.M_N_MEV - c.M_D_MEV, m_lep=0.0, pair="nn", m_N=0.5 * (c.M_P_MEV + c.M_N_MEV)),
            58,
        ),
    ],
)
def test_deuteron_angle_follows_gt_times_pair_phase_space(module1, channel, kwargs, seed):
    """Probability-integral transform: F(cos | E, T) of every event, with F from an independent quadrature
    of (1 - beta cos/3) x rho_NN at the recoil-corrected pair energy, is uniform."""
    det, _ = module1
    ev, _, _ = sample(det, [channel], 20_000, seed)
    u = _conditional_cdf(ev["nu_energy_MeV"], ev["lepton_kinetic_MeV"], ev["lepton_cos_theta"], **kwargs)
    observed = np.histogram(u, np.linspace(0, 1, 21))[0]
    assert chi2_pvalue(observed, np.full(20, u.size / 20)) > P_MIN


@pytest.mark.parametrize(("E", "seed"), [(30.0, 53), (50.0, 54)])
def test_cc_d_mean_angle_at_fixed_energy(module1, E, seed):
    """<cos theta> at fixed E: quadrature over the model's T spectrum of the conditional mean."""
    det, _ = module1
    plan = make_plan(det, SRC, None, n_events=10, channels=["nue_d_cc"])
    model = plan.items[0].model
    n = 200_000
    rng = np.random.default_rng(seed)
    d = np.tile([1.0, 0.0, 0.0], (n, 1))
    fs = model.final_state(np.full(n, E), "nu_e", d, rng)
    T = np.linspace(0.0, E - Q_CC_MEV, 3001)[1:-1]
    pT = cc_electron_T_pdf(E, T)
    grid = np.linspace(-1, 1, 2001)
    pe = np.sqrt(T * (T + 2 * c.M_E_MEV))[:, None]
    beta = pe / (T[:, None] + c.M_E_MEV)
    q2 = E * E + pe * pe - 2 * E * pe * grid
    f = (1 - beta * grid / 3) * rho_pp(E - Q_CC_MEV - T[:, None] - q2 / (4 * c.M_P_MEV))
    norm = integrate.trapezoid(f, grid, axis=1)
    mean_c = np.where(norm > 0, integrate.trapezoid(f * grid, grid, axis=1) / np.where(norm > 0, norm, 1), 1.0)
    expected = integrate.trapezoid(pT * mean_c, T) / integrate.trapezoid(pT, T)
    assert fs.lepton_cos.mean() == pytest.approx(expected, abs=4 * fs.lepton_cos.std() / math.sqrt(n))
    # the recoil makes it less backward than 1 - beta cos/3 alone (-1/9), by 10-25 %
    assert -0.111 < expected < -0.08


def test_elastic_electrons_follow_two_body_relation(module1):
    det, _ = module1
    ev, _, _ = sample(det, ["es_nue", "es_numu", "es_anumu", "es_nuebar"], 5_000, 55)
    E, T = ev["nu_energy_MeV"], ev["lepton_kinetic_MeV"]
    p = ev["fs_p_MeV"][:, 0]
    cos_from_momenta = np.einsum("ij,ij->i", p, ev["nu_dir"]) / np.linalg.norm(p, axis=1)
    analytic = (1 + c.M_E_MEV / E) * np.sqrt(T / (T + 2 * c.M_E_MEV))  # docs/physics.md §3 / xsec.electron
    assert np.allclose(cos_from_momenta, analytic, atol=1e-9)
    assert np.allclose(ev["lepton_cos_theta"], cos_from_momenta, atol=1e-9)
    assert cos_from_momenta.min() > 0  # strictly forward


def test_o16_cc_angle_is_tomas(module1):
    det, _ = module1
    ev, _, _ = sample(det, ["nue_o16_cc"], 200_000, 56)
    x = ((ev["nu_energy_MeV"] - 15.0) / 25.0) ** 4
    a = -(1 + x) / (3 + x)  # Tomas et al. hep-ph/0307050 (B7), docs/physics.md §3
    edges = np.linspace(-1, 1, 21)
    expected = np.array([linear_cos_bin_probability(a, lo, hi).sum() for lo, hi in pairwise(edges)])
    assert chi2_pvalue(np.histogram(ev["lepton_cos_theta"], edges)[0], expected) > P_MIN
    # one electron line per Nakazato group: E_e = E - E_g
    # (the model clips T at 0 where E - E_g < m_e, just above a group's onset)
    Ee = ev["lepton_kinetic_MeV"] + c.M_E_MEV
    Eg = ev["nu_energy_MeV"] - Ee
    groups = np.array([15.21, 22.47, 25.51, 29.35])
    on_line = np.min(np.abs(Eg[:, None] - groups), axis=1) < 1e-9
    clipped = (ev["lepton_kinetic_MeV"] == 0) & np.any(
        np.abs(ev["nu_energy_MeV"][:, None] - groups - 0.5) < 0.5, axis=1
    )
    assert np.all(on_line | clipped)
    assert clipped.mean() < 1e-3


def test_ibd_angle_and_exact_positron_energy(module1):
    det, _ = module1
    ev, _, _ = sample(det, ["ibd_h"], 100_000, 57)
    E = ev["nu_energy_MeV"]
    Ee0 = E - (c.M_N_MEV - c.M_P_MEV)
    a = (1 - 1.2754**2) / (1 + 3 * 1.2754**2) * np.sqrt(1 - (c.M_E_MEV / Ee0) ** 2)
    edges = np.linspace(-1, 1, 21)
    expected = np.array([linear_cos_bin_probability(a, lo, hi).sum() for lo, hi in pairwise(edges)])
    assert chi2_pvalue(np.histogram(ev["lepton_cos_theta"], edges)[0], expected) > P_MIN
    # neutron on shell; the positron is below E - Delta by the neutron recoil, <= 2 E^2 / m_p
    Te = ev["lepton_kinetic_MeV"]
    assert np.all(Te <= Ee0 - c.M_E_MEV + 1e-9)
    assert np.all(Ee0 - c.M_E_MEV - Te <= 2 * E**2 / c.M_P_MEV)


# ------------------------------------------------------------------------------------------------
# conservation, masses
# ------------------------------------------------------------------------------------------------
PDG_MASS = {
    11: c.M_E_MEV,
    -11: c.M_E_MEV,
    2212: c.M_P_MEV,
    2112: c.M_N_MEV,
    22: 0.0,
    12: 0.0,
    -12: 0.0,
    14: 0.0,
    -14: 0.0,
}


def test_energy_momentum_conserved_in_every_event(module1):
    """p_nu + p_target (at rest) = sum of the final state, every event of every channel, to rounding
    (the models neglect no recoil in the four-vectors: residual nuclei absorb it in their mass)."""
    det, _ = module1
    ev, sampler, _ = sample(det, ALL_CHANNELS, 3_000, 61)
    K = ev["fs_pdg"].shape[1]
    valid = np.arange(K)[None, :] < ev["fs_n"][:, None]
    E_in = ev["nu_energy_MeV"] + ev["target_mass_MeV"]
    p_in = ev["nu_dir"] * ev["nu_energy_MeV"][:, None]
    E_out = np.where(valid, ev["fs_E_MeV"], 0).sum(1)
    p_out = np.where(valid[:, :, None], ev["fs_p_MeV"], 0).sum(1)
    assert np.abs(E_out - E_in).max() < 1e-9 * E_in.max()
    assert np.abs(p_out - p_in).max() < 1e-9 * E_in.max()
    # every particle on its mass shell; leptons, nucleons and photons at their PDG masses
    E, p, m = ev["fs_E_MeV"][valid], ev["fs_p_MeV"][valid], ev["fs_mass_MeV"][valid]
    assert np.abs(E * E - np.einsum("ij,ij->i", p, p) - m * m).max() < 1e-9 * (E * E).max()
    codes = ev["fs_pdg"][valid]
    for code, mass in PDG_MASS.items():
        assert np.allclose(m[codes == code], mass, rtol=1e-12, atol=1e-12)
    # residual nuclei: excitation >= 0 relative to the ground state used as target (16O)
    o16 = codes == 1000080160
    assert np.all(m[o16] > M_O16_MEV - 1e-6) or not o16.any()
    # every channel produced its events
    assert set(np.unique(ev["channel_id"])) == set(range(len(sampler.channel_names)))


def test_neutrino_direction_points_from_source(tmp_path):
    text = load_detector("d2o-1t").toml_text.replace(
        'facility = "sns-fts"', 'facility = "sns-fts"\nsource_position_m = [3.0, -15.0, 2.0]'
    )
    p = tmp_path / "det.toml"
    p.write_text(text)
    det = load_detector(p)
    ev, _, _ = sample(det, ["nue_d_cc"], 2_000, 62)
    d = ev["vertex_cm"] - np.array([300.0, -1500.0, 200.0])
    d /= np.linalg.norm(d, axis=1)[:, None]
    assert np.allclose(ev["nu_dir"], d, atol=1e-12)
    default = load_detector("d2o-module1")
    ev, _, _ = sample(default, ["nue_d_cc"], 2_000, 63)
    d = ev["vertex_cm"] - np.array([-2000.0, 0.0, 0.0])
    assert np.allclose(ev["nu_dir"], d / np.linalg.norm(d, axis=1)[:, None], atol=1e-12)


# ------------------------------------------------------------------------------------------------
# counts, times, vertices
# ------------------------------------------------------------------------------------------------
def test_counts_per_channel_are_poisson_around_expectation(module1):
    det, res = module1
    plan = make_plan(det, SRC, ONE_YEAR, n_events=None, channels=None)
    mu = np.array([i.expected for i in plan.items])
    for item in plan.items:  # the expectation is the rate engine's
        assert item.expected == pytest.approx(res.channels[item.channel].interactions, rel=1e-12)
    counts = np.array([draw_counts(plan, np.random.Generator(np.random.PCG64(s)))[0] for s in range(2000)])
    # mean and variance of each channel's count over 2000 seeds: both mu (Poisson)
    se = np.sqrt(mu / counts.shape[0])
    assert np.all(np.abs(counts.mean(0) - mu) < 4.5 * se)
    big = mu > 20
    assert np.allclose(counts.var(0)[big] / mu[big], 1.0, atol=4.5 * math.sqrt(2 / counts.shape[0]))
    # one run: chi-square over channels with mu >= 5
    one = counts[0]
    chi2 = (((one - mu) ** 2 / mu)[mu >= 5]).sum()
    assert stats.chi2.sf(chi2, int((mu >= 5).sum())) > P_MIN


def test_times_follow_the_timing_model(module1):
    det, _ = module1
    ev, _, _ = sample(det, ["nue_d_cc", "es_numu"], 100_000, 72)
    timing = SRC.timing
    edges = np.concatenate([[-1e9], np.linspace(-200, 12_000, 62), [1e12]])
    for pdg, flavour in ((12, "nu_e"), (14, "nu_mu")):
        t = ev["time_ns"][ev["nu_pdg"] == pdg]
        expected = timing.bin_fractions(flavour, edges) * t.size
        assert chi2_pvalue(np.histogram(t, edges)[0], expected) > P_MIN


def test_vertices_uniform_in_hollow_cylinder():
    g = load_detector("d2o-module1").regions[2].geometry  # light water around the acrylic vessel
    R, H, ri, hi = g.radius_cm, g.height_cm, g.inner_radius_cm, g.inner_height_cm
    n = 300_000
    v = sample_vertices(g, n, np.random.default_rng(81))
    assert inside(g, v).all()
    r2 = v[:, 0] ** 2 + v[:, 1] ** 2
    z = v[:, 2] - g.center_cm[2]
    V = math.pi * (R * R * H - ri * ri * hi)
    # z: cross-section pi (R^2 - ri^2) inside the inner height, pi R^2 outside
    ze = np.linspace(-H / 2, H / 2, 41)
    area = lambda zz: math.pi * (R * R - (ri * ri if abs(zz) < hi / 2 else 0.0))  # noqa: E731
    expected = np.array([integrate.quad(area, a, b, points=[-hi / 2, hi / 2], limit=200)[0] for a, b in pairwise(ze)])
    assert chi2_pvalue(np.histogram(z, ze)[0], expected / V * n) > P_MIN
    # r^2: height H - hi below ri, H above
    re = np.linspace(0, R * R, 41)
    length = lambda s: (H - hi) if s < ri * ri else H  # noqa: E731
    expected = np.array([integrate.quad(length, a, b, points=[ri * ri], limit=200)[0] for a, b in pairwise(re)])
    assert chi2_pvalue(np.histogram(r2, re)[0], expected * math.pi / V * n) > P_MIN


def test_vertices_uniform_in_box(tmp_path):
    # replace the geometry line whatever its numbers (issue 8 resized the d2o-1t cylinder to hold 1000 kg)
    box = 'geometry = { shape = "box", size_cm = [75.0, 100.0, 120.0], center_cm = [10.0, -5.0, 3.0] }\n'
    text = "".join(
        box if line.startswith("geometry") else line
        for line in load_detector("d2o-1t").toml_text.splitlines(keepends=True)
    )
    p = tmp_path / "box.toml"
    p.write_text(text)
    g = load_detector(p).regions[0].geometry
    assert g.shape == "box"
    n = 200_000
    v = sample_vertices(g, n, np.random.default_rng(82))
    assert inside(g, v).all()
    for k in range(3):
        lo = g.center_cm[k] - g.size_cm[k] / 2
        edges = np.linspace(lo, lo + g.size_cm[k], 31)
        assert chi2_pvalue(np.histogram(v[:, k], edges)[0], np.full(30, n / 30)) > P_MIN


def test_d2o_vertices_in_vessel(module1):
    det, _ = module1
    ev, _, _ = sample(det, ["nue_d_cc", "nue_o16_cc"], 20_000, 83)
    for r, region in enumerate(det.regions):
        sel = ev["region_id"] == r
        if sel.any():
            assert inside(region.geometry, ev["vertex_cm"][sel]).all()
    assert set(np.unique(ev["region_id"][ev["channel_id"] == 0])) == {0}  # CC on d only in heavy water


def test_flux_table_source(tmp_path):
    """With a tabulated flux (here with a tail to 70 MeV, beyond the Michel end point) the generator samples
    the table x sigma and its kinematics tables cover the whole range: E_nu against direct quadrature of the
    interpolated table x sigma, T against the rate engine run on the same source."""
    E = np.linspace(0.0, 70.0, 141)
    michel = np.where(E < c.E_MICHEL_MAX_MEV, spectrum_pdf("nu_e", E), 0.0)
    nu_e = michel + 2e-3 * np.exp(-E / 15.0) * (E > 5)  # a decay-in-flight-like tail
    nu_mu = np.exp(-0.5 * ((E - 29.8) / 2.0) ** 2)
    anti = np.where(E < c.E_MICHEL_MAX_MEV, spectrum_pdf("anti_nu_mu", E), 0.0)
    p = tmp_path / "flux.csv"
    p.write_text(
        "E_MeV,nu_mu,nu_e,anti_nu_mu\n"
        + "".join(f"{a},{b},{cc},{d}\n" for a, b, cc, d in zip(E, nu_mu, nu_e, anti, strict=True))
    )
    from d2oflux.source import FluxTable

    src = Source(FAC, flux_table=FluxTable.read(p))
    det = load_detector("d2o-module1")
    res = expect(det, src, ONE_YEAR)
    n = 200_000
    plan = make_plan(det, src, None, n_events=n, channels=["nue_d_cc", "es_numu"], per_channel=True)
    rng = np.random.Generator(np.random.PCG64(91))
    _, n_comp, w = draw_counts(plan, rng)
    ev = ChunkSampler(plan, w).chunk(n_comp, 0, rng)
    cc = ev["channel_id"] == 0
    assert ev["nu_energy_MeV"][cc].max() > 60.0
    (xs,) = [x for x in cross_sections_for_target("deuteron", ("nu_e",)) if x.name == "nue_d_cc"]
    edges = np.arange(0.0, 71.0, 2.0)
    f = lambda e: np.interp(e, E, nu_e) * xs.sigma(e)  # noqa: E731
    expected = np.array([integrate.quad(f, a, b)[0] for a, b in pairwise(edges)])
    observed = np.histogram(ev["nu_energy_MeV"][cc], edges)[0]
    assert chi2_pvalue(observed, expected / expected.sum() * cc.sum()) > P_MIN
    h = res.channels["nue_d_cc"].visible_energy
    obs_T = np.histogram(ev["lepton_kinetic_MeV"][cc], h.axes[0].edges)[0]
    assert chi2_pvalue(obs_T, h.values() / res.channels["nue_d_cc"].interactions * cc.sum()) > P_MIN
    # nu_mu is tabulated now: a spread, not the line
    assert np.std(ev["nu_energy_MeV"][~cc]) > 1.0


def test_flux_table_without_anti_nue_keeps_the_michel_mu_minus_dar(tmp_path, module1):
    """A flux table without an ``anti_nu_e`` column leaves the mu- DAR anti-nu_e their Michel (nu_e) shape
    (:class:`d2oflux.spectra.FluxTable`), in the generator as in the rate engine: the anti-nu_e events are
    those of the analytic source (same seed, same events), not an error."""
    from d2oflux.source import FluxTable

    E = np.linspace(0.0, c.E_MICHEL_MAX_MEV, 106)
    nu_mu = np.exp(-0.5 * ((E - 29.8) / 2.0) ** 2)
    p = tmp_path / "flux.csv"
    p.write_text(
        "E_MeV,nu_mu,nu_e,anti_nu_mu\n"
        + "".join(
            f"{a},{b},{x},{y}\n"
            for a, b, x, y in zip(E, nu_mu, spectrum_pdf("nu_e", E), spectrum_pdf("anti_nu_mu", E), strict=True)
        )
    )
    det, _ = module1
    tabulated = Source(FAC, include_mu_minus_dar=True, flux_table=FluxTable.read(p))
    assert expect(det, tabulated, ONE_YEAR).channels["ibd_h"].interactions > 0
    events = []
    for src in (SRC, tabulated):
        plan = make_plan(det, src, None, n_events=2000, channels=["ibd_h"], per_channel=True)
        rng = np.random.Generator(np.random.PCG64(17))
        _, n_comp, w = draw_counts(plan, rng)
        events.append(ChunkSampler(plan, w).chunk(n_comp, 0, rng))
    for name in ("nu_energy_MeV", "lepton_kinetic_MeV", "lepton_cos_theta"):
        np.testing.assert_array_equal(events[1][name], events[0][name], err_msg=name)
