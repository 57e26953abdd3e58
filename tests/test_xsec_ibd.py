"""Inverse beta decay (Strumia-Vissani 2003 eq. 25)."""

from __future__ import annotations

import numpy as np
import pytest

from d2oflux.xsec.ibd import IBD_THRESHOLD_MEV, InverseBetaDecay


def test_reference_value():
    # docs/physics.md §3: 6.30e-41 cm^2 at 30 MeV (3 digits: 0.1 %).
    assert InverseBetaDecay().sigma(30.0) == pytest.approx(6.30e-41, rel=1.5e-3)


def test_threshold_and_visible():
    x = InverseBetaDecay()
    assert IBD_THRESHOLD_MEV == pytest.approx(1.806, abs=1e-3)
    assert x.sigma(1.8) == 0.0 and x.sigma(1.9) > 0
    assert x.name == "ibd_h" and x.target == "proton" and x.flavour == "anti_nu_e"
    P = x.visible_spectrum([1.0, 30.0], np.arange(0, 31.0))
    np.testing.assert_array_equal(P.sum(axis=1), [0.0, 1.0])
    assert P[1, 28] == 1.0  # T = 30 - 1.293 - 0.511 = 28.196
    with pytest.raises(ValueError, match="ibd_h: neutrino energy 400 MeV is above"):
        x.sigma(400.0)
