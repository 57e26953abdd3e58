"""Where the neutron of nu d -> nu p n ends: captured on d (6.257 MeV gamma), on H, on 16O, or escaped.

Model: one-group thermal diffusion with Fermi-age slowing down (age-diffusion theory), solved exactly
for a homogeneous D2O volume of the detector's shape by expansion in the eigenmodes of the Laplacian
(cylinder: J0(alpha_m r / R~) sin(n pi z / H~); box: a product of sines; sphere: sin(k r)/r). A neutron
source uniform in the physical volume is projected onto the modes; mode ``k`` (buckling ``B_k^2``) keeps
``exp(-B_k^2 tau)`` of its neutrons while they slow down (Fermi age ``tau``) and absorbs the fraction
``1 / (1 + L^2 B_k^2)`` of the thermal ones (``L^2 = D / Sigma_a``), the rest leak out. The absorbed
fraction is split among d, H and O in proportion to their macroscopic absorption cross sections.

Boundary: the flux vanishes at the extrapolated surface, a distance ``d = 2 D (1 + a)/(1 - a)`` outside
the physical one (Marshak condition with a returning fraction ``a``, the albedo of what surrounds the
D2O). Bare D2O (vacuum, ``a = 0``): ``d = 2 D``. D2O inside a thick layer of light water or acrylic:
``a = (1 - 2 D_w / L_w) / (1 + 2 D_w / L_w) = 0.80``, the diffusion-theory albedo of a non-multiplying
half-space of water (derived, not quoted: in the water the flux falls as ``exp(-x / L_w)``, and the Marshak
partial currents ``J(+/-) = phi / 4 -/+ (D_w / 2) dphi/dx`` give ``a = J(-) / J(+)``; ``D_w`` and ``L_w`` from
Lamarsh & Baratta, Table 5.2). Valid for a layer >> L_w = 2.85 cm; the 10 cm of d2o-module1 qualify.
Neutrons that leave the D2O into water are captured there on H
(2.2 MeV gamma, below any threshold): counted as "escape" from the D2O.

Inputs and their sources
------------------------
* Thermal (2200 m/s) absorption cross sections: 1H 332.6 mb, 2H 0.519 mb, natural O 0.19 mb
  (V. F. Sears, "Neutron scattering lengths and cross sections", Neutron News 3 (1992) 26; NIST Center
  for Neutron Research table). Thermal (Maxwellian) averages scale all three by the same 1/v factor, so the
  branching ratios and L do not depend on it at the level of this model.
* Thermal diffusion coefficients: D2O ``D = 0.87 cm``, H2O ``D = 0.16 cm``, ``L = 2.85 cm`` (Lamarsh &
  Baratta, Table 5.2). D2O diffusion length follows from ``D`` and the absorption of the actual isotopic
  mix: ``L = 118 cm`` at 99.9 % D (the often-quoted ~1 m).
* Fermi age from fission-spectrum energies to thermal in D2O: ``tau = 131 cm^2`` (Lamarsh & Baratta,
  Table 6.2). NC-breakup neutrons have MeV energies like fission neutrons: an **approximation**.
* Number densities from the material (D2O at 1.105 g/cm^3, the region's deuterium fraction).

Checks (tests/test_neutron_capture.py): the infinite medium (capture fractions = absorption ratios), the
closed forms for a uniform source in a bare sphere, ``P = 1 - 3 (L/R)[coth(R/L) - L/R]``, and in an
infinite cylinder, ``P = 1 - 2 (L/R) I1(R/L)/I0(R/L)``; SNO's pure-D2O phase (a 6 m radius sphere);
d2o-module1 against the diffusion-length estimate (~0.01).

Neglected: capture during slowing down (D2O resonance absorption is negligible), the different
diffusion properties of the acrylic wall, and anisotropy of the NC neutron source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import i0e, i1e, j1, jn_zeros

from .constants import AVOGADRO
from .materials import material

#: Thermal absorption cross sections [cm^2] (Sears 1992, NIST NCNR table).
SIGMA_CAPTURE_CM2 = {"d": 0.519e-27, "H": 332.6e-27, "O": 0.19e-27}
#: Thermal diffusion coefficient of D2O and H2O [cm] (Lamarsh & Baratta, Table 5.2).
D_D2O_CM = 0.87
D_H2O_CM = 0.16
#: Thermal diffusion length of H2O [cm] (Lamarsh & Baratta, Table 5.2).
L_H2O_CM = 2.85
#: Fermi age to thermal energies in D2O [cm^2] (Lamarsh & Baratta, Table 6.2).
TAU_D2O_CM2 = 131.0
#: Pure D2O density [g/cm^3] and molar mass [g/mol], from d2oflux.materials (docs/physics.md §4).
_PURE_D2O = material("D2O", 1.0)
D2O_DENSITY = _PURE_D2O.density_g_cm3
D2O_MOLAR_MASS = _PURE_D2O.molar_mass_g


def water_albedo() -> float:
    """Infinite-slab albedo of light water for thermal neutrons, ``(1 - 2D/L) / (1 + 2D/L)`` (= 0.80)."""
    x = 2.0 * D_H2O_CM / L_H2O_CM
    return (1.0 - x) / (1.0 + x)


@dataclass(frozen=True)
class CaptureFractions:
    """Fractions of NC neutrons born uniformly in the D2O: captured on d, H, O, or leaving the D2O.

    ``diffusion_length_cm`` and ``extrapolation_cm`` document the model inputs.
    """

    d: float
    H: float
    O: float
    escape: float
    diffusion_length_cm: float
    extrapolation_cm: float

    def to_dict(self) -> dict[str, float]:
        return {
            "d": self.d,
            "H": self.H,
            "O": self.O,
            "escape": self.escape,
            "diffusion_length_cm": self.diffusion_length_cm,
            "extrapolation_cm": self.extrapolation_cm,
        }


def macroscopic_absorption(deuterium_fraction: float, density_g_cm3: float = D2O_DENSITY) -> dict[str, float]:
    """Macroscopic thermal absorption cross sections of heavy water per species [1/cm]."""
    molecules = density_g_cm3 / D2O_MOLAR_MASS * AVOGADRO
    return {
        "d": 2 * deuterium_fraction * molecules * SIGMA_CAPTURE_CM2["d"],
        "H": 2 * (1 - deuterium_fraction) * molecules * SIGMA_CAPTURE_CM2["H"],
        "O": molecules * SIGMA_CAPTURE_CM2["O"],
    }


def diffusion_length_cm(deuterium_fraction: float, density_g_cm3: float = D2O_DENSITY) -> float:
    """Thermal diffusion length ``sqrt(D / Sigma_a)`` of heavy water [cm]."""
    return math.sqrt(D_D2O_CM / sum(macroscopic_absorption(deuterium_fraction, density_g_cm3).values()))


def _axis_modes(length: float, ext: float, n_modes: int) -> tuple[np.ndarray, np.ndarray]:
    """Odd sine modes of a slab of ``length`` [cm] extrapolated by ``ext`` each side: buckling, source weight."""
    n = np.arange(1, 2 * n_modes, 2, dtype=float)
    L_ext = length + 2 * ext
    k = n * np.pi / L_ext
    weight = 8.0 * L_ext * np.cos(k * ext) ** 2 / (n**2 * np.pi**2 * length)
    return k**2, weight


def _radial_modes(radius: float, ext: float, n_modes: int) -> tuple[np.ndarray, np.ndarray]:
    """J0 modes of a cylinder of ``radius`` extrapolated by ``ext``: buckling, source weight."""
    alpha = jn_zeros(0, n_modes)
    R_ext = radius + ext
    weight = 4.0 * j1(alpha * radius / R_ext) ** 2 / (alpha**2 * j1(alpha) ** 2)
    return (alpha / R_ext) ** 2, weight


def _sphere_modes(radius: float, ext: float, n_modes: int) -> tuple[np.ndarray, np.ndarray]:
    """sin(k r)/r modes of a sphere of ``radius`` extrapolated by ``ext``: buckling, source weight."""
    n = np.arange(1, n_modes + 1, dtype=float)
    R_ext = radius + ext
    k = n * np.pi / R_ext
    integral = (np.sin(k * radius) - k * radius * np.cos(k * radius)) / k**2
    weight = 6.0 * integral**2 / (R_ext * radius**3)
    return k**2, weight


@lru_cache(maxsize=64)
def capture_fractions(
    shape: str,
    dimensions_cm: tuple[float, ...],
    deuterium_fraction: float = 0.999,
    albedo: float = 0.0,
    *,
    density_g_cm3: float = D2O_DENSITY,
    fermi_age_cm2: float = TAU_D2O_CM2,
    extrapolation_cm: float | None = None,
    n_modes: int = 400,
) -> CaptureFractions:
    """Capture fractions of neutrons born uniformly in a homogeneous heavy-water volume.

    Parameters
    ----------
    shape : {"cylinder", "box", "sphere"}
        ``dimensions_cm`` is ``(radius, height)``, ``(x, y, z)`` or ``(radius,)`` [cm].
    deuterium_fraction : float
        Fraction of the hydrogen atoms that are deuterium.
    albedo : float
        Fraction of the neutrons leaving the D2O that its surroundings send back (0: vacuum;
        :func:`water_albedo` for thick light water).
    fermi_age_cm2 : float
        Slowing-down age to thermal energies [cm^2]; 0 for neutrons born thermal.
    extrapolation_cm : float, optional
        Replaces the extrapolation distance computed from the albedo (0: zero flux on the surface).
    n_modes : int
        Modes per dimension of the eigenfunction expansion (400 converge to < 1e-4).
    """
    if not 0.0 <= albedo < 1.0:
        raise ValueError(f"albedo must be in [0, 1), got {albedo}")
    if min(dimensions_cm) <= 0:
        raise ValueError(f"dimensions must be positive, got {dimensions_cm}")
    sig = macroscopic_absorption(deuterium_fraction, density_g_cm3)
    sig_a = sum(sig.values())
    L2 = D_D2O_CM / sig_a
    ext = 2.0 * D_D2O_CM * (1.0 + albedo) / (1.0 - albedo) if extrapolation_cm is None else extrapolation_cm
    if shape == "cylinder":
        R, H = dimensions_cm
        b_r, w_r = _radial_modes(R, ext, n_modes)
        b_z, w_z = _axis_modes(H, ext, n_modes)
        B2 = b_r[:, None] + b_z[None, :]
        W = w_r[:, None] * w_z[None, :]
    elif shape == "box":
        (bx, wx), (by, wy), (bz, wz) = (_axis_modes(s, ext, n_modes // 4) for s in dimensions_cm)
        B2 = bx[:, None, None] + by[None, :, None] + bz[None, None, :]
        W = wx[:, None, None] * wy[None, :, None] * wz[None, None, :]
    elif shape == "sphere":
        (R,) = dimensions_cm
        B2, W = _sphere_modes(R, ext, 20 * n_modes)
    else:
        raise ValueError(f"shape must be cylinder, box or sphere, got {shape!r}")
    absorbed = float(np.sum(W * np.exp(-B2 * fermi_age_cm2) / (1.0 + L2 * B2)))
    return CaptureFractions(
        d=absorbed * sig["d"] / sig_a,
        H=absorbed * sig["H"] / sig_a,
        O=absorbed * sig["O"] / sig_a,
        escape=1.0 - absorbed,
        diffusion_length_cm=math.sqrt(L2),
        extrapolation_cm=ext,
    )


def infinite_cylinder_absorbed(radius_cm: float, L_cm: float) -> float:
    """Closed form: absorbed fraction for a uniform thermal source in an infinite bare cylinder (test aid)."""
    x = radius_cm / L_cm
    return 1.0 - 2.0 / x * i1e(x) / i0e(x)


def sphere_absorbed(radius_cm: float, L_cm: float) -> float:
    """Closed form: absorbed fraction for a uniform thermal source in a bare sphere (test aid)."""
    y = L_cm / radius_cm
    return 1.0 - 3.0 * y * (1.0 / math.tanh(1.0 / y) - y)


def detector_capture_fractions(detector) -> CaptureFractions:
    """Capture fractions for the D2O of a :class:`~d2oflux.detector.Detector`.

    The D2O regions are treated as one homogeneous volume: the first D2O region with a geometry gives the
    shape; without a geometry, a sphere of the region's volume (mass / 1.105 g/cm^3) is used. If the
    detector has a light-water or acrylic region (a hydrogenous layer around the vessel) the boundary
    reflects with :func:`water_albedo`, otherwise it is bare (albedo 0).
    """
    d2o = [r for r in detector.regions if r.material == "D2O"]
    if not d2o:
        return CaptureFractions(0.0, 0.0, 0.0, 1.0, float("nan"), float("nan"))
    region = next((r for r in d2o if r.geometry is not None), d2o[0])
    albedo = water_albedo() if any(r.material in ("H2O", "acrylic") for r in detector.regions) else 0.0
    g = region.geometry
    purity = round(float(region.deuterium_fraction), 9)
    if g is None:
        volume = sum(r.mass_kg for r in d2o) * 1000.0 / D2O_DENSITY
        return capture_fractions("sphere", (round((3 * volume / (4 * math.pi)) ** (1 / 3), 6),), purity, albedo)
    if g.shape == "cylinder":
        assert g.radius_cm is not None and g.height_cm is not None
        return capture_fractions("cylinder", (g.radius_cm, g.height_cm), purity, albedo)
    assert g.size_cm is not None
    return capture_fractions("box", tuple(g.size_cm), purity, albedo)
