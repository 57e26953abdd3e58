"""The published projections, reproduced with the systematics profile behind them (issue 8)."""

from __future__ import annotations

import pytest

from d2oflux.analysis.model import build_model
from d2oflux.analysis.sensitivity import REFERENCES, sensitivity
from d2oflux.setup import build_setup


@pytest.fixture(scope="module")
def poster():
    det, src, exp = build_setup("d2o-1t", 1.0, None, None, None, None, True)
    model = build_model(det, src, exp, systematics="theory-only")
    return model, sensitivity(model, [2.0])


def test_poster_configuration(poster):
    _, sens = poster
    ref = next(r for r in REFERENCES if r["detector"] == "d2o-1t")
    # the poster: 2 x 930 signal events in two years
    assert 2 * sens.events_per_year["nue_d_cc"] == pytest.approx(2 * 930, rel=0.03)
    # 2.3 % counting statistics: the "all nuisances fixed" figure (backgrounds act as flux probes, <= 1/sqrt N)
    assert sens.stat_only[0] == pytest.approx(0.023, abs=0.001)
    # ~3.5 % in total with 2-3 % theory; our 3 % cross section plus the 1 % radiative-correction nuisance give
    # 3.7 %: tolerance +-0.5 % (the poster's theory term is "2-3 %": sqrt(2.3^2 + 2^2) = 3.0, + 3^2 -> 3.8)
    assert sens.total[0] == pytest.approx(ref["relative_uncertainty"], abs=0.005)
    assert set(sens.impacts) == {"xsec_nud", "xsec_nud_radiative"}


def test_signal_only_is_not_below_counting_statistics(poster):
    _, sens = poster
    n = 2 * sens.events_per_year["nue_d_cc"]
    assert sens.stat_signal_only[0] >= (1 / n) ** 0.5 * 0.999
    assert sens.stat_signal_only[0] > sens.stat_only[0]
