"""Sampling chunks of events: the per-event columns every writer consumes.

A chunk is a ``dict`` of numpy arrays (one row per event):

=================  ===========  ==========================================================
key                dtype        meaning
=================  ===========  ==========================================================
event_id           int64        unique, consecutive from 0
item               int16        index of the selection item (internal)
channel_id         int16        index into the run's channel names
region_id          int16        index into the detector's region names
process_id         int32        NuHepMC process ID of the channel
nu_pdg             int32        PDG code of the incoming neutrino
nu_energy_MeV      float64
time_ns            float64      time since the proton pulse (no time of flight, as the rate engine)
vertex_cm          (n, 3)       interaction point, detector coordinates [cm]
nu_dir             (n, 3)       unit vector source -> vertex
target_pdg         int32        target (d, 16O, e-, p, nucleus) at rest
target_mass_MeV    float64
lepton_pdg         int32        first final-state particle: the charged lepton, else the outgoing nu
lepton_kinetic_MeV float64
lepton_cos_theta   float64      cosine of its angle to ``nu_dir``
weight             float64      1 with an exposure; with a fixed count, events per SNS-year per event
fs_n               int8         number of final-state particles
fs_pdg             (n, K) int32 final state, padded with zeros beyond ``fs_n``
fs_p_MeV           (n, K, 3)
fs_E_MeV           (n, K)
fs_mass_MeV        (n, K)
=================  ===========  ==========================================================

Times: ``t = Gauss(pot_mean, pot_sigma) + Exp(tau_pi)`` for nu_mu, ``+ Exp(tau_mu)`` for the delayed
flavours (:class:`d2oflux.source.TimingModel`; the same convolution the rate engine integrates). The
neutrino time of flight (~67 ns at 20 m) is not added, as in the rate engine's timing model.
"""

from __future__ import annotations

import numpy as np

from ..xsec.base import FLAVOUR_PDG
from .geometry import directions_from_source, sample_vertices, source_position_cm
from .plan import Plan


def sample_times(plan: Plan, flavour: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Arrival times since the proton pulse [ns] (module docstring)."""
    tm = plan.source.timing
    t = rng.normal(tm.pot_mean_ns, tm.pot_sigma_ns, n)
    t += rng.exponential(tm.tau_pi_ns, n)
    if flavour != "nu_mu":
        t += rng.exponential(tm.tau_mu_ns, n)
    return t


class ChunkSampler:
    """Samples chunks of events for a :class:`~d2oflux.generate.plan.Plan`.

    Parameters
    ----------
    plan : Plan
    item_weights : array
        Event weight of each selection item.
    """

    def __init__(self, plan: Plan, item_weights: np.ndarray) -> None:
        self.plan = plan
        self.item_weights = np.asarray(item_weights, dtype=float)
        self.source_cm = source_position_cm(plan.detector)
        self.K = max(item.model.K for item in plan.items)
        names = []
        for item in plan.items:
            if item.channel not in names:
                names.append(item.channel)
        self.channel_names = names
        self._item_channel = np.array([names.index(i.channel) for i in plan.items], dtype=np.int16)

    def component(self, j: int, m: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``m`` events of component ``j`` of the plan (without ``event_id``)."""
        plan = self.plan
        comp = plan.components[j]
        item = plan.items[comp.item]
        model = item.model
        E = model.sample_energy(comp.flavour, rng, m)
        t = sample_times(plan, comp.flavour, rng, m)
        geom = plan.detector.regions[comp.region].geometry
        assert geom is not None
        v = sample_vertices(geom, m, rng)
        d = directions_from_source(v, self.source_cm)
        fs = model.final_state(E, comp.flavour, d, rng)
        K = self.K
        if fs.pdg.shape[1] < K:  # pad to the run's K
            pad = K - fs.pdg.shape[1]
            fs.pdg = np.pad(fs.pdg, ((0, 0), (0, pad)))
            fs.E = np.pad(fs.E, ((0, 0), (0, pad)))
            fs.m = np.pad(fs.m, ((0, 0), (0, pad)))
            fs.p = np.pad(fs.p, ((0, 0), (0, pad), (0, 0)))
        return {
            "item": np.full(m, comp.item, dtype=np.int16),
            "channel_id": np.full(m, self._item_channel[comp.item], dtype=np.int16),
            "region_id": np.full(m, comp.region, dtype=np.int16),
            "process_id": np.full(m, model.process_id, dtype=np.int32),
            "nu_pdg": np.full(m, FLAVOUR_PDG[comp.flavour], dtype=np.int32),
            "nu_energy_MeV": E,
            "time_ns": t,
            "vertex_cm": v,
            "nu_dir": d,
            "target_pdg": np.asarray(fs.target_pdg, dtype=np.int32),
            "target_mass_MeV": np.asarray(fs.target_mass, dtype=float),
            "lepton_pdg": fs.pdg[:, 0].copy(),
            "lepton_kinetic_MeV": fs.lepton_T,
            "lepton_cos_theta": fs.lepton_cos,
            "weight": np.full(m, self.item_weights[comp.item]),
            "fs_n": np.asarray(fs.n_fs, dtype=np.int8),
            "fs_pdg": fs.pdg,
            "fs_p_MeV": fs.p,
            "fs_E_MeV": fs.E,
            "fs_mass_MeV": fs.m,
        }

    def chunk(self, counts: np.ndarray, first_event_id: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A chunk with ``counts[j]`` events of component ``j``, in random order."""
        parts = [self.component(j, int(m), rng) for j, m in enumerate(counts) if m > 0]
        if len(parts) == 1:
            out = parts[0]
        else:
            out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            perm = rng.permutation(out["item"].shape[0])
            out = {k: v[perm] for k, v in out.items()}
        n = out["item"].shape[0]
        out["event_id"] = np.arange(first_event_id, first_event_id + n, dtype=np.int64)
        return out
