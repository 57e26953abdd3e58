"""Vectorised relativistic kinematics for the event generator (units: MeV, c = 1).

Every function works on arrays of events (first axis) and allocates few temporaries: the generator
calls them on chunks of up to ~10^6 events. Momenta are arrays of shape ``(n, 3)``.

Conventions
-----------
* The *local frame* of an event has its z axis along the incoming neutrino direction ``d``;
  :func:`orthonormal_basis` completes it with two unit vectors ``e1, e2`` so that ``(e1, e2, d)`` is
  right-handed. A direction with polar cosine ``c`` and azimuth ``phi`` in the local frame is
  ``sin(theta) cos(phi) e1 + sin(theta) sin(phi) e2 + c d`` in the lab (:func:`lab_direction`).
* Two-body decays are isotropic in the rest frame of the decaying system and boosted to the lab
  (:func:`two_body_decay`), which conserves energy and momentum exactly (to rounding).
"""

from __future__ import annotations

import numpy as np

from d2oflux.constants import ATOMIC_MASS_UNIT_MEV, M_E_MEV

#: Speed of light [cm/ns] (exact, SI).
C_CM_PER_NS = 29.9792458


def nuclear_mass_MeV(A: int, Z: int, mass_excess_MeV: float) -> float:
    """Nuclear mass from the atomic mass excess: ``A u + Delta - Z m_e`` (electron binding neglected).

    Mass excesses from AME2020 (M. Wang et al., Chinese Phys. C 45, 030003 (2021)).
    """
    return A * ATOMIC_MASS_UNIT_MEV + mass_excess_MeV - Z * M_E_MEV


def orthonormal_basis(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors ``e1, e2`` completing unit vectors ``d`` (n, 3) to right-handed frames."""
    # helper axis: z unless d is close to it, then x
    near_z = np.abs(d[:, 2]) > 0.9
    e1 = np.empty_like(d)
    # e1 = normalise(a x d) with a = z: (-d_y, d_x, 0); with a = x: (0, -d_z, d_y)
    e1[:, 0] = np.where(near_z, 0.0, -d[:, 1])
    e1[:, 1] = np.where(near_z, -d[:, 2], d[:, 0])
    e1[:, 2] = np.where(near_z, d[:, 1], 0.0)
    e1 /= np.sqrt(np.einsum("ij,ij->i", e1, e1))[:, None]
    e2 = np.cross(d, e1)
    return e1, e2


def lab_direction(cos_theta: np.ndarray, phi: np.ndarray, d: np.ndarray, e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    """Unit vectors (n, 3) at polar cosine ``cos_theta`` and azimuth ``phi`` around ``d``."""
    s = np.sqrt(np.maximum(1.0 - cos_theta * cos_theta, 0.0))
    sc = s * np.cos(phi)
    ss = s * np.sin(phi)
    out = sc[:, None] * e1
    out += ss[:, None] * e2
    out += cos_theta[:, None] * d
    return out


def isotropic_directions(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` unit vectors uniformly distributed on the sphere."""
    c = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    s = np.sqrt(np.maximum(1.0 - c * c, 0.0))
    return np.column_stack((s * np.cos(phi), s * np.sin(phi), c))


def sample_linear_cos(a: np.ndarray, u: np.ndarray, c_min: np.ndarray | float = -1.0) -> np.ndarray:
    """Inverse-CDF sample of ``cos(theta)`` from the density ``(1 + a c) / 2`` on ``[c_min, 1]``.

    ``|a| <= 1``. The CDF on [-1, 1] is ``F(c) = (c + 1)/2 + a (c^2 - 1)/4``; a truncated range maps
    ``u`` to ``F(c_min) + u (1 - F(c_min))`` first. The root of ``a c^2 + 2 c - (2 v + a) = 0``
    (``v = 2 F - 1``) is written in the cancellation-free form ``(2 v + a) / (1 + sqrt(1 + a (2 v + a)))``.
    """
    c_min = np.asarray(c_min, dtype=float)
    F0 = (c_min + 1.0) * 0.5 + a * (c_min * c_min - 1.0) * 0.25
    v = 2.0 * (F0 + u * (1.0 - F0)) - 1.0
    b = 2.0 * v + a
    return np.clip(b / (1.0 + np.sqrt(np.maximum(1.0 + a * b, 0.0))), -1.0, 1.0)


def linear_cos_bin_probability(a: float | np.ndarray, c_lo: float, c_hi: float) -> np.ndarray:
    """Probability that ``cos(theta)`` from ``(1 + a c)/2`` on [-1, 1] falls in ``[c_lo, c_hi]``."""
    return (c_hi - c_lo) * 0.5 + np.asarray(a) * (c_hi * c_hi - c_lo * c_lo) * 0.25


def boost(E_rest: np.ndarray, p_rest: np.ndarray, E_parent: np.ndarray, P_parent: np.ndarray, M: np.ndarray):
    """Boost four-momenta ``(E_rest, p_rest)`` from the rest frame of a system of mass ``M`` that moves
    with lab energy ``E_parent`` and momentum ``P_parent`` (n, 3) into the lab. Returns ``(E, p)``.

    ``E = (E_parent E* + P.p*)/M``, ``p = p* + P [P.p*/(M (E_parent + M)) + E*/M]``: no division by
    the velocity, so a system at rest is handled exactly.
    """
    Pp = np.einsum("ij,ij->i", P_parent, p_rest)
    E = (E_parent * E_rest + Pp) / M
    f = Pp / (M * (E_parent + M)) + E_rest / M
    p = p_rest + P_parent * f[:, None]
    return E, p


def two_body_decay(
    rng: np.random.Generator,
    E_parent: np.ndarray,
    P_parent: np.ndarray,
    m1: np.ndarray | float,
    m2: np.ndarray | float,
):
    """Isotropic two-body decay of systems with lab energy ``E_parent`` and momentum ``P_parent``.

    The invariant mass is ``M = sqrt(E^2 - P^2)``; it must exceed ``m1 + m2`` (clipped at threshold,
    where both products move with the parent). Returns ``(E1, p1, E2, p2)`` in the lab.
    """
    n = E_parent.shape[0]
    m1 = np.broadcast_to(np.asarray(m1, dtype=float), (n,))
    m2 = np.broadcast_to(np.asarray(m2, dtype=float), (n,))
    M2 = E_parent * E_parent - np.einsum("ij,ij->i", P_parent, P_parent)
    M = np.sqrt(np.maximum(M2, (m1 + m2) ** 2))
    # rest-frame momentum: sqrt((M^2 - (m1+m2)^2)(M^2 - (m1-m2)^2)) / (2M)
    k2 = (M * M - (m1 + m2) ** 2) * (M * M - (m1 - m2) ** 2)
    k = np.sqrt(np.maximum(k2, 0.0)) / (2.0 * M)
    n_hat = isotropic_directions(rng, n)
    p_rest = n_hat * k[:, None]
    E1r = np.sqrt(k * k + m1 * m1)
    E2r = np.sqrt(k * k + m2 * m2)
    E1, p1 = boost(E1r, p_rest, E_parent, P_parent, M)
    E2, p2 = boost(E2r, -p_rest, E_parent, P_parent, M)
    return E1, p1, E2, p2


def invariant_mass(E: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``sqrt(E^2 - p^2)`` (0 where negative by rounding)."""
    return np.sqrt(np.maximum(E * E - np.einsum("...i,...i->...", p, p), 0.0))
