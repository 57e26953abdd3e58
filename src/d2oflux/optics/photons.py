"""Optical-photon transport: numba kernels, and the backend interface a GPU implementation would follow.

A photon is traced from its emission point until it is absorbed in a medium, absorbed by the liner,
lost, or reaches a PMT photocathode disc. Physics per step:

* absorption and Rayleigh scattering sampled as exponential free paths (lengths per volume and
  wavelength from :mod:`d2oflux.optics.materials`); Rayleigh angular distribution ``1 + cos^2``;
* at the D2O/acrylic and acrylic/H2O interfaces, Fresnel reflection for unpolarised light (the mean
  of the s and p reflectances) and Snell refraction, total internal reflection above the critical angle;
* on the liner, reflection with the configured probability, Lambertian (Tyvek) or specular;
* detection on a PMT disc hit from its facing side. The wavelength-dependent detection probability
  (QE x collection efficiency) is applied when a photon is created (Russian-roulette with the same
  expectation: the probability does not depend on the photon's path, so culling early is exact).

Random numbers: xorshift64* streams seeded per event or per chunk of photons with splitmix64, so the
numbers do not depend on how the work is split among threads (same seed, same result).
"""

from __future__ import annotations

import math
from typing import Protocol

import numba as nb
import numpy as np

from .geometry import OpticalGeometry

EPS = 1e-6  # cm: distances below this are the surface the photon sits on
MAX_STEPS = 2000  # interactions per photon before it is dropped (guided in the thin acrylic, rare)

# --- random numbers -----------------------------------------------------------------------------


@nb.njit(cache=True, inline="always")
def splitmix64(x):
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@nb.njit(cache=True)
def seed_state(seed, stream):
    """A non-zero xorshift state for stream ``stream`` of ``seed``."""
    st = np.empty(1, dtype=np.uint64)
    s = splitmix64(np.uint64(seed) * np.uint64(0x100000001B3) + np.uint64(stream))
    st[0] = splitmix64(s) | np.uint64(1)
    return st


@nb.njit(cache=True, inline="always")
def uniform(st):
    """A float in (0, 1) from the xorshift64* state ``st[0]``."""
    x = st[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    st[0] = x
    r = (x * np.uint64(2685821657736338717)) >> np.uint64(11)
    return (np.float64(r) + 0.5) * (1.0 / 9007199254740992.0)


@nb.njit(cache=True)
def normal(st):
    u1 = uniform(st)
    u2 = uniform(st)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@nb.njit(cache=True)
def poisson(st, mean):
    """Poisson deviate (inversion below 30, Gaussian approximation above)."""
    if mean <= 0.0:
        return 0
    if mean > 30.0:
        k = int(mean + math.sqrt(mean) * normal(st) + 0.5)
        return max(k, 0)
    L = math.exp(-mean)
    k = 0
    p = uniform(st)
    while p > L:
        k += 1
        p *= uniform(st)
    return k


@nb.njit(cache=True)
def isotropic(st):
    cz = 2.0 * uniform(st) - 1.0
    sz = math.sqrt(max(0.0, 1.0 - cz * cz))
    ph = 2.0 * math.pi * uniform(st)
    return sz * math.cos(ph), sz * math.sin(ph), cz


@nb.njit(cache=True)
def rotate(dx, dy, dz, cost, phi):
    """The unit vector at polar angle acos(cost) and azimuth phi around (dx, dy, dz)."""
    sint = math.sqrt(max(0.0, 1.0 - cost * cost))
    cp, sp = math.cos(phi), math.sin(phi)
    if abs(dz) < 0.99999:
        s = math.sqrt(1.0 - dz * dz)
        ux, uy, uz = -dy / s, dx / s, 0.0  # perpendicular to d
        vx, vy, vz = dy * uz - dz * uy, dz * ux - dx * uz, dx * uy - dy * ux
    else:
        ux, uy, uz = 1.0, 0.0, 0.0
        vx, vy, vz = 0.0, (1.0 if dz > 0 else -1.0), 0.0
    return (
        sint * (cp * ux + sp * vx) + cost * dx,
        sint * (cp * uy + sp * vy) + cost * dy,
        sint * (cp * uz + sp * vz) + cost * dz,
    )


# --- geometry primitives ------------------------------------------------------------------------


@nb.njit(cache=True)
def exit_cylinder(x, y, z, dx, dy, dz, R, zlo, zhi):
    """From inside a closed cylinder: distance to its surface and the outward normal there."""
    a = dx * dx + dy * dy
    t = 1e30
    nx, ny, nz = 0.0, 0.0, 0.0
    if a > 1e-300:
        b = x * dx + y * dy
        c = x * x + y * y - R * R
        disc = b * b - a * c
        if disc < 0.0:
            disc = 0.0
        ts = (-b + math.sqrt(disc)) / a
        if ts < t:
            t = max(ts, 0.0)
            hx, hy = x + t * dx, y + t * dy
            nx, ny, nz = hx / R, hy / R, 0.0
    if dz > 0.0:
        tz = (zhi - z) / dz
        if tz < t:
            t = max(tz, 0.0)
            nx, ny, nz = 0.0, 0.0, 1.0
    elif dz < 0.0:
        tz = (zlo - z) / dz
        if tz < t:
            t = max(tz, 0.0)
            nx, ny, nz = 0.0, 0.0, -1.0
    return t, nx, ny, nz


@nb.njit(cache=True)
def enter_cylinder(x, y, z, dx, dy, dz, R, zlo, zhi):
    """From outside a closed cylinder: distance to where the ray enters it (1e30 if never), outward normal."""
    t = 1e30
    nx, ny, nz = 0.0, 0.0, 0.0
    a = dx * dx + dy * dy
    if a > 1e-300:
        b = x * dx + y * dy
        c = x * x + y * y - R * R
        disc = b * b - a * c
        if disc >= 0.0 and c > -1e-9:
            t1 = (-b - math.sqrt(disc)) / a
            if t1 > EPS:
                hz = z + t1 * dz
                if zlo <= hz <= zhi:
                    t = t1
                    nx, ny, nz = (x + t1 * dx) / R, (y + t1 * dy) / R, 0.0
    if dz < 0.0 and z >= zhi - 1e-9:
        tz = (zhi - z) / dz
        if EPS < tz < t:
            hx, hy = x + tz * dx, y + tz * dy
            if hx * hx + hy * hy <= R * R:
                t = tz
                nx, ny, nz = 0.0, 0.0, 1.0
    elif dz > 0.0 and z <= zlo + 1e-9:
        tz = (zlo - z) / dz
        if EPS < tz < t:
            hx, hy = x + tz * dx, y + tz * dy
            if hx * hx + hy * hy <= R * R:
                t = tz
                nx, ny, nz = 0.0, 0.0, -1.0
    return t, nx, ny, nz


@nb.njit(cache=True)
def volume_of(x, y, z, cyl):
    """Index of the volume holding the point (0 D2O, 1 acrylic, 2 H2O) or -1 outside the liner."""
    r2 = x * x + y * y
    for v in range(3):
        if r2 <= cyl[v, 0] * cyl[v, 0] and cyl[v, 1] <= z <= cyl[v, 2]:
            return v
    return -1


@nb.njit(cache=True)
def fresnel_reflectance(cosi, n1, n2):
    """Unpolarised Fresnel reflectance and cos of the refraction angle (reflectance 1: total reflection)."""
    eta = n1 / n2
    sin2t = eta * eta * (1.0 - cosi * cosi)
    if sin2t >= 1.0:
        return 1.0, 0.0
    cost = math.sqrt(1.0 - sin2t)
    rs = (n1 * cosi - n2 * cost) / (n1 * cosi + n2 * cost)
    rp = (n1 * cost - n2 * cosi) / (n1 * cost + n2 * cosi)
    return 0.5 * (rs * rs + rp * rp), cost


# --- one photon ---------------------------------------------------------------------------------


@nb.njit(cache=True)
def trace_photon(x, y, z, dx, dy, dz, il, vol, st, cyl, tables, pmts, refl, diffuse):
    """Trace one photon (wavelength bin ``il``) from volume ``vol``; return the PMT index hit or -1."""
    npmt = pmts.shape[0]
    for _ in range(MAX_STEPS):
        # distance to the next surface and what lies behind it
        if vol == 0:
            tb, nx, ny, nz = exit_cylinder(x, y, z, dx, dy, dz, cyl[0, 0], cyl[0, 1], cyl[0, 2])
            nxt = 1
        elif vol == 1:
            tb, nx, ny, nz = enter_cylinder(x, y, z, dx, dy, dz, cyl[0, 0], cyl[0, 1], cyl[0, 2])
            nxt = 0
            t2, mx, my, mz = exit_cylinder(x, y, z, dx, dy, dz, cyl[1, 0], cyl[1, 1], cyl[1, 2])
            if t2 < tb:
                tb, nx, ny, nz, nxt = t2, mx, my, mz, 2
        else:
            tb, nx, ny, nz = enter_cylinder(x, y, z, dx, dy, dz, cyl[1, 0], cyl[1, 1], cyl[1, 2])
            nxt = 1
            t2, mx, my, mz = exit_cylinder(x, y, z, dx, dy, dz, cyl[2, 0], cyl[2, 1], cyl[2, 2])
            if t2 < tb:
                tb, nx, ny, nz, nxt = t2, mx, my, mz, 3  # 3: the liner
            for k in range(npmt):
                f = pmts[k, 3]
                if dz * f < 0.0:  # moving against the disc's facing direction: can hit its sensitive side
                    tp = (pmts[k, 2] - z) / dz
                    if EPS < tp <= tb:
                        hx = x + tp * dx - pmts[k, 0]
                        hy = y + tp * dy - pmts[k, 1]
                        if hx * hx + hy * hy <= pmts[k, 4] * pmts[k, 4]:
                            tb, nxt = tp, 10 + k
                elif dz * f > 0.0:  # from behind: the PMT body absorbs
                    tp = (pmts[k, 2] - z) / dz
                    if EPS < tp < tb:
                        hx = x + tp * dx - pmts[k, 0]
                        hy = y + tp * dy - pmts[k, 1]
                        if hx * hx + hy * hy <= pmts[k, 4] * pmts[k, 4]:
                            tb, nxt = tp, 4
        # one free path for absorption + Rayleigh scattering, then which of the two happened
        inv_abs = 1.0 / tables[vol, 1, il]
        inv_tot = inv_abs + 1.0 / tables[vol, 2, il]
        s_int = -math.log(uniform(st)) / inv_tot
        if s_int < tb:
            if uniform(st) * inv_tot < inv_abs:
                return -1
            x += s_int * dx
            y += s_int * dy
            z += s_int * dz
            # Rayleigh: 1 + cos^2 by rejection
            while True:
                c = 2.0 * uniform(st) - 1.0
                if 2.0 * uniform(st) <= 1.0 + c * c:
                    break
            dx, dy, dz = rotate(dx, dy, dz, c, 2.0 * math.pi * uniform(st))
            continue
        x += tb * dx
        y += tb * dy
        z += tb * dz
        if nxt >= 10:
            return nxt - 10
        if nxt == 4:
            return -1
        if nxt == 3:  # liner: side, top or bottom
            r = refl[0] if nz == 0.0 else (refl[1] if nz > 0.0 else refl[2])
            if uniform(st) >= r:
                return -1
            if diffuse == 1:  # Lambertian around the inward normal
                c = math.sqrt(uniform(st))
                dx, dy, dz = rotate(-nx, -ny, -nz, c, 2.0 * math.pi * uniform(st))
            else:
                dn = dx * nx + dy * ny + dz * nz
                dx, dy, dz = dx - 2 * dn * nx, dy - 2 * dn * ny, dz - 2 * dn * nz
            continue
        # dielectric interface between vol and nxt; orient the normal against the photon
        dn = dx * nx + dy * ny + dz * nz
        if dn > 0.0:
            nx, ny, nz, dn = -nx, -ny, -nz, -dn
        cosi = -dn
        n1 = tables[vol, 0, il]
        n2 = tables[nxt, 0, il]
        R, cost = fresnel_reflectance(cosi, n1, n2)
        if uniform(st) < R:
            dx, dy, dz = dx + 2 * cosi * nx, dy + 2 * cosi * ny, dz + 2 * cosi * nz
        else:
            eta = n1 / n2
            k = eta * cosi - cost
            dx, dy, dz = eta * dx + k * nx, eta * dy + k * ny, eta * dz + k * nz
            norm = math.sqrt(dx * dx + dy * dy + dz * dz)
            dx, dy, dz = dx / norm, dy / norm, dz / norm
            vol = nxt
    return -1


@nb.njit(cache=True, parallel=True)
def trace_batch(pos, dirs, il, vol, seed, cyl, tables, pmts, refl, diffuse, chunk):
    """Trace a batch of photons; return the PMT index (or -1) of each. Chunks of ``chunk`` share a stream."""
    n = pos.shape[0]
    out = np.empty(n, dtype=np.int32)
    nchunks = (n + chunk - 1) // chunk
    for c in nb.prange(nchunks):
        st = seed_state(seed, c)
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            out[i] = trace_photon(
                pos[i, 0], pos[i, 1], pos[i, 2], dirs[i, 0], dirs[i, 1], dirs[i, 2], il[i], vol[i], st,
                cyl, tables, pmts, refl, diffuse,
            )  # fmt: skip
    return out


# --- backends -----------------------------------------------------------------------------------


class PhotonBackend(Protocol):
    """What a transport backend provides (a GPU implementation would subclass this interface)."""

    name: str

    def trace(self, geom: OpticalGeometry, pos: np.ndarray, dirs: np.ndarray, wavelength_nm: np.ndarray,
              seed: int, apply_detection_probability: bool = False) -> np.ndarray:  # fmt: skip
        """PMT index reached by each photon (-1: none); optionally then QE x collection efficiency."""
        ...

    def simulate_events(self, geom: OpticalGeometry, kinds: np.ndarray, energies_MeV: np.ndarray,
                        pos: np.ndarray, dirs: np.ndarray, seed: int) -> dict[str, np.ndarray]:  # fmt: skip
        """Full events (particle showers -> light -> PE); see :mod:`d2oflux.optics.tracks`."""
        ...


class NumbaCPUBackend:
    """The multi-threaded CPU backend (numba ``prange``)."""

    name = "numba-cpu"

    def trace(self, geom, pos, dirs, wavelength_nm, seed, apply_detection_probability=False):
        pos = np.ascontiguousarray(pos, dtype=float)
        dirs = np.ascontiguousarray(dirs, dtype=float)
        dirs = np.ascontiguousarray(dirs / np.linalg.norm(dirs, axis=1, keepdims=True))
        il = wavelength_index(geom, np.broadcast_to(wavelength_nm, (len(pos),)))
        vol = volumes_of(pos, geom.cylinders)
        if np.any(vol < 0):
            raise ValueError("photon start points outside the liner")
        hit = trace_batch(
            pos, dirs, il, vol, int(seed), geom.cylinders, geom.tables, geom.pmts, geom.reflectivity,
            geom.diffuse, 4096,
        )  # fmt: skip
        if apply_detection_probability:
            u = np.random.default_rng([int(seed), 1]).random(len(hit))
            hit = np.where(u < geom.detect_prob[il], hit, -1)
        return hit

    def simulate_events(self, geom, kinds, energies_MeV, pos, dirs, seed):
        from .tracks import simulate_events

        return simulate_events(geom, kinds, energies_MeV, pos, dirs, seed)


def wavelength_index(geom: OpticalGeometry, wavelength_nm) -> np.ndarray:
    """Index of each wavelength on the geometry's grid (nearest bin, clipped)."""
    lam = np.broadcast_to(np.asarray(wavelength_nm, dtype=float), (np.size(wavelength_nm),))
    i = np.rint((lam - geom.lambda_min_nm) / geom.lambda_step_nm).astype(np.int64)
    return np.clip(i, 0, geom.detect_prob.size - 1)


@nb.njit(cache=True)
def volumes_of(pos, cyl):
    out = np.empty(pos.shape[0], dtype=np.int64)
    for i in range(pos.shape[0]):
        out[i] = volume_of(pos[i, 0], pos[i, 1], pos[i, 2], cyl)
    return out


BACKENDS: dict[str, type] = {"numba-cpu": NumbaCPUBackend}


def get_backend(name: str = "numba-cpu") -> PhotonBackend:
    """The transport backend by name (only ``"numba-cpu"`` exists today)."""
    return BACKENDS[name]()
