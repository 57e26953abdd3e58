"""Event generation: neutrino interactions with full final states, in the formats detector simulations read.

No public generator models nu_e + d -> e- p p at pion-decay-at-rest energies; this subpackage samples
every channel of the rate engine (:mod:`d2oflux.rates`) with its kinematics and writes one event per
interaction: channel, flavour and energy of the neutrino, time since the proton pulse, a vertex
uniform in the region where it happened, the neutrino direction (source -> vertex) and the final-state
particles with PDG codes and four-momenta.

* :func:`generate` -- the whole job (validation, Poisson or fixed counts, chunked streaming to
  ``.parquet``, ``.hepmc3`` (NuHepMC) or ``.root``, atomic rename). Command line:
  ``d2oflux generate`` (:func:`d2oflux.generate.command.generate_command`).
* :func:`read_events` -- read any of the three formats back into the same columns.
* :mod:`.channels` -- the kinematics of each reaction and its documented approximations;
  :mod:`.sampling`, :mod:`.kinematics`, :mod:`.geometry` -- the vectorised building blocks;
  :mod:`.writers`, :mod:`.nuhepmc` -- the file formats.
"""

from __future__ import annotations

from .core import generate
from .plan import FORMATS, make_plan
from .readback import read_events

__all__ = ["FORMATS", "generate", "make_plan", "read_events"]
