"""Interaction vertices, uniform in a region's volume, and the neutrino direction from the source.

Shapes (:class:`d2oflux.detector.Geometry`, detector coordinates in cm, z vertical):

* ``box``: ``size_cm`` around ``center_cm``;
* ``cylinder``: ``radius_cm`` x ``height_cm`` around ``center_cm``, optionally hollow: an inner coaxial
  cylinder (``inner_radius_cm`` x ``inner_height_cm``, same centre) is excluded.

Sampling is analytic (no rejection): a hollow cylinder is the union of a full-height annulus
``inner_radius < r < radius`` and two end caps ``r < inner_radius``, ``inner_height/2 < |z| < height/2``,
chosen in proportion to their volumes; inside each piece ``r^2`` and ``z`` are uniform.

The source sits at ``source_position_m`` of the detector configuration (relative to the detector
centre, converted to cm) or, when not given, at ``(-distance_m, 0, 0)``: the neutrinos then travel
along +x. Each event's neutrino direction is the unit vector from the source to its vertex.
"""

from __future__ import annotations

import math

import numpy as np

from ..detector import Detector, Geometry, Region
from ..errors import ConfigError


def require_geometry(detector: Detector, region: Region) -> Geometry:
    """The region's geometry, or a :class:`ConfigError` naming the region and the expected key."""
    if region.geometry is None:
        raise ConfigError(
            f"detector '{detector.label}': region '{region.name}' has no geometry; expected a 'geometry' key "
            "(shape = 'cylinder' with radius_cm and height_cm, or shape = 'box' with size_cm) to place event vertices"
        )
    return region.geometry


def source_position_cm(detector: Detector) -> np.ndarray:
    """Position of the neutrino source in detector coordinates [cm]."""
    pos = detector.config.source_position_m
    if pos is None:
        return np.array([-100.0 * detector.distance_m, 0.0, 0.0])
    return 100.0 * np.asarray(pos, dtype=float)


def sample_vertices(geometry: Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniform in the volume of ``geometry`` [cm], shape (n, 3)."""
    center = np.asarray(geometry.center_cm, dtype=float)
    if geometry.shape == "box":
        assert geometry.size_cm is not None
        size = np.asarray(geometry.size_cm, dtype=float)
        out = rng.random((n, 3))
        out -= 0.5
        out *= size
        out += center
        return out
    assert geometry.radius_cm is not None and geometry.height_cm is not None
    R, H = geometry.radius_cm, geometry.height_cm
    ri, hi = geometry.inner_radius_cm, geometry.inner_height_cm
    u_r = rng.random(n)
    u_z = rng.random(n)
    phi = rng.random(n)
    phi *= 2.0 * math.pi
    hollow = ri > 0 and hi > 0
    if not hollow:
        r = R * np.sqrt(u_r)
        z = (u_z - 0.5) * H
    else:
        v_annulus = (R * R - ri * ri) * H
        v_caps = ri * ri * (H - hi)
        in_annulus = rng.random(n) * (v_annulus + v_caps) < v_annulus
        r = np.where(in_annulus, np.sqrt(ri * ri + u_r * (R * R - ri * ri)), ri * np.sqrt(u_r))
        # caps: |z| uniform in [hi/2, H/2], sign from the upper/lower half of u_z
        upper = u_z >= 0.5
        w = np.where(upper, 2.0 * u_z - 1.0, 2.0 * u_z)  # uniform in [0, 1)
        z_cap = 0.5 * hi + w * 0.5 * (H - hi)
        z = np.where(in_annulus, (u_z - 0.5) * H, np.where(upper, z_cap, -z_cap))
    out = np.empty((n, 3))
    out[:, 0] = r * np.cos(phi) + center[0]
    out[:, 1] = r * np.sin(phi) + center[1]
    out[:, 2] = z + center[2]
    return out


def directions_from_source(vertices: np.ndarray, source_cm: np.ndarray) -> np.ndarray:
    """Unit vectors from the source to each vertex, shape (n, 3)."""
    d = vertices - source_cm
    d /= np.sqrt(np.einsum("ij,ij->i", d, d))[:, None]
    return d


def inside(geometry: Geometry, points: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Whether each point lies in the region (boundary included within ``tol`` cm); for tests."""
    c = np.asarray(geometry.center_cm, dtype=float)
    p = points - c
    if geometry.shape == "box":
        assert geometry.size_cm is not None
        return np.all(np.abs(p) <= 0.5 * np.asarray(geometry.size_cm) + tol, axis=1)
    assert geometry.radius_cm is not None and geometry.height_cm is not None
    r = np.hypot(p[:, 0], p[:, 1])
    z = np.abs(p[:, 2])
    outer = (r <= geometry.radius_cm + tol) & (z <= 0.5 * geometry.height_cm + tol)
    inner = (r < geometry.inner_radius_cm - tol) & (z < 0.5 * geometry.inner_height_cm - tol)
    return outer & ~inner
