"""The per-channel cache of cross-section objects (:meth:`d2oflux.xsec.channel.Channel.cross_section`) is
bounded by :data:`~d2oflux.xsec.channel.CHANNEL_CACHE_SIZE` (least recently used dropped first), a hit returns
the very object built before, and an object rebuilt after eviction gives the same numbers (second method: the
object built before it was dropped)."""

from dataclasses import replace

import numpy as np

from d2oflux.xsec.channel import CHANNEL_CACHE_SIZE, get_channel

E_MEV = np.linspace(3.0, 55.0, 27)


def fresh_channel(name: str, counter: list | None = None):
    """A copy of a registered channel with an empty cache; ``counter`` collects one entry per object built."""
    channel = get_channel(name)
    if counter is None:
        return replace(channel)
    factory = channel.factory

    def counting_factory(*args, **kwargs):
        counter.append(args)
        return factory(*args, **kwargs)

    return replace(channel, factory=counting_factory)


def test_cache_is_bounded_and_keeps_the_most_recently_used():
    built: list = []
    nc = fresh_channel("nc_d", built)
    probabilities = np.linspace(0.0, 1.0, 3 * CHANNEL_CACHE_SIZE)
    first = nc.cross_section("nu_e", capture_probability=float(probabilities[0]))
    for p in probabilities[1:]:
        nc.cross_section("nu_e", capture_probability=float(p))
        nc.cross_section("nu_e", capture_probability=float(probabilities[0]))  # used again: kept
        assert len(nc._cache) <= CHANNEL_CACHE_SIZE
    assert len(nc._cache) == CHANNEL_CACHE_SIZE
    assert len(built) == len(probabilities)  # every other call was a hit
    assert nc.cross_section("nu_e", capture_probability=float(probabilities[0])) is first
    assert len(built) == len(probabilities)


def test_hit_is_the_same_object_and_eviction_changes_no_result():
    built: list = []
    cc = fresh_channel("nue_d_cc", built)
    xs = cc.cross_section("nu_e")
    assert cc.cross_section("nu_e") is xs
    assert len(built) == 1
    before = xs.sigma(E_MEV)
    for i in range(CHANNEL_CACHE_SIZE):  # fill the cache with other keys (an unused option) to drop the first
        cc._cache[("nu_e", None, (("filler", i),))] = xs
    cc.cross_section("nu_e", radiative_correction=False)
    assert ("nu_e", None, ()) not in cc._cache
    rebuilt = cc.cross_section("nu_e")
    assert len(built) == 3
    assert rebuilt is not xs
    assert np.array_equal(rebuilt.sigma(E_MEV), before)
    assert cc.cross_section("nu_e") is rebuilt
