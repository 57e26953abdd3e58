"""Physical constants used throughout d2oflux.

Units inside the package: MeV, ns, cm, kg, s. Every value cites its source.
"""

from __future__ import annotations

# --- Particle masses and lifetimes: PDG Review of Particle Physics 2024 (R.L. Workman et al.,
#     PTEP 2022, 083C01 and 2024 update) -------------------------------------------------------
M_MU_MEV = 105.6583755  # muon mass
M_PI_MEV = 139.57039  # charged pion mass
M_E_MEV = 0.51099895  # electron mass
M_P_MEV = 938.27208816  # proton mass
M_N_MEV = 939.56542052  # neutron mass
M_D_MEV = 1875.61294257  # deuteron mass (CODATA 2018)
TAU_PI_NS = 26.033  # pi+ mean life
TAU_MU_NS = 2196.98  # mu+ mean life (2196.9811 ns)

# --- Fundamental constants: CODATA 2018 / PDG 2024 ----------------------------------------------
G_F_GEV2 = 1.1663788e-5  # Fermi constant G_F/(hbar c)^3 [GeV^-2]
G_F_MEV2 = G_F_GEV2 * 1e-6  # [MeV^-2]
ALPHA_EM = 1.0 / 137.035999084  # fine-structure constant
HBARC_MEV_CM = 197.3269804e-13  # hbar c [MeV cm]
HBARC_MEV_FM = 197.3269804  # hbar c [MeV fm]
ELEMENTARY_CHARGE_C = 1.602176634e-19  # [C], exact (SI 2019)
AVOGADRO = 6.02214076e23  # [1/mol], exact (SI 2019)
ATOMIC_MASS_UNIT_MEV = 931.49410242  # CODATA 2018

# Weak mixing angle at zero momentum transfer, MS-bar (PDG 2024 Electroweak review; docs/physics.md §3)
SIN2_THETA_W_ZERO = 0.23857

# --- Derived piDAR kinematics (docs/physics.md §2) ---------------------------------------------
#: Energy of the prompt nu_mu from pi+ -> mu+ nu_mu at rest: (m_pi^2 - m_mu^2) / (2 m_pi) = 29.79 MeV
E_NUMU_PROMPT_MEV = (M_PI_MEV**2 - M_MU_MEV**2) / (2.0 * M_PI_MEV)
#: Michel endpoint m_mu / 2 = 52.83 MeV
E_MICHEL_MAX_MEV = M_MU_MEV / 2.0

# --- Conventions -----------------------------------------------------------------------------------
SECONDS_PER_HOUR = 3600.0
#: COHERENT's "SNS-year": 5000 h of beam at 1.4 MW and 1.0 GeV (docs/physics.md §2)
SNS_YEAR_HOURS = 5000.0
SNS_YEAR_POWER_MW = 1.4
SNS_YEAR_PROTON_ENERGY_GEV = 1.0
