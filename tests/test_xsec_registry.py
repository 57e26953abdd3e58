"""The cross-section registry, interface properties shared by all channels, and speed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from d2oflux.xsec import SUPPORTED_FLAVOURS, available_channels, cross_sections_for_target
from d2oflux.xsec.base import CrossSection

TARGETS = ("deuteron", "o16", "electron", "proton", "nucleus:Cs", "nucleus:Ar", "nucleus:Ge", "nucleus:O")


def all_channels(o16_model: str = "kolbe") -> list[CrossSection]:
    return [x for t in TARGETS for x in cross_sections_for_target(t, SUPPORTED_FLAVOURS, o16_model=o16_model)]


def test_deuteron_reactions():
    xs = cross_sections_for_target("deuteron", ["nu_e", "nu_mu", "anti_nu_mu"])
    assert [(x.name, x.flavour) for x in xs] == [
        ("nue_d_cc", "nu_e"),
        ("nc_d", "nu_e"),
        ("nc_d", "nu_mu"),
        ("nc_d", "anti_nu_mu"),
    ]
    assert all(x.target == "deuteron" for x in xs)
    names = [x.name for x in cross_sections_for_target("deuteron", SUPPORTED_FLAVOURS)]
    assert names.count("nuebar_d_cc") == 1 and names.count("nc_d") == 4


def test_other_targets():
    o = cross_sections_for_target("o16", ["nu_e"], o16_model="nakazato")
    assert [x.name for x in o] == ["nue_o16_cc", "nc_o16"] and o[0].model == "nakazato"
    assert [x.name for x in cross_sections_for_target("electron", SUPPORTED_FLAVOURS)] == [
        "es_nue",
        "es_nuebar",
        "es_numu",
        "es_anumu",
    ]
    assert [x.name for x in cross_sections_for_target("proton", SUPPORTED_FLAVOURS)] == ["ibd_h"]
    assert cross_sections_for_target("proton", ["nu_e", "nu_mu"]) == []
    cs = cross_sections_for_target("nucleus:Cs", "anti_nu_mu")
    assert [(x.name, x.target) for x in cs] == [("cevns_Cs", "nucleus:Cs")]
    ch = available_channels()
    for name in (
        "nue_d_cc",
        "nc_d",
        "nuebar_d_cc",
        "nue_o16_cc",
        "nc_o16",
        "nuebar_o16_cc",
        "es_nue",
        "ibd_h",
        "cevns_Ar",
    ):
        assert name in ch
    assert ch["ibd_h"] == {"target": "proton", "flavours": ("anti_nu_e",)}


def test_options_and_errors():
    (nc,) = cross_sections_for_target("deuteron", ["nu_mu"], options={"nc_d": {"capture_probability": 0.14}})
    assert nc.capture_probability == 0.14
    with pytest.raises(ValueError, match="unknown target 'water'"):
        cross_sections_for_target("water", ["nu_e"])
    with pytest.raises(ValueError, match="unknown nucleus 'Qq'"):
        cross_sections_for_target("nucleus:Qq", ["nu_e"])
    with pytest.raises(ValueError, match="flavour 'nu_x' not supported"):
        cross_sections_for_target("deuteron", ["nu_x"])
    with pytest.raises(ValueError, match="o16_model"):
        cross_sections_for_target("o16", ["nu_e"], o16_model="suzuki")
    with pytest.raises(ValueError, match="unknown channels: nc_x"):
        cross_sections_for_target("deuteron", ["nu_e"], options={"nc_x": {}})


@pytest.mark.parametrize("model", ["kolbe", "nakazato"])
def test_interface_attributes(model):
    for x in all_channels(model):
        assert isinstance(x, CrossSection)
        assert x.visible_particle in ("electron", "positron", "gamma", "nuclear_recoil")
        assert 0 < x.rel_uncertainty < 1 and x.citation and x.threshold_MeV >= 0
        assert x.sigma(np.array([0.1])).shape == (1,)
        assert np.all(x.sigma([0.0, x.threshold_MeV]) == 0.0)
        with pytest.raises(ValueError, match=r"NaN"):
            x.sigma([np.nan])


@settings(max_examples=25, deadline=None)
@given(
    E=st.lists(st.floats(0.0, 60.0), min_size=1, max_size=5),
    edges=st.lists(st.floats(-1.0, 70.0), min_size=2, max_size=30, unique=True),
)
def test_visible_spectrum_properties(E, edges):
    edges = np.sort(np.asarray(edges))
    if np.min(np.diff(edges)) <= 1e-9:
        return
    for x in all_channels():
        P = x.visible_spectrum(np.asarray(E), edges)
        assert P.shape == (len(E), edges.size - 1)
        assert np.all(P >= 0.0) and np.all(P.sum(axis=1) <= 1.0 + 1e-9)
        assert np.all(P[np.asarray(E) <= x.threshold_MeV] == 0.0)
