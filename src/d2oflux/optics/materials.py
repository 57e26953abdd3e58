"""Optical and particle-transport properties of the module's materials, each table with its source.

Wavelengths in nm, lengths in cm. Everything here is a default: the ``[optics]`` section of a detector
file can override indices, absorption scales, reflectivities, the QE curve and add scintillation.

Sources
-------
* Refractive index of light water: Quan & Fry, Appl. Opt. 34 (1995) 3477, empirical formula at salinity 0,
  T = 20 C (gives n = 1.3330 at 589 nm).
* Refractive index of heavy water: n_D = 1.3283 at 589 nm, 20 C (CRC Handbook of Chemistry and Physics,
  "Properties of heavy water"); **assumption**: the dispersion of D2O equals that of H2O (Quan & Fry curve
  shifted by a constant to the CRC n_D).
* Refractive index of acrylic (PMMA): Sellmeier fit n^2 - 1 = 1.1819 l^2 / (l^2 - 0.011313), l in um,
  Sultanova, Kasarova & Nikolov, Acta Phys. Pol. A 116 (2009) 585.
* Absorption of pure water: Pope & Fry, Appl. Opt. 36 (1997) 8710 (380-700 nm); Smith & Baker,
  Appl. Opt. 20 (1981) 177 below 380 nm (clearest natural water, an upper bound on pure-water absorption).
  Heavy water: **assumption** as light water, as in the collaboration's public Geant4 description
  (github.com/KARLATGF/COHERENT-D2O, ``G4d2oMaterialsDefinition.cc``: "Using pure water values").
* Absorption length of the acrylic vessel: the collaboration's public Geant4 optical data
  (``opticalData/AcrylicAbsLength_formatted.dat``; values read as cm), sampled at its knots.
* Rayleigh scattering of water: b(500 nm) = 0.0029 m^-1 (Smith & Baker 1981), b ~ lambda^-4.32
  (Morel, "Optical properties of pure water and pure sea water", 1974). Acrylic: no scattering (assumption).
* PMT quantum efficiency: the bialkali curve of the collaboration's public Geant4 code
  (``scripts/pmtqe.C``, peak 25.4 % near 390 nm) as ``"coherent-bialkali"``; ``"r5912-hqe-like"`` is the same
  shape scaled to a 34 % peak (**assumption**: Hamamatsu quotes ~34 % peak for its high-QE bialkali
  8-inch R5912-100 series; the exact curve is not public).
* Electron stopping: Bethe formula for electrons (ICRU Report 37, 1984) with I = 75 eV for water
  (ICRU 37) and 74 eV for PMMA (ICRU 37); density-effect parameters of liquid water from Sternheimer,
  Berger & Seltzer, At. Data Nucl. Data Tables 30 (1984) 261 (used for all three liquids/solids: an
  approximation at the 1 % level for D2O and acrylic).
* Radiation lengths: water 36.08 g/cm^2, PMMA 40.55 g/cm^2 (PDG, Atomic and nuclear properties); D2O
  40.11 g/cm^2 from the PDG element values (O 34.24, H 63.04 g/cm^2 scaled by A for deuterium).
* Photon attenuation in water: total mu/rho from NIST XCOM (Berger et al., XCOM, NIST Standard Reference
  Database 8), used for every material scaled by electron density (photon interactions at 0.1-60 MeV in
  low-Z materials are Compton scattering and pair production, both ~ per electron within a few %).
* Scintillation of 1 % water-based liquid scintillator: 234 +- 30 photons/MeV (Caravaca et al.,
  Eur. Phys. J. C 80 (2020) 867); emission as PPO (peak ~ 360-370 nm; **assumption**: Gaussian at 370 nm
  with 20 nm sigma); Birks' constant 0.011 cm/MeV (**assumption**: the LAB value measured for organic
  liquid scintillators, e.g. von Krosigk et al., Eur. Phys. J. C 76 (2016) 109, ~0.01 cm/MeV); time
  constants 2.25 and 15.1 ns: **assumption** (the order of LAB+PPO-based scintillators; carried in the
  configuration for timing studies, not used by the PE response).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, suggest
from ..materials import material

# --- refractive indices -------------------------------------------------------------------------

#: CRC Handbook: heavy water, sodium D line, 20 C.
N_D_D2O = 1.3283


def n_water(wavelength_nm: np.ndarray | float) -> np.ndarray:
    """Refractive index of pure light water at 20 C (Quan & Fry 1995, salinity 0)."""
    lam = np.asarray(wavelength_nm, dtype=float)
    t = 20.0
    return 1.31405 - 2.02e-6 * t**2 + (15.868 - 0.00423 * t) / lam - 4382.0 / lam**2 + 1.1455e6 / lam**3


def n_heavy_water(wavelength_nm: np.ndarray | float) -> np.ndarray:
    """Refractive index of heavy water: the H2O dispersion shifted to n_D = 1.3283 (assumption, see module)."""
    return n_water(wavelength_nm) - (float(n_water(589.3)) - N_D_D2O)


def n_acrylic(wavelength_nm: np.ndarray | float) -> np.ndarray:
    """Refractive index of PMMA (Sultanova et al. 2009 Sellmeier fit)."""
    l2 = (np.asarray(wavelength_nm, dtype=float) / 1000.0) ** 2
    return np.sqrt(1.0 + 1.1819 * l2 / (l2 - 0.011313))


INDEX_MODELS = {"H2O": n_water, "D2O": n_heavy_water, "acrylic": n_acrylic}

# --- absorption ---------------------------------------------------------------------------------

#: Pure water absorption coefficient [1/m]: Smith & Baker 1981 (300-370 nm), Pope & Fry 1997 (380-700 nm).
WATER_ABSORPTION_PER_M = np.array(
    [
        (300, 0.141), (310, 0.105), (320, 0.0844), (330, 0.0678), (340, 0.0561), (350, 0.0463),
        (360, 0.0379), (370, 0.0300), (380, 0.01137), (390, 0.00851), (400, 0.00663), (410, 0.00473),
        (420, 0.00454), (430, 0.00495), (440, 0.00635), (450, 0.00922), (460, 0.00979), (470, 0.01060),
        (480, 0.01270), (490, 0.01500), (500, 0.02040), (510, 0.03250), (520, 0.04090), (530, 0.04340),
        (540, 0.04740), (550, 0.05650), (560, 0.06190), (570, 0.06950), (580, 0.08960), (590, 0.1351),
        (600, 0.2224), (620, 0.2755), (640, 0.3170), (660, 0.4100), (680, 0.4550), (700, 0.6240),
    ]
)  # fmt: skip

#: Acrylic absorption length [cm] at the knots of the collaboration's Geant4 data file.
ACRYLIC_ABSORPTION_CM = np.array(
    [
        (300, 2.30), (310, 6.99), (320, 10.0), (330, 14.0), (340, 20.0), (350, 27.0), (360, 38.0),
        (370, 56.6), (380, 75.2), (390, 94.1), (400, 113.0), (450, 141.0), (500, 172.0), (550, 203.0),
        (590, 140.0), (630, 77.0),
    ]
)  # fmt: skip


def absorption_length_cm(material: str, wavelength_nm: np.ndarray) -> np.ndarray:
    """Absorption length [cm] of ``material`` (``"H2O"``, ``"D2O"``, ``"acrylic"``); flat outside the tables."""
    lam = np.asarray(wavelength_nm, dtype=float)
    if material == "acrylic":
        return np.interp(lam, ACRYLIC_ABSORPTION_CM[:, 0], ACRYLIC_ABSORPTION_CM[:, 1])
    coeff = np.interp(lam, WATER_ABSORPTION_PER_M[:, 0], WATER_ABSORPTION_PER_M[:, 1])
    return 100.0 / coeff


def rayleigh_length_cm(material: str, wavelength_nm: np.ndarray) -> np.ndarray:
    """Rayleigh-scattering length [cm]: water b(500) = 0.0029 /m, b ~ lambda^-4.32; acrylic none (inf)."""
    lam = np.asarray(wavelength_nm, dtype=float)
    if material == "acrylic":
        return np.full_like(lam, np.inf)
    b_per_m = 0.0029 * (500.0 / lam) ** 4.32
    return 100.0 / b_per_m


# --- photodetection -----------------------------------------------------------------------------

_HC_EV_NM = 1239.84193
#: Bialkali QE vs photon energy [eV] from the collaboration's public Geant4 code (scripts/pmtqe.C).
_BIALKALI_EV = np.array(
    [1.63, 1.68, 1.72, 1.77, 1.82, 1.88, 1.94, 2.00, 2.07, 2.14, 2.21, 2.30, 2.38,
     2.48, 2.58, 2.70, 2.82, 2.95, 3.10, 3.26, 3.44, 3.65, 3.88, 4.13, 4.43, 4.70]
)  # fmt: skip
_BIALKALI_QE = np.array(
    [0.000, 0.000, 0.000, 0.000, 0.001, 0.003, 0.008, 0.017, 0.033, 0.052, 0.076, 0.106, 0.139,
     0.164, 0.193, 0.204, 0.228, 0.240, 0.254, 0.254, 0.240, 0.213, 0.164, 0.032, 0.003, 0.0]
)  # fmt: skip


def qe_table(name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """A named QE curve: (wavelength [nm] increasing, QE, source label)."""
    lam = (_HC_EV_NM / _BIALKALI_EV)[::-1]
    qe = _BIALKALI_QE[::-1]
    if name == "coherent-bialkali":
        return lam, qe, "bialkali curve of the COHERENT-D2O public Geant4 code (scripts/pmtqe.C)"
    if name == "r5912-hqe-like":
        return (
            lam,
            qe * (0.34 / qe.max()),
            "assumption: COHERENT-D2O bialkali shape scaled to a 34 % peak (Hamamatsu high-QE R5912-100 class)",
        )
    raise ConfigError(
        f"optics.pmts.qe: unknown QE curve '{name}'{suggest(name, QE_NAMES)}; "
        f"expected one of {', '.join(QE_NAMES)} or a table {{wavelength_nm = [...], qe = [...]}}"
    )


QE_NAMES = ("coherent-bialkali", "r5912-hqe-like")

# --- particle transport -------------------------------------------------------------------------

#: Per material: density [g/cm^3] (:func:`d2oflux.materials.material`, with its source), Z/A [mol/g], mean
#: excitation energy I [eV], radiation length [g/cm^2].
TRANSPORT = {
    "D2O": {"density": material("D2O").density_g_cm3, "z_over_a": 10.0 / 20.0276, "i_ev": 75.0, "x0_g_cm2": 40.11},
    "H2O": {"density": material("H2O").density_g_cm3, "z_over_a": 10.0 / 18.0153, "i_ev": 75.0, "x0_g_cm2": 36.08},
    "acrylic": {
        "density": material("acrylic").density_g_cm3,
        "z_over_a": 54.0 / 100.117,
        "i_ev": 74.0,
        "x0_g_cm2": 40.55,
    },
}

#: Water: total photon attenuation mu/rho [cm^2/g] (NIST XCOM, "total with coherent scattering": at 0.1 MeV it
#: exceeds the free-electron Klein-Nishina 0.1647 cm^2/g by the coherent part; see _kernels, gamma transport).
WATER_PHOTON_ATTENUATION = np.array(
    [
        (0.1, 0.1707), (0.15, 0.1505), (0.2, 0.1370), (0.3, 0.1186), (0.5, 0.09687), (0.8, 0.07865),
        (1.0, 0.07072), (1.5, 0.05754), (2.0, 0.04942), (3.0, 0.03969), (4.0, 0.03403), (5.0, 0.03031),
        (6.0, 0.02770), (8.0, 0.02429), (10.0, 0.02219), (15.0, 0.01941), (20.0, 0.01813),
        (30.0, 0.01710), (40.0, 0.01687), (50.0, 0.01690), (60.0, 0.01700), (80.0, 0.01717),
        (100.0, 0.01730),
    ]
)  # fmt: skip

#: 1 % water-based liquid scintillator (see module docstring for the sources and assumptions).
WBLS_1PCT = {
    "photons_per_MeV": 234.0,
    "emission_peak_nm": 370.0,
    "emission_sigma_nm": 20.0,
    "birks_cm_per_MeV": 0.011,
    "time_constants_ns": (2.25, 15.1),
}
