"""Michel electrons from cosmic muons stopping in the module: true spectrum and simulated PE.

Spectrum (kinetic energy of the electron):

* **mu+** decay at rest (free): ``dN/dx = x^2 (3 - 2x)``, ``x = E / W``, ``W = (m_mu^2 + m_e^2) / (2 m_mu)
  = 52.83 MeV`` (lowest order, electron mass and radiative corrections neglected; PDG review "Muon decay
  parameters").
* **mu-** stop in water or heavy water and end in the 1s orbit of oxygen (Coulomb capture and transfer
  from muonic hydrogen/deuterium to oxygen). A fraction is captured by the nucleus; the rest decays in
  orbit with a spectrum smeared by the bound muon's motion and shifted by its binding energy. Decay
  fraction ``H tau_O / tau_free`` with tau(mu- in 16O) = 1795.4 ns (Suzuki, Measday & Roalsvig,
  Phys. Rev. C 35 (1987) 2212), the Huff factor H = 0.998 (same reference) and tau_free = 2196.98 ns
  (PDG 2024): 81.6 % decay, 18.4 % capture (no Michel electron).
  **Approximation**: the decay-in-orbit spectrum is taken as the free spectrum of a muon of mass
  ``m_mu - E_b`` (E_b = (Z alpha)^2 m_mu / 2 = 0.18 MeV for oxygen) Doppler-boosted by the 1s momentum
  distribution ``|phi(p)|^2 ~ p^2 / (p^2 + (Z alpha m_mu)^2)^4``. This reproduces the broadening of the
  endpoint that matters for a calibration with ~10 % resolution; the exact spectrum (Watanabe et al.,
  Prog. Theor. Phys. 78 (1987) 114; Czarnecki, Garcia i Tormo & Marciano, Phys. Rev. D 84 (2011) 013006)
  also has a recoil tail up to ~ m_mu that carries ~1e-4 of the rate, neglected here.
* **charge ratio** of stopping cosmic muons mu+/mu- = 1.27 (PDG 2024 review "Cosmic rays", sea level,
  low momentum; **assumption** for this site).
* **vertices** uniform in the liquids (heavy and light water; **assumption**: a uniform stopping density
  over ~1 m), **directions** isotropic (muon polarisation neglected).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..constants import ALPHA_EM, M_E_MEV, M_MU_MEV, TAU_MU_NS
from ..errors import ConfigError
from .config import OpticsConfig
from .geometry import build_geometry
from .materials import TRANSPORT
from .photons import get_backend

M_MU = M_MU_MEV  # PDG 2024 (d2oflux.constants)
M_E = M_E_MEV
W_MICHEL = (M_MU**2 + M_E**2) / (2 * M_MU)  # 52.83 MeV, maximum total electron energy
TAU_FREE_NS = TAU_MU_NS  # PDG 2024 (d2oflux.constants)
TAU_O16_NS = 1795.4  # Suzuki, Measday & Roalsvig 1987
HUFF_O16 = 0.998  # Suzuki, Measday & Roalsvig 1987
DECAY_FRACTION_O16 = HUFF_O16 * TAU_O16_NS / TAU_FREE_NS
CHARGE_RATIO = 1.27  # mu+/mu-, PDG cosmic-ray review (assumption for the site)
Z_OXYGEN = 8
ALPHA = ALPHA_EM


def free_michel_total_energy(rng: np.random.Generator, n: int, w: float = W_MICHEL) -> np.ndarray:
    """Total electron energies [MeV] from ``x^2 (3 - 2x)`` on [m_e / W, 1] (rejection sampling)."""
    out = np.empty(0)
    xmin = M_E / w
    while out.size < n:
        m = int(1.3 * (n - out.size)) + 16
        x = xmin + (1 - xmin) * rng.random(m)
        keep = rng.random(m) < x**2 * (3 - 2 * x)
        out = np.concatenate([out, x[keep]])
    return out[:n] * w


def bound_michel_kinetic_energy(rng: np.random.Generator, n: int, z: int = Z_OXYGEN) -> np.ndarray:
    """Kinetic energies [MeV] of electrons from mu- decay in the 1s orbit (Doppler + binding approximation)."""
    za = z * ALPHA
    e_bind = 0.5 * za**2 * M_MU
    m_eff = M_MU - e_bind
    w = (m_eff**2 + M_E**2) / (2 * m_eff)
    e_star = free_michel_total_energy(rng, n, w)
    p_star = np.sqrt(np.maximum(e_star**2 - M_E**2, 0.0))
    # muon momentum from |phi_1s(p)|^2 p^2 dp ~ u^2 / (1 + u^2)^4 du, u = p / (Z alpha m_mu)
    u = np.linspace(0, 30, 30001)
    pdf = u**2 / (1 + u**2) ** 4
    cdf = np.cumsum(pdf)
    cdf /= cdf[-1]
    p_mu = np.interp(rng.random(n), cdf, u) * za * M_MU
    beta = p_mu / np.sqrt(p_mu**2 + m_eff**2)
    gamma = 1 / np.sqrt(1 - beta**2)
    cos = 2 * rng.random(n) - 1
    e_lab = gamma * (e_star + beta * p_star * cos)
    return np.maximum(e_lab - M_E, 0.0)


def michel_kinetic_energy(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Kinetic energies [MeV] and charges (+1 / -1) of ``n`` Michel electrons from stopped cosmic muons.

    Muons captured by oxygen give no Michel electron and are not counted among the ``n``.
    """
    f_plus = CHARGE_RATIO / (CHARGE_RATIO + DECAY_FRACTION_O16)  # among muons that do decay
    charge = np.where(rng.random(n) < f_plus, 1, -1)
    t = np.empty(n)
    plus = charge > 0
    t[plus] = free_michel_total_energy(rng, int(plus.sum())) - M_E
    t[~plus] = bound_michel_kinetic_energy(rng, int((~plus).sum()))
    return t, charge


def michel_template(edges_MeV: np.ndarray, n: int = 2_000_000, seed: int = 52830) -> np.ndarray:
    """Normalised kinetic-energy spectrum of Michel electrons in the bins ``edges_MeV`` (fixed seed)."""
    t, _ = michel_kinetic_energy(np.random.default_rng(seed), n)
    h, _ = np.histogram(t, edges_MeV)
    return h / n


def simulate_michel(cfg: OpticsConfig, n: int, seed: int) -> dict[str, np.ndarray]:
    """Simulate ``n`` Michel electrons through the optical model; columns for :func:`write_michel_csv`."""
    if n < 1:
        raise ConfigError(f"--michel: expected a positive number of events, got {n}")
    geom = build_geometry(cfg)
    rng = np.random.default_rng(seed)
    t, charge = michel_kinetic_energy(rng, n)
    r0, lo0, hi0 = geom.cylinders[0]
    r2, lo2, hi2 = geom.cylinders[2]
    r1, lo1, hi1 = geom.cylinders[1]
    # uniform in the liquids, weighted by mass: rejection from the liner cylinder, dropping the acrylic
    rho = {"d2o": TRANSPORT["D2O"]["density"], "h2o": TRANSPORT["H2O"]["density"]}  # g/cm^3
    pos = np.empty((0, 3))
    while len(pos) < n:
        m = 2 * (n - len(pos)) + 16
        r = r2 * np.sqrt(rng.random(m))
        phi = 2 * np.pi * rng.random(m)
        p = np.column_stack([r * np.cos(phi), r * np.sin(phi), lo2 + (hi2 - lo2) * rng.random(m)])
        in_d2o = (r <= r0) & (p[:, 2] >= lo0) & (p[:, 2] <= hi0)
        in_vessel = (r <= r1) & (p[:, 2] >= lo1) & (p[:, 2] <= hi1)
        w = np.where(in_d2o, rho["d2o"], np.where(in_vessel, 0.0, rho["h2o"])) / rho["d2o"]
        pos = np.concatenate([pos, p[rng.random(m) < w]])
    pos = pos[:n]
    d = rng.normal(size=(n, 3))
    out = get_backend().simulate_events(geom, 0, t, pos, d, seed)
    in_d2o = (np.hypot(pos[:, 0], pos[:, 1]) <= r0) & (pos[:, 2] >= lo0) & (pos[:, 2] <= hi0)
    return {
        "event": np.arange(n),
        "pe": out["pe"].astype(np.int64),
        "kinetic_energy_MeV": t,
        "charge": charge,
        "region": np.where(in_d2o, "d2o", "h2o"),
        "x_cm": pos[:, 0],
        "y_cm": pos[:, 1],
        "z_cm": pos[:, 2],
    }


def written_by_d2oflux(path: str | Path) -> bool:
    """True if ``path`` is a Michel CSV that :func:`write_michel_csv` wrote (its first comment line says so)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.readline().startswith("# Michel electrons from stopped cosmic muons, d2oflux")


def write_michel_csv(path: str | Path, columns: dict[str, np.ndarray], header: list[str]) -> None:
    """Write the Michel events as CSV (comment lines first), whole or not at all.

    Goes through :func:`d2oflux.outputs.atomic_file`: an existing file is replaced only if d2oflux wrote it.
    """
    from ..outputs import atomic_file

    with atomic_file(path, "--output", is_ours=written_by_d2oflux) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            for line in header:
                fh.write(f"# {line}\n")
            w = csv.writer(fh)
            names = list(columns)
            w.writerow(names)
            cols = [columns[k] for k in names]
            for row in zip(*cols, strict=True):
                w.writerow([f"{v:.4f}" if isinstance(v, float | np.floating) else v for v in row])
