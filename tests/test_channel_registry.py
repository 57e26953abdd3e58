"""The channel registry: every consumer iterates it, and a reaction added from outside the package (here a
toy one, registered by this test and removed afterwards) reaches the rate engine, the likelihood and the
event generator without touching them."""

import numpy as np
import pytest

from d2oflux import plots
from d2oflux.analysis.model import build_model
from d2oflux.detector import load_detector
from d2oflux.generate import generate, read_events
from d2oflux.generate.kinematics import (
    ChannelModel,
    FinalState,
    register_kinematics,
    registered_kinematics,
    unregister_kinematics,
)
from d2oflux.rates import expect
from d2oflux.source import Exposure, Source, load_facility
from d2oflux.xsec import (
    SUPPORTED_FLAVOURS,
    Channel,
    CrossSection,
    cross_sections_for_target,
    get_channel,
    register_channel,
    registered_channels,
    unregister_channel,
)
from d2oflux.xsec.base import delta_spectrum

TOY = "toy_o16_gamma"
SIGMA0_CM2 = 1e-41  # toy: constant above threshold
THRESHOLD_MEV = 15.0
GAMMA_MEV = 6.0


class ToyCrossSection(CrossSection):
    """nu_mu 16O -> nu_mu 16O + gamma (6 MeV), sigma = 1e-41 cm^2 above 15 MeV: a toy, not physics."""

    def __init__(self, flavour: str) -> None:
        self.name, self.flavour, self.target = TOY, flavour, "o16"
        self.threshold_MeV, self.rel_uncertainty = THRESHOLD_MEV, 0.1
        self.citation, self.visible_particle = "toy reaction of tests/test_channel_registry.py", "gamma"

    def _sigma(self, E):
        return np.where(E >= THRESHOLD_MEV, SIGMA0_CM2, 0.0)

    def _visible_spectrum(self, E, edges):
        return delta_spectrum(E.size, edges, GAMMA_MEV)


class ToyKinematics(ChannelModel):
    """The neutrino goes on forward with E - 6 MeV, the gamma forward with 6 MeV: p and E conserved."""

    K = 2

    def final_state(self, E, flavour, d, rng):
        n = E.shape[0]
        pdg = np.tile(np.array([14, 22], dtype=np.int32), (n, 1))
        En = np.stack([E - GAMMA_MEV, np.full(n, GAMMA_MEV)], axis=1)
        p = En[:, :, None] * d[:, None, :]
        tp, tm = self._target_arrays(flavour, n)
        return FinalState(pdg, p, En, np.zeros((n, 2)), np.full(n, 2), E - GAMMA_MEV, np.ones(n), tp, tm)


@pytest.fixture
def toy_channel():
    channel = register_channel(
        Channel(
            name=TOY,
            target="o16",
            flavours=("nu_mu",),
            factory=lambda flavour, o16_model, **options: ToyCrossSection(flavour, **options),
            final_state="nu_mu 16O -> nu_mu 16O gamma (toy)",
            process_id=799,
            label="toy",
            plot_group="reactions on 16O",
        )
    )
    register_kinematics(TOY, ToyKinematics)
    try:
        yield channel
    finally:
        unregister_kinematics(TOY)
        unregister_channel(TOY)


def test_registry_is_complete_and_consistent():
    chans = registered_channels()
    assert {"nue_d_cc", "nuebar_d_cc", "nc_d", "nue_o16_cc", "nuebar_o16_cc", "nc_o16", "ibd_h"} <= set(chans)
    assert {f"es_{s}" for s in ("nue", "nuebar", "numu", "anumu")} <= set(chans)
    ids = [c.process_id for c in chans.values()]
    assert len(ids) == len(set(ids)), "process IDs must be unique"
    for name, ch in chans.items():
        assert set(ch.flavours) <= set(SUPPORTED_FLAVOURS)
        assert name in registered_kinematics(), f"{name}: the generator has no kinematics"
        assert ch.plot_group in (*plots.FAMILY_NAMES,), name
        for fl in ch.flavours:
            xs = ch.cross_section(fl)
            assert (xs.name, xs.flavour, xs.target) == (name, fl, ch.target)
    # every non-CEvNS reaction has a figure label taken from its channel
    assert plots.CHANNEL_LABEL["nue_d_cc"] == chans["nue_d_cc"].label
    assert plots.family_of("nc_o16") == "reactions on 16O"


def test_registry_hands_out_immutable_objects():
    xs = cross_sections_for_target("deuteron", "nu_e")[0]
    with pytest.raises(AttributeError):
        xs.threshold_MeV = 0.0
    assert cross_sections_for_target("deuteron", "nu_e")[0] is xs  # cached, safe because immutable


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_channel(get_channel("nc_d"))


def test_toy_reaction_reaches_rates_workspace_and_generator(toy_channel, tmp_path):
    fac = load_facility("sns-fts")
    det = load_detector("d2o-module1")
    src = Source(fac, include_mu_minus_dar=True)
    exposure = Exposure.from_years(fac, 1.0)

    # rates: N = sum over regions of N_16O x sigma0 x fluence(nu_mu) (the prompt nu_mu line, 29.8 MeV > 15 MeV)
    res = expect(det, src, exposure)
    assert TOY in res.channels
    fluence = res.fluence_per_cm2["nu_mu"]
    n_o16 = sum(r.targets().get("o16", 0.0) for r in det.regions)
    np.testing.assert_allclose(res.channels[TOY].interactions, n_o16 * SIGMA0_CM2 * fluence, rtol=1e-9)

    # the workspace: a sample with its own cross-section nuisance of rel_uncertainty x other_cross_sections
    model = build_model(det, src, exposure)
    beam = next(c for c in model.workspace["channels"] if c["name"] == "beam")
    sample = next(s for s in beam["samples"] if s["name"] == TOY)
    assert any(m["name"] == f"xsec_{TOY}" for m in sample["modifiers"])

    # the generator: its process ID, its kinematics, its events
    out = tmp_path / "toy.parquet"
    generate(det, src, None, n_events=20, per_channel=True, channels=[TOY], seed=1, output=out, progress=False)
    ev = read_events(out)
    assert len(ev["event_id"]) == 20
    assert set(np.asarray(ev["channel"])) == {TOY}
    assert set(np.asarray(ev["process_id"])) == {799}


def test_unregistered_toy_is_gone():
    assert TOY not in registered_channels()
    assert all(x.name != TOY for x in cross_sections_for_target("o16", "nu_mu"))


def test_public_methods_check_arguments_and_apply_the_threshold():
    """The template of CrossSection: subclasses implement _sigma/_visible_spectrum only (analytic toy)."""
    xs = ToyCrossSection("nu_mu")
    np.testing.assert_array_equal(xs.sigma([10.0, 15.0, 20.0]), [0.0, 0.0, SIGMA0_CM2])
    assert xs.sigma(20.0) == SIGMA0_CM2  # a scalar in, a scalar out
    vis = xs.visible_spectrum([10.0, 20.0], [0.0, 5.0, 10.0])
    np.testing.assert_array_equal(vis, [[0.0, 0.0], [0.0, 1.0]])  # below threshold: no row
    with pytest.raises(ValueError, match="NaN"):
        xs.sigma([np.nan])
    with pytest.raises(ValueError, match="T_edges_MeV"):
        xs.visible_spectrum([20.0], [1.0, 0.0])


def test_immutable_objects_still_copy_and_pickle():
    import copy
    import pickle

    xs = cross_sections_for_target("electron", "nu_e")[0]
    for clone in (pickle.loads(pickle.dumps(xs)), copy.deepcopy(xs)):
        np.testing.assert_array_equal(clone.sigma([10.0, 30.0]), xs.sigma([10.0, 30.0]))
        with pytest.raises(AttributeError):
            clone.name = "other"
