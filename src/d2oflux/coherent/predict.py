"""Predicted CEvNS counts of a data set on its analysis axes (energy [PE or keVee], F90, time [us]).

    N(bin) = sum_flavours sum_nuclei N_nuclei Phi_f  int dE f_f(E) int dT dsigma/dT(E, T) P(energy bin | T)
             x P(time bin | flavour) [x P(F90 bin | energy bin)]

* Phi_f = r N_POT / (4 pi L^2) per flavour (pi+ decay at rest: nu_mu, nu_e, anti-nu_mu), r the neutrinos per
  proton per flavour of the data set, L the detector's distance;
* f_f: the piDAR spectra and d sigma/dT the CEvNS cross section of :mod:`d2oflux.xsec.cevns` with the data set's
  form factor, folded into recoil bins of 0.1-0.5 keVnr;
* P(energy bin | T): the response chain (:meth:`d2oflux.coherent.response.ResponseChain.matrix`);
* P(time bin | flavour): the arrival-time model (:class:`d2oflux.source.TimingModel`, exponentially modified
  Gaussians) with the data set's POT mean and width, times the time acceptance, integrated on 5 ns steps;
* P(F90 | energy): the data set's pulse-shape table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..constants import E_MICHEL_MAX_MEV, E_NUMU_PROMPT_MEV
from ..detector import load_detector
from ..source import PIDAR_FLAVOURS
from ..spectra import spectrum_nodes
from ..timing import TimingModel
from ..xsec.cevns import CEvNSCrossSection
from .dataset import Dataset, cell_widths
from .response import ResponseChain, subdivide

#: Number of recoil-energy bins from 0 to the largest recoil energy of the data set's nuclei.
N_RECOIL_BINS = 300
#: Longest step [us] of the arrival-time integration (5 ns; the POT pulse is 150 ns wide).
TIME_STEP_US = 0.005


@dataclass(frozen=True)
class RecoilSpectra:
    """CEvNS interactions per recoil-energy bin [keVnr], per flavour, for the data set's exposure."""

    edges_keVnr: np.ndarray
    per_flavour: dict[str, np.ndarray]

    @property
    def interactions(self) -> float:
        return float(sum(v.sum() for v in self.per_flavour.values()))


def recoil_spectra(ds: Dataset, form_factor: str | None = None) -> RecoilSpectra:
    """Interactions per recoil bin and flavour (no detector response)."""
    cfg = ds.config
    return _recoil_spectra_cached(
        cfg.detector, form_factor or cfg.form_factor, cfg.exposure.protons_on_target, cfg.exposure.nu_per_proton
    )


@lru_cache(maxsize=16)
def _recoil_spectra_cached(detector: str, form_factor: str, pot: float, nu_per_proton: float) -> RecoilSpectra:
    targets, fluence = _targets_and_fluence(detector, pot, nu_per_proton)
    xsecs = {sym: CEvNSCrossSection(sym, form_factor=form_factor) for sym in targets}
    e_max = max(E_MICHEL_MAX_MEV, E_NUMU_PROMPT_MEV)
    t_max_MeV = max(float(xs.recoil_T_max(e_max)) for xs in xsecs.values())
    edges_MeV = np.linspace(0.0, t_max_MeV * 1.0001, N_RECOIL_BINS + 1)
    per_flavour = {}
    for f in PIDAR_FLAVOURS:
        E, w = spectrum_nodes(f)
        total = np.zeros(N_RECOIL_BINS)
        for sym, xs in xsecs.items():
            sigma_w = xs.sigma(E) * w
            total += targets[sym] * fluence * (sigma_w @ xs.visible_spectrum(E, edges_MeV))
        per_flavour[f] = total
    return RecoilSpectra(edges_MeV * 1e3, per_flavour)


def _targets_and_fluence(detector: str, pot: float, nu_per_proton: float) -> tuple[dict[str, float], float]:
    """Nuclei per species in the detector, and the fluence per flavour r N_POT / (4 pi L^2) [nu/cm^2]."""
    det = load_detector(detector)
    targets: dict[str, float] = {}
    for region in det.regions:
        for t, n in region.targets().items():
            if t.startswith("nucleus:"):
                targets[t.removeprefix("nucleus:")] = targets.get(t.removeprefix("nucleus:"), 0.0) + n
    return targets, pot * nu_per_proton / (4.0 * math.pi * (det.distance_m * 100.0) ** 2)


def time_fractions(ds: Dataset, chain: ResponseChain, flavour: str, pot_mean_shift_us: float = 0.0) -> np.ndarray:
    """Fraction of ``flavour`` arriving and accepted in each time bin of the data set."""
    t_cfg = ds.config.timing
    timing = TimingModel(
        pot_mean_ns=1e3 * (t_cfg.pot_mean_us + pot_mean_shift_us), pot_sigma_ns=1e3 * t_cfg.pot_sigma_us
    )
    edges = ds.edges["time"]
    fine = fine_time_edges(edges)
    frac = timing.bin_fractions(flavour, fine * 1e3) * chain.time_bin_acceptance(fine)
    return frac.reshape(edges.size - 1, -1).sum(axis=1)


def fine_time_edges(edges_us: np.ndarray) -> np.ndarray:
    """Every time bin split into equal steps of at most :data:`TIME_STEP_US` (the integration grid)."""
    return subdivide(edges_us, max(1, int(np.ceil(np.max(np.diff(edges_us)) / TIME_STEP_US))))


def predict_cevns(ds: Dataset, chain: ResponseChain | None = None, form_factor: str | None = None) -> np.ndarray:
    """Expected CEvNS counts on the data set's axes (shape ``ds.shape``)."""
    chain = chain or ds.chain
    rec = recoil_spectra(ds, form_factor)
    M = chain.matrix(rec.edges_keVnr, ds.edges["energy"])
    if ds.flux_table is not None:
        out = _predict_from_flux_table(ds, chain, form_factor, rec.edges_keVnr, M)
    else:
        out = np.zeros((ds.edges["energy"].size - 1, ds.edges["time"].size - 1))
        for f, counts in rec.per_flavour.items():
            out += np.outer(counts @ M, time_fractions(ds, chain, f))
    if ds.psd_given_energy is not None:
        return out[:, None, :] * ds.psd_given_energy[:, :, None]
    return out


def _predict_from_flux_table(ds: Dataset, chain: ResponseChain, form_factor, recoil_edges_keVnr, M) -> np.ndarray:
    """Energy x time prediction with the data set's flux table: each time cell has its own energy spectrum."""
    cfg = ds.config
    table = ds.flux_table
    targets, fluence = _targets_and_fluence(cfg.detector, cfg.exposure.protons_on_target, cfg.exposure.nu_per_proton)
    T_edges_MeV = np.asarray(recoil_edges_keVnr) * 1e-3
    E = table.energies_MeV
    per_nu = np.zeros((E.size, T_edges_MeV.size - 1))  # recoils per neutrino per recoil bin, at each table energy
    for sym, n in targets.items():
        xs = CEvNSCrossSection(sym, form_factor=form_factor or cfg.form_factor)
        per_nu += n * xs.sigma(E)[:, None] * xs.visible_spectrum(E, T_edges_MeV)
    t_edges = ds.edges["time"]
    t_cells = table.times_us
    # each table time cell spread flat over its width, mapped onto the data set's time bins with the acceptance
    widths = cell_widths(t_cells)
    lo, hi = t_cells - 0.5 * widths, t_cells + 0.5 * widths
    fine = fine_time_edges(t_edges)
    acc = chain.time_bin_acceptance(fine)
    fine_lo, fine_hi = fine[:-1], fine[1:]
    overlap = np.clip(np.minimum(hi[:, None], fine_hi[None, :]) - np.maximum(lo[:, None], fine_lo[None, :]), 0, None)
    to_fine = overlap / widths[:, None] * acc[None, :]  # (n_cells, n_fine)
    to_bins = to_fine.reshape(t_cells.size, t_edges.size - 1, -1).sum(axis=2)  # (n_cells, n_t)
    out = np.zeros((ds.edges["energy"].size - 1, t_edges.size - 1))
    for f in table.density:
        w = table.cell_weights(f)  # (n_E, n_cells)
        recoils_by_time = (w @ to_bins).T @ per_nu  # (n_t, n_T)
        out += fluence * (recoils_by_time @ M).T
    return out
