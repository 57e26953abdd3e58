"""Backgrounds that are not neutrino-induced, as histograms on the same axes as the signal.

* Steady state (cosmic muons and their Michel electrons missed by the veto, radioactivity): uncorrelated
  with the beam, flat in time; in the beam window its count is rate x (window length x spills), and the
  off-beam (anti-coincidence) sideband sees the same spectrum times the live-time ratio. docs/physics.md §7.
* Beam-related neutrons: prompt (the POT profile, delayed), low energy (falling exponential).

The neutrino-induced backgrounds (16O CC and NC, elastic scattering, IBD, NC on d) come from the rate
engine (:mod:`d2oflux.rates`). Every default lives in :class:`d2oflux.detector.BackgroundConfig` and is
an assumption.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .rates import Expectation


@dataclass(frozen=True)
class BackgroundHistograms:
    """Counts per (reconstructed energy bin, time bin) over the full axes of an :class:`Expectation`.

    Attributes
    ----------
    steady_state_on : array
        Steady-state counts in the beam windows.
    steady_state_off : array
        Steady-state counts in the off-beam sideband (``ratio`` x the on-beam ones).
    beam_neutrons : array
        Beam-related neutron counts in the beam windows.
    beam_live_time_s : float
        Total live time of the beam windows (window length x number of spills) [s].
    """

    steady_state_on: np.ndarray
    steady_state_off: np.ndarray
    beam_neutrons: np.ndarray
    beam_live_time_s: float


def nd_capture_probability(detector) -> float:
    """Probability that an NC-on-d neutron is captured on a deuteron in ``detector``.

    ``[backgrounds] nd_capture_probability`` if set, else the age-diffusion estimate over the D2O geometry
    (:func:`d2oflux.neutron_capture.detector_capture_fractions`; d2o-module1: 0.008).
    """
    from .neutron_capture import detector_capture_fractions

    given = detector.config.backgrounds.nd_capture_probability
    if given is not None:
        return float(given)
    return float(round(detector_capture_fractions(detector).d, 6))


def beam_seconds(expectation: Expectation) -> float:
    """Seconds of beam for the exposure (at the facility's nominal power and energy)."""
    fac = expectation.source.facility
    return expectation.exposure.years * fac.hours_per_year * 3600.0


def background_histograms(expectation: Expectation) -> BackgroundHistograms:
    """Steady-state (beam window and sideband) and beam-neutron histograms for an expectation."""
    det = expectation.detector
    cfg = det.config.backgrounds
    fac = expectation.source.facility
    e_edges = expectation.response.reco_edges_MeV
    t_edges = det.time_edges_ns
    spills = fac.repetition_rate_Hz * beam_seconds(expectation)
    dE = np.diff(e_edges)
    dt_s = np.diff(t_edges) * 1e-9
    on = cfg.steady_state_rate_per_MeV_s * np.outer(dE, dt_s) * spills
    e_slice, t_slice = expectation.window_slices()

    # beam neutrons: exp(-E/slope) in energy, POT profile (+ delay) in time, normalised in the window
    e_cdf = -np.exp(-np.clip(e_edges, 0, None) / cfg.beam_neutron_slope_MeV)
    e_shape = np.diff(e_cdf)
    timing = expectation.source.timing
    # the normal CDF of the delayed POT pulse (scipy.special: the rate engine does not import scipy.stats)
    t_shape = np.diff(ndtr((t_edges - (timing.pot_mean_ns + cfg.beam_neutron_delay_ns)) / timing.pot_sigma_ns))
    shape = np.outer(e_shape, t_shape)
    in_window = shape[e_slice, t_slice].sum()
    neutrons = np.zeros_like(shape)
    if in_window > 0:
        neutrons = shape * (cfg.beam_neutrons_per_year * expectation.exposure.years / in_window)
    live = float(np.sum(dt_s[t_slice]) * spills)
    return BackgroundHistograms(on, on * cfg.sideband_livetime_ratio, neutrons, live)
