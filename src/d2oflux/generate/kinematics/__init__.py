"""Final-state kinematics, one model per reaction (``kinematics/<family>.py``, registered by channel name);
every approximation is stated where it is made.

Each :class:`ChannelModel` turns neutrino energies ``E`` and directions ``d`` (unit vectors, one per
event) into final-state particles with PDG codes and lab four-momenta. The cross sections and the
one-dimensional spectra come from :mod:`d2oflux.xsec` (the same objects the rate engine folds); this
module only adds what the rate engine does not need: angles, the hadronic side, exact kinematics.

Common to all reactions
-----------------------
* The target is at rest in the lab (Fermi motion, molecular and atomic binding neglected; the
  electron of nu-e scattering is free and at rest).
* Unless a model says otherwise, four-momentum is conserved exactly in every event: after the lepton
  is fixed, the rest of the final state takes ``p_nu + p_target - p_lepton``. When the remainder is a
  two-body system (pp, nn, np) it is decayed isotropically in its rest frame. When it is a residual
  nucleus (16F*, 16N*, 16O*), that nucleus is written as one particle whose invariant mass is what is
  left: the nuclear recoil that the line models of :mod:`d2oflux.xsec.oxygen` neglect (<= 0.4 MeV at
  50 MeV) lowers its excitation instead of the lepton energy. Its PDG code is the ground-state code
  (``100ZZZAAA0``) with the excitation in the generated mass; its decay is not simulated.
* Nuclear masses of 16O, 15N... from the AME2020 atomic mass excesses (M. Wang et al., Chin. Phys. C
  45, 030003 (2021)); the deuteron and nucleon masses from :mod:`d2oflux.constants`.

Per reaction (the class docstrings give the details)
----------------------------------------------------
``nue_d_cc``, ``nuebar_d_cc`` (:class:`~.deuteron.DeuteronCCKinematics`)
    Lepton kinetic energy from the GT + NN-FSI spectrum of :mod:`d2oflux.xsec.deuteron` (the rate
    engine's visible spectrum, as a table); angle from ``1 - (beta/3) cos(theta)``
    (:func:`~d2oflux.xsec.deuteron.cc_electron_cos_theta_pdf`) times the NN phase space at the
    recoil-corrected pair energy (the model's double-differential density); the NN pair takes the rest
    and decays isotropically.
``nc_d`` (:class:`~.deuteron.DeuteronNCKinematics`)
    nu d -> nu p n with the same GT + FSI model (massless lepton, no Coulomb), the neutron in the
    final state (its capture is left to the detector simulation).
``es_*`` (:class:`~.electron.ElectronScatteringKinematics`)
    Exact: T from d sigma/dT, the angle from two-body kinematics.
``nue_o16_cc``, ``nuebar_o16_cc`` (:class:`~.oxygen.OxygenCCKinematics`)
    One electron line per Nakazato group, angle from Tomas et al. (B7); residual 16F*/16N*.
``nc_o16`` (:class:`~.oxygen.OxygenNCKinematics`)
    Schematic: excitation, outgoing neutrino, optional 6.2-6.3 MeV gamma (the xsec model's lines).
``ibd_h`` (:class:`~.ibd.IBDKinematics`)
    Exact two-body kinematics with the O(1/M^0) angular distribution of Vogel & Beacom.
``cevns_<X>`` (:class:`~.cevns.CEvNSKinematics`)
    Exact: recoil T from d sigma/dT of the isotope, the angle from two-body kinematics.
Adding a reaction
-----------------
Write a :class:`ChannelModel` subclass in ``kinematics/<family>.py`` (``K``, ``E_min`` and
``final_state(E, flavour, d, rng)`` returning a :class:`FinalState`), call
``register_kinematics("<channel name>", MyKinematics)`` there, and import the module below. The process ID
and description come from the channel's registered :class:`~d2oflux.xsec.channel.Channel`.
"""

from __future__ import annotations

from . import cevns, deuteron, electron, ibd, oxygen  # noqa: F401  (each registers its kinematics)
from .cevns import CEvNSKinematics
from .common import (
    M_O16_MEV,
    PDG_DEUTERON,
    ChannelModel,
    FinalState,
    build_energy_sampler,
    model_for,
    nucleus_pdg,
    register_kinematics,
    registered_kinematics,
    target_info,
    unregister_kinematics,
)
from .deuteron import DeuteronCCKinematics, DeuteronNCKinematics, sample_gt_angle
from .electron import ElectronScatteringKinematics
from .ibd import IBDKinematics
from .oxygen import OxygenCCKinematics, OxygenNCKinematics
from .relativistic import (
    C_CM_PER_NS,
    invariant_mass,
    isotropic_directions,
    lab_direction,
    linear_cos_bin_probability,
    nuclear_mass_MeV,
    orthonormal_basis,
    sample_linear_cos,
    two_body_decay,
)

__all__ = [
    "C_CM_PER_NS",
    "M_O16_MEV",
    "PDG_DEUTERON",
    "CEvNSKinematics",
    "ChannelModel",
    "DeuteronCCKinematics",
    "DeuteronNCKinematics",
    "ElectronScatteringKinematics",
    "FinalState",
    "IBDKinematics",
    "OxygenCCKinematics",
    "OxygenNCKinematics",
    "build_energy_sampler",
    "invariant_mass",
    "isotropic_directions",
    "lab_direction",
    "linear_cos_bin_probability",
    "model_for",
    "nuclear_mass_MeV",
    "nucleus_pdg",
    "orthonormal_basis",
    "register_kinematics",
    "registered_kinematics",
    "sample_gt_angle",
    "sample_linear_cos",
    "target_info",
    "two_body_decay",
    "unregister_kinematics",
]
