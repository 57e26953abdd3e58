"""What every reaction's kinematics share: particles, the final-state record, the neutrino-energy sampler,
the :class:`ChannelModel` base class and the registry of kinematics by channel name.

Nuclear masses of 16O, 15N... from the AME2020 atomic mass excesses (M. Wang et al., Chin. Phys. C 45,
030003 (2021)); the deuteron and nucleon masses from :mod:`d2oflux.constants`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from d2oflux import constants as c
from d2oflux.spectra import Spectrum
from d2oflux.xsec.base import CrossSection
from d2oflux.xsec.channel import Channel, get_channel

from ..sampling import PiecewiseLinearSampler, endpoint_dense_grid
from ..spectra import FlavourSpectrum
from .relativistic import nuclear_mass_MeV

# ------------------------------------------------------------------------------------------------
# particles
# ------------------------------------------------------------------------------------------------
PDG_ELECTRON, PDG_POSITRON, PDG_PROTON, PDG_NEUTRON, PDG_GAMMA = 11, -11, 2212, 2112, 22
PDG_DEUTERON = 1000010020
PDG_O16, PDG_F16, PDG_N16 = 1000080160, 1000090160, 1000070160

#: AME2020 atomic mass excesses [MeV] (Wang et al. 2021): 16O, 15N, 1H (for S_p).
MASS_EXCESS_O16_MEV = -4.737001
MASS_EXCESS_N15_MEV = 0.101439
MASS_EXCESS_H1_MEV = 7.288971
#: 16O nuclear mass [MeV].
M_O16_MEV = nuclear_mass_MeV(16, 8, MASS_EXCESS_O16_MEV)
#: Proton separation energy of 16O, S_p = Delta(15N) + Delta(1H) - Delta(16O) = 12.127 MeV (AME2020).
S_P_O16_MEV = MASS_EXCESS_N15_MEV + MASS_EXCESS_H1_MEV - MASS_EXCESS_O16_MEV
#: Assumption: upper end of the 16O excitation in NC events (giant-resonance region; schematic model).
NC_O16_EXCITATION_MAX_MEV = 30.0

#: Axial coupling g_A (PDG 2024, lambda = g_A/g_V = -1.2754); enters the IBD angular coefficient.
G_A = 1.2754

N_ROWS = 512  # neutrino-energy rows of the conditional (kinetic-energy) tables
N_S = 2001  # points of the scaled kinetic-energy grid per row
N_U = 2049  # quantile nodes per row


def target_info(target: str) -> tuple[int, float]:
    """PDG code and mass [MeV] of a target species of :mod:`d2oflux.materials` (not ``nucleus:*``)."""
    table = {
        "deuteron": (PDG_DEUTERON, c.M_D_MEV),
        "o16": (PDG_O16, M_O16_MEV),
        "electron": (PDG_ELECTRON, c.M_E_MEV),
        "proton": (PDG_PROTON, c.M_P_MEV),
    }
    return table[target]


def nucleus_pdg(Z: int, A: int) -> int:
    """PDG nuclear code ``10LZZZAAAI`` of a ground-state nucleus (L = I = 0)."""
    return 1000000000 + 10000 * Z + 10 * A


# ------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------
@dataclass
class FinalState:
    """Final states of ``n`` events, padded to ``K`` particles; the lepton (or outgoing neutrino) first.

    Attributes
    ----------
    pdg : int32 (n, K)
    p : float (n, K, 3)  momenta [MeV]
    E : float (n, K)     energies [MeV]
    m : float (n, K)     generated masses [MeV]
    n_fs : int (n,)      number of valid particles (the first ``n_fs`` of each row)
    lepton_T, lepton_cos : float (n,)
        Kinetic energy of particle 0 and cosine of its angle to the neutrino direction.
    target_pdg : int (n,), target_mass : float (n,)
    """

    pdg: np.ndarray
    p: np.ndarray
    E: np.ndarray
    m: np.ndarray
    n_fs: np.ndarray
    lepton_T: np.ndarray
    lepton_cos: np.ndarray
    target_pdg: np.ndarray
    target_mass: np.ndarray


def _assemble(parts: list[tuple[int | np.ndarray, np.ndarray, np.ndarray, np.ndarray]], n: int, K: int) -> tuple:
    """Stack (pdg, E, p, m) of each particle slot into padded (n, K) arrays."""
    pdg = np.zeros((n, K), dtype=np.int32)
    E = np.zeros((n, K))
    p = np.zeros((n, K, 3))
    m = np.zeros((n, K))
    for k, (code, Ek, pk, mk) in enumerate(parts):
        pdg[:, k] = code
        E[:, k] = Ek
        p[:, k] = pk
        m[:, k] = mk
    return pdg, E, p, m


def _linear_coefficient(pdf, *args) -> np.ndarray:
    """Slope ``a`` of a density ``(1 + a c)/2`` on [-1, 1], read off the xsec helper ``pdf(c, ...)``."""
    return pdf(1.0, *args) - pdf(-1.0, *args)


# ------------------------------------------------------------------------------------------------
# neutrino-energy sampling: flux x sigma
# ------------------------------------------------------------------------------------------------
def build_energy_sampler(xs: CrossSection, spectrum: FlavourSpectrum, E_min: float = 0.0):
    """Sampler of the interacting neutrino energy ``f(E) sigma(E)`` for one reaction and flavour.

    ``f`` is the source spectrum (:class:`~d2oflux.generate.spectra.FlavourSpectrum`: analytic or a flux
    table); a line returns its energy (a float). The product is tabulated from the threshold (or
    ``E_min``, the kinematic threshold of the final state where it lies above the tabulated one by a
    fraction of a keV) to the end of the spectrum and is linear between grid points.
    """
    if spectrum.line is not None:
        return float(spectrum.line)
    E = spectrum.grid(max(float(xs.threshold_MeV), E_min, 0.0))
    return PiecewiseLinearSampler(E, spectrum.pdf(E) * xs.sigma(E))


@lru_cache(maxsize=256)
def _analytic_energy_sampler(xs: CrossSection, flavour: str, E_min: float):
    return build_energy_sampler(xs, _analytic_spectrum(flavour), E_min)


def _row_energies(lo: float, spectrum: FlavourSpectrum) -> np.ndarray:
    """Rows of a conditional table: the line alone, or a uniform grid up to the end of the spectrum."""
    if spectrum.line is not None:
        return np.array([spectrum.line])
    return np.linspace(min(lo, spectrum.E_hi - 1e-3), spectrum.E_hi, N_ROWS)


def _visible_cdf_rows(xs: CrossSection, T_scale):
    """Row builder for :class:`ConditionalQuantileTable` from ``xs.visible_spectrum`` (the rate engine's
    visible spectrum), in the scaled variable ``s = T / T_scale(E)``."""
    s_grid = endpoint_dense_grid(N_S)

    def rows(E: float):
        edges = T_scale(E) * s_grid
        frac = xs.visible_spectrum(np.array([E]), edges)[0]
        return s_grid, np.concatenate([[0.0], np.cumsum(frac)])

    return rows


# ------------------------------------------------------------------------------------------------
# models
# ------------------------------------------------------------------------------------------------
def _analytic_spectrum(flavour: str) -> FlavourSpectrum:
    return FlavourSpectrum(Spectrum(flavour))


class ChannelModel:
    """Kinematics of one channel (all flavours). Subclasses implement :meth:`final_state`.

    Attributes
    ----------
    name : str
    process_id : int
        NuHepMC process ID of the registered :class:`~d2oflux.xsec.channel.Channel`.
    description : str
        The channel's ``final_state``.
    K : int
        Maximum number of final-state particles.
    residual : int or None
        PDG code of a residual nucleus the final state can hold besides the target's own (e.g. 16F), if any.
    """

    name: str
    process_id: int
    description: str
    K: int = 3
    E_min: float = 0.0  # kinematic threshold of the final state [MeV]
    residual: int | None = None

    def __init__(
        self,
        name: str,
        xs_by_flavour: Mapping[str, CrossSection],
        spectra: Mapping[str, FlavourSpectrum] | None = None,
        channel: Channel | None = None,
    ) -> None:
        channel = channel if channel is not None else get_channel(name)
        if channel is None:
            raise KeyError(f"channel {name!r} is not registered (d2oflux.xsec.register_channel)")
        self.name = name
        self.process_id = channel.process_id
        self.description = channel.final_state
        self.xs = dict(xs_by_flavour)
        self.spectra = dict(spectra) if spectra is not None else {f: _analytic_spectrum(f) for f in self.xs}
        self._energy: dict[str, object] = {}

    def energy_sampler(self, flavour: str):
        """The neutrino-energy sampler of ``flavour`` (built on first use; analytic ones shared)."""
        if flavour not in self._energy:
            sp = self.spectra[flavour]
            if sp.tabulated:
                self._energy[flavour] = build_energy_sampler(self.xs[flavour], sp, self.E_min)
            else:
                self._energy[flavour] = _analytic_energy_sampler(self.xs[flavour], flavour, self.E_min)
        return self._energy[flavour]

    def sample_energy(self, flavour: str, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` interacting neutrino energies [MeV]."""
        s = self.energy_sampler(flavour)
        if isinstance(s, float):
            return np.full(n, s)
        return s(rng.random(n))

    def target(self, flavour: str) -> tuple[int, float]:
        return target_info(self.xs[flavour].target)

    def final_state(self, E: np.ndarray, flavour: str, d: np.ndarray, rng: np.random.Generator) -> FinalState:
        raise NotImplementedError

    def citation(self) -> str:
        return "; ".join(sorted({x.citation for x in self.xs.values()}))

    def _target_arrays(self, flavour: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        pdg, mass = self.target(flavour)
        return np.full(n, pdg, dtype=np.int32), np.full(n, mass)


def _rows_key(lo: float, spectrum: FlavourSpectrum) -> tuple[float, float, int]:
    """Hashable description ``(first, last, n)`` of the rows of a conditional table (see :func:`_rows`)."""
    r = _row_energies(lo, spectrum)
    return (float(r[0]), float(r[-1]), int(r.size))


def _rows(key: tuple[float, float, int]) -> np.ndarray:
    return np.linspace(key[0], key[1], key[2])


# ------------------------------------------------------------------------------------------------
# registry: channel name -> ChannelModel subclass
# ------------------------------------------------------------------------------------------------
_KINEMATICS: dict[str, type[ChannelModel]] = {}


def register_kinematics(name: str, model: type[ChannelModel]) -> type[ChannelModel]:
    """Make ``model`` the kinematics of the registered channel ``name`` (raises ``ValueError`` if it has some)."""
    if name in _KINEMATICS:
        raise ValueError(f"channel {name!r} already has kinematics ({_KINEMATICS[name].__name__})")
    _KINEMATICS[name] = model
    return model


def unregister_kinematics(name: str) -> type[ChannelModel]:
    """Remove the kinematics of channel ``name`` (e.g. one a test registered) and return them."""
    return _KINEMATICS.pop(name)


def registered_kinematics() -> Mapping[str, type[ChannelModel]]:
    """Channel name -> :class:`ChannelModel` subclass, for every channel the generator can simulate."""
    return dict(_KINEMATICS)


def model_for(
    name: str, xs_by_flavour: Mapping[str, CrossSection], spectra: Mapping[str, FlavourSpectrum] | None = None
) -> ChannelModel:
    """The :class:`ChannelModel` of channel ``name`` (``nue_d_cc``, ``es_numu``, ``cevns_O``, ...); ``spectra``
    are the source's neutrino spectra per flavour (default: the analytic piDAR ones). Raises ``KeyError``
    naming the channel if no kinematics are registered for it."""
    try:
        model: Callable[..., ChannelModel] = _KINEMATICS[name]
    except KeyError:
        raise KeyError(f"channel {name!r} has no registered kinematics (d2oflux.generate.kinematics)") from None
    return model(name, xs_by_flavour, spectra)
