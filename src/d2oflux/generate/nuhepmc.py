"""NuHepMC 1.0.0 run metadata and per-event cross sections for the HepMC3 writer.

Specification: S. Gardiner, J. Isaacson, L. Pickering, "NuHepMC: A standardized event record format
for neutrino event generators", arXiv:2310.13211, and the living text at github.com/NuHepMC/Spec
(version 1.0.0: G.R.1-G.R.11, G.C.1-G.C.5, E.R.1-E.R.9, E.C.1-E.C.5, V.R.1, P.R.1). Element labels are
cited next to the attributes below; :mod:`d2oflux.generate.writers` lists what each event carries.
"""

from __future__ import annotations

import numpy as np

from .. import __version__
from ..xsec.base import FLAVOUR_PDG
from ..xsec.channel import get_channel
from .plan import Plan

NUHEPMC_VERSION = (1, 0, 0)

TARGET_SCALE_DESCRIPTION = (
    "PerDetector: cross sections are those of the whole selected detector, sum over regions and target "
    "species of N_targets x sigma_per_target; expected interactions = cross section x fluence summed over "
    "the flavours of the source (NuHepMC.Beam[PDG].Histogram with an exposure)"
)

PARTICLE_STATUS = {
    1: ("UndecayedPhysical", "final-state particle, to be tracked by the detector simulation"),
    4: ("IncomingBeam", "the neutrino from the pion-decay-at-rest source"),
    20: ("Target", "the target at rest: deuteron, 16O, electron, proton or nucleus"),
}
VERTEX_STATUS = {1: ("PrimaryVertex", "the neutrino interaction; position (x, y, z, c t), t since the proton pulse")}

NUCLEUS_NAMES = {
    1000010020: "deuteron (target)",
    1000080160: "16O (target; as a residual: 16O* with its excitation in the generated mass)",
    1000090160: "16F (residual of nu_e 16O CC; excitation in the generated mass, not decayed)",
    1000070160: "16N (residual of anti-nu_e 16O CC; excitation in the generated mass, not decayed)",
}


def particle_codes(plan: Plan) -> list[int]:
    """Nuclear PDG codes that can appear in the file (targets and residuals)."""
    from .kinematics import CEvNSKinematics, nucleus_pdg

    codes: set[int] = set()
    for item in plan.items:
        for flavour, xs in item.model.xs.items():
            if isinstance(item.model, CEvNSKinematics):
                codes.update(nucleus_pdg(i.Z, i.A) for i in xs.nucleus.isotopes)
            else:
                codes.add(item.model.target(flavour)[0])
        if item.model.residual is not None:
            codes.add(item.model.residual)
    return sorted(c for c in codes if c > 1000000000)


def run_attributes(plan: Plan, seed: int, run: dict) -> dict:
    """Every NuHepMC run-info attribute (name -> Python value for pyhepmc)."""
    a: dict = {}
    a["NuHepMC.Version.Major"], a["NuHepMC.Version.Minor"], a["NuHepMC.Version.Patch"] = NUHEPMC_VERSION  # G.R.2
    conventions = ["G.C.2", "G.C.3", "G.C.4", "E.C.1", "E.C.2", "E.C.3", "G.S.1", "G.S.2"]
    if plan.exposure is not None:
        conventions.insert(0, "G.C.1")
    a["NuHepMC.Conventions"] = conventions  # G.R.4
    a["NuHepMC.FluxAveragedTotalCrossSection"] = plan.flux_averaged_xs_cm2() * 1e36  # G.R.5, G.C.2 [pb]
    a["NuHepMC.Units.CrossSection.Unit"] = "pb"  # G.R.6
    a["NuHepMC.Units.CrossSection.TargetScale"] = "PerDetector"
    a["d2oflux.TargetScale.Description"] = TARGET_SCALE_DESCRIPTION
    # G.R.8 process metadata (E.C.1 ranges)
    ids = []
    for item in plan.items:
        m = item.model
        if m.process_id in ids:
            continue
        ids.append(m.process_id)
        a[f"NuHepMC.ProcessInfo[{m.process_id}].Name"] = item.channel
        a[f"NuHepMC.ProcessInfo[{m.process_id}].Description"] = f"{m.description}. Cross section: {m.citation()}"
        channel = get_channel(item.channel)
        if channel is not None and channel.arxiv:  # arXiv identifiers of the model, where it has them
            a[f"NuHepMC.Citations.Process[{m.process_id}].arXiv"] = list(channel.arxiv)  # G.C.3
    a["NuHepMC.ProcessIDs"] = sorted(ids)
    # G.R.9 / G.R.10 (complete status metadata: G.S.2)
    a["NuHepMC.VertexStatusIDs"] = sorted(VERTEX_STATUS)
    for k, (name, desc) in VERTEX_STATUS.items():
        a[f"NuHepMC.VertexStatusInfo[{k}].Name"] = name
        a[f"NuHepMC.VertexStatusInfo[{k}].Description"] = desc
    a["NuHepMC.ParticleStatusIDs"] = sorted(PARTICLE_STATUS)
    for k, (name, desc) in PARTICLE_STATUS.items():
        a[f"NuHepMC.ParticleStatusInfo[{k}].Name"] = name
        a[f"NuHepMC.ParticleStatusInfo[{k}].Description"] = desc
    # G.R.11: no non-standard codes are used; the nuclear codes are declared with their meaning
    # (standard codes are permitted in the list), residual nuclei carry their excitation in the mass
    codes = particle_codes(plan) or [11]
    a["NuHepMC.AdditionalParticleNumbers"] = codes
    for code in codes:
        a[f"NuHepMC.AdditionalParticleNumber[{code}].Name"] = NUCLEUS_NAMES.get(code, f"nucleus {code}")
    # G.C.1 exposure
    if plan.exposure is not None:
        fac = plan.source.facility
        a["NuHepMC.Exposure.POT"] = float(plan.exposure.pot)
        a["NuHepMC.Exposure.Livetime"] = float(plan.exposure.years * fac.hours_per_year * 3600.0)
    # G.C.4 beam energy distributions (fluence at the detector centre)
    from .spectra import FlavourSpectrum

    edges = plan.detector.neutrino_edges_MeV
    for flavour, fluence in plan.fluence_per_cm2.items():
        pdg = FLAVOUR_PDG[flavour]
        stub = f"NuHepMC.Beam[{pdg}]"
        spectrum = FlavourSpectrum(plan.source.spectrum(flavour))
        a[f"{stub}.EnergyUnit"] = "MEV"
        a[f"{stub}.RateUnit"] = "cm-2" if plan.exposure is not None else "Arbitrary"
        # with an exposure: fluence per bin [cm^-2]; without: per 10^6 neutrinos (HepMC3 prints vector
        # attributes with 6 decimals, so probabilities are scaled up)
        norm = fluence if plan.exposure is not None else 1e6
        if spectrum.line is not None:
            a[f"{stub}.Type"] = "MonoEnergetic"
            a[f"{stub}.MonoEnergetic.Energy"] = float(spectrum.line)
        else:
            a[f"{stub}.Type"] = "Histogram"
            a[f"{stub}.Histogram.BinEdges"] = np.asarray(edges, dtype=float)
            a[f"{stub}.Histogram.BinContent"] = norm * spectrum.bin_fractions(np.asarray(edges, dtype=float))
            a[f"{stub}.Histogram.ContentIsPerWidth"] = False
    # G.S.1 provenance
    a["NuHepMC.Provenance.RNGState"] = f"numpy PCG64 seed {seed}"
    a["NuHepMC.Provenance.d2oflux.version"] = __version__
    return a


def tools() -> list[tuple[str, str, str]]:
    """G.R.3 generator identification."""
    return [("d2oflux", __version__, "d2oflux.generate: neutrino interactions of a pion-decay-at-rest source")]


def xs_per_detector_function(plan: Plan):
    """``chunk -> (tot_xs, proc_xs)`` [cm^2] per event: the detector cross section (sum over regions and
    targets of N x sigma) of all selected channels for the event's flavour and energy, and of its own."""
    # per item and flavour: (cross-section object, total targets over the item's components)
    per: dict[tuple[int, str], list] = {}
    for comp in plan.components:
        key = (comp.item, comp.flavour)
        if key not in per:
            per[key] = [plan.items[comp.item].model.xs[comp.flavour], 0.0]
        per[key][1] += comp.n_targets

    def f(chunk):
        E = chunk["nu_energy_MeV"]
        item = chunk["item"]
        pdg = chunk["nu_pdg"]
        tot = np.zeros(E.size)
        proc = np.zeros(E.size)
        for flavour in {fl for _, fl in per}:
            sel = pdg == FLAVOUR_PDG[flavour]
            if not sel.any():
                continue
            Es = E[sel]
            it = item[sel]
            t = np.zeros(Es.size)
            p = np.zeros(Es.size)
            for (k, fl), (xs, n_t) in per.items():
                if fl != flavour:
                    continue
                s = n_t * xs.sigma(Es)
                t += s
                p = np.where(it == k, s, p)
            tot[sel] = t
            proc[sel] = p
        return tot, proc

    return f
