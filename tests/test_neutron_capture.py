"""Neutron capture after NC on d: the age-diffusion model against closed forms and published numbers."""

from __future__ import annotations

import math

import pytest

from d2oflux.detector import load_detector
from d2oflux.neutron_capture import (
    capture_fractions,
    detector_capture_fractions,
    diffusion_length_cm,
    infinite_cylinder_absorbed,
    macroscopic_absorption,
    sphere_absorbed,
    water_albedo,
)


def test_infinite_medium_branching_is_the_absorption_ratio():
    # a huge sphere: nothing leaks, captures split as Sigma_i / Sigma_a (exact)
    f = capture_fractions("sphere", (1e6,), 0.999, fermi_age_cm2=0.0)
    sig = macroscopic_absorption(0.999)
    tot = sum(sig.values())
    assert f.escape == pytest.approx(0.0, abs=1e-3)
    assert f.d == pytest.approx(sig["d"] / tot, rel=2e-3)
    assert f.d + f.H + f.O + f.escape == pytest.approx(1.0, abs=1e-12)


def test_diffusion_length_of_heavy_water():
    # sqrt(D / Sigma_a) with D = 0.87 cm: ~1.2 m at 99.9 % D; Lamarsh & Baratta quote ~1 m for reactor-grade
    # D2O (99.75 %); 10 % tolerance covers the purity difference
    assert diffusion_length_cm(0.9975) == pytest.approx(100.0, rel=0.1)
    assert 110 < diffusion_length_cm(0.999) < 125


@pytest.mark.parametrize("R", [30.0, 100.0, 600.0])
def test_sphere_against_closed_form(R):
    # zero flux on the surface, thermal source: eigenmode sum vs 1 - 3 (L/R)[coth(R/L) - L/R]
    f = capture_fractions("sphere", (R,), 0.999, fermi_age_cm2=0.0, extrapolation_cm=0.0)
    assert 1 - f.escape == pytest.approx(sphere_absorbed(R, f.diffusion_length_cm), rel=2e-3)


def test_long_cylinder_against_closed_form():
    # a 1 km long cylinder is an infinite one: 1 - 2 (L/R) I1(R/L) / I0(R/L)
    f = capture_fractions("cylinder", (50.0, 1e5), 0.999, fermi_age_cm2=0.0, extrapolation_cm=0.0, n_modes=600)
    assert 1 - f.escape == pytest.approx(infinite_cylinder_absorbed(50.0, f.diffusion_length_cm), rel=5e-3)


def test_sno_pure_d2o_phase():
    # SNO phase I: 1000 t of 99.92 % D2O in a 6.0 m radius sphere inside light water. SNO quotes a neutron
    # capture efficiency on d of ~30 % for NC neutrons uniform in the D2O (29.9 %, SNO Phase I long paper,
    # Aharmim et al., PRC 75, 045502 (2007), nucl-ex/0610020 -- value as recalled, not re-read here).
    # Tolerance 15 %: one-group diffusion, the acrylic vessel and the water albedo are approximations.
    f = capture_fractions("sphere", (600.0,), 0.9992, water_albedo())
    assert f.d == pytest.approx(0.299, rel=0.15)


def test_module_capture_on_d_is_about_one_percent():
    # d2o-module1 (70 x 140 cm, L ~ 1.2 m >> the vessel): most neutrons leave the D2O; the thermal-diffusion
    # expectation of issue 8 is ~0.01 -- accept a factor 2 either way
    f = detector_capture_fractions(load_detector("d2o-module1"))
    assert 0.005 < f.d < 0.02
    assert f.escape > 0.95
    # the light-water buffer reflects (albedo 0.80): more captures than in a bare vessel
    bare = capture_fractions("cylinder", (35.0, 140.0), 0.999, 0.0)
    assert f.d > 1.5 * bare.d
    assert water_albedo() == pytest.approx((1 - 2 * 0.16 / 2.85) / (1 + 2 * 0.16 / 2.85))


def test_bad_arguments():
    with pytest.raises(ValueError, match="albedo"):
        capture_fractions("sphere", (10.0,), 0.999, 1.0)
    with pytest.raises(ValueError, match="shape"):
        capture_fractions("cone", (10.0,), 0.999)
    assert math.isnan(detector_capture_fractions(load_detector("csi")).diffusion_length_cm)
