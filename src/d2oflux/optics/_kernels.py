"""Every numba kernel of the optical simulation, in one module.

The model is described in :mod:`d2oflux.optics.photons` (photon transport) and
:mod:`d2oflux.optics.tracks` (electrons, gammas and their light); their Python entry points live there.
The kernels share one file because numba's on-disk cache (``cache=True``) checks only the source file
of the function it compiled: a cached kernel that calls a kernel of another file keeps its compiled
copy of the callee after that other file changes (a documented numba limitation). Here, any edit
invalidates every kernel together.

Speed notes (none changes the physics):

* free paths are sampled as an optical depth ``tau ~ Exp(1)`` carried across interfaces and used up as
  ``sum(mu_i * l_i)`` (mu: absorption + Rayleigh coefficient of each volume). By the memorylessness of
  the exponential this is the same distribution as a fresh exponential free path at every boundary,
  with one logarithm per interaction instead of one per step;
* the coefficients are precomputed per volume and wavelength (:func:`photon_table`);
* azimuths are sampled without trigonometric functions (a point uniform in the unit disc, its angle
  doubled), and Lambertian directions by Malley's method (a point uniform in the unit disc projected
  onto the hemisphere: cosine-weighted);
* ``error_model="numpy"`` (no Python zero-division checks; no division here can have a zero divisor
  that matters: 1 / inf Rayleigh lengths give 0, as intended) and bounds checks off (numba's default);
* a subset of fastmath, ~8 % here: ``contract`` (fused multiply-add, more accurate), ``arcp`` (division
  as multiplication by the reciprocal, <= 1 ulp) and ``nsz`` (the sign of zero ignored). Not ``nnan``,
  ``ninf``, ``reassoc`` or ``afn``: NaN/inf handling, evaluation order and the libm functions are kept.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ..constants import ALPHA_EM, M_E_MEV

#: numba options of the kernels (see the module docstring for the fastmath subset).
JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract", "arcp", "nsz"}}

EPS = 1e-6  # cm: distances below this are the surface the photon sits on
MAX_STEPS = 2000  # interactions per photon before it is dropped (guided in the thin acrylic, rare)

ME = M_E_MEV  # MeV, PDG 2024 (d2oflux.constants; numba reads module globals as compile-time constants)
ALPHA = ALPHA_EM
RE_CM = 2.8179403262e-13  # classical electron radius, PDG 2024
K_CUT = 0.5  # MeV: bremsstrahlung photons above it are sampled
T_CUT = 0.15  # MeV: below every Cherenkov threshold of the module (0.26 MeV water, 0.18 MeV acrylic)
T_CUT_SCINT = 0.05
MAX_STEP_CM = 0.3
STACK = 64
ELECTRON, GAMMA = 0, 1

# --- random numbers -----------------------------------------------------------------------------


@nb.njit(**JIT)
def splitmix64(x):
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@nb.njit(**JIT)
def seed_state(seed, stream):
    """A non-zero xorshift state for stream ``stream`` of ``seed``."""
    st = np.empty(1, dtype=np.uint64)
    s = splitmix64(np.uint64(seed) * np.uint64(0x100000001B3) + np.uint64(stream))
    st[0] = splitmix64(s) | np.uint64(1)
    return st


@nb.njit(**JIT)
def uniform(st):
    """A float in (0, 1) from the xorshift64* state ``st[0]``."""
    x = st[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    st[0] = x
    r = (x * np.uint64(2685821657736338717)) >> np.uint64(11)
    return (np.float64(r) + 0.5) * (1.0 / 9007199254740992.0)


@nb.njit(**JIT)
def normal(st):
    u1 = uniform(st)
    u2 = uniform(st)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@nb.njit(**JIT)
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


@nb.njit(**JIT)
def azimuth(st):
    """(cos phi, sin phi) of an azimuth uniform in [0, 2 pi): a point uniform in the unit disc, angle doubled."""
    while True:
        a = 2.0 * uniform(st) - 1.0
        b = 2.0 * uniform(st) - 1.0
        r2 = a * a + b * b
        if 0.0 < r2 <= 1.0:
            break
    inv = 1.0 / r2
    return (a * a - b * b) * inv, 2.0 * a * b * inv


@nb.njit(**JIT)
def isotropic(st):
    cz = 2.0 * uniform(st) - 1.0
    sz = math.sqrt(max(0.0, 1.0 - cz * cz))
    cp, sp = azimuth(st)
    return sz * cp, sz * sp, cz


@nb.njit(**JIT)
def rotate_cs(dx, dy, dz, cost, cp, sp):
    """The unit vector at polar angle acos(cost) and azimuth (cos, sin) = (cp, sp) around (dx, dy, dz)."""
    sint = math.sqrt(max(0.0, 1.0 - cost * cost))
    if abs(dz) < 0.99999:
        s = 1.0 / math.sqrt(1.0 - dz * dz)
        ux, uy = -dy * s, dx * s  # perpendicular to d (uz = 0)
        vx, vy, vz = -dz * uy, dz * ux, dx * uy - dy * ux
        return (
            sint * (cp * ux + sp * vx) + cost * dx,
            sint * (cp * uy + sp * vy) + cost * dy,
            sint * sp * vz + cost * dz,
        )
    sg = 1.0 if dz > 0 else -1.0
    return sint * cp + cost * dx, sint * sp * sg + cost * dy, cost * dz


@nb.njit(**JIT)
def rotate(dx, dy, dz, cost, phi):
    """The unit vector at polar angle acos(cost) and azimuth phi around (dx, dy, dz)."""
    return rotate_cs(dx, dy, dz, cost, math.cos(phi), math.sin(phi))


# --- geometry primitives ------------------------------------------------------------------------


@nb.njit(**JIT)
def exit_cylinder(x, y, z, dx, dy, dz, idz, R, zlo, zhi):
    """From inside a closed cylinder: distance to its surface and the outward normal there (idz = 1/dz)."""
    a = dx * dx + dy * dy
    t = 1e30
    nx, ny, nz = 0.0, 0.0, 0.0
    if a > 1e-300:
        b = x * dx + y * dy
        c = x * x + y * y - R * R
        disc = b * b - a * c
        if disc < 0.0:
            disc = 0.0
        t = max((-b + math.sqrt(disc)) / a, 0.0)
        iR = 1.0 / R
        nx, ny = (x + t * dx) * iR, (y + t * dy) * iR
    if dz > 0.0:
        tz = (zhi - z) * idz
        if tz < t:
            t = max(tz, 0.0)
            nx, ny, nz = 0.0, 0.0, 1.0
    elif dz < 0.0:
        tz = (zlo - z) * idz
        if tz < t:
            t = max(tz, 0.0)
            nx, ny, nz = 0.0, 0.0, -1.0
    return t, nx, ny, nz


@nb.njit(**JIT)
def enter_cylinder(x, y, z, dx, dy, dz, idz, R, zlo, zhi):
    """From outside a closed cylinder: distance to where the ray enters it (1e30 if never), outward normal."""
    t = 1e30
    nx, ny, nz = 0.0, 0.0, 0.0
    a = dx * dx + dy * dy
    if a > 1e-300:
        b = x * dx + y * dy
        c = x * x + y * y - R * R
        disc = b * b - a * c
        if disc >= 0.0 and c > -1e-9 and b < 0.0:  # b >= 0: moving away from the axis, no entry
            t1 = (-b - math.sqrt(disc)) / a
            if t1 > EPS:
                hz = z + t1 * dz
                if zlo <= hz <= zhi:
                    t = t1
                    nx, ny, nz = (x + t1 * dx) / R, (y + t1 * dy) / R, 0.0
    if dz < 0.0 and z >= zhi - 1e-9:
        tz = (zhi - z) * idz
        if EPS < tz < t:
            hx, hy = x + tz * dx, y + tz * dy
            if hx * hx + hy * hy <= R * R:
                t = tz
                nx, ny, nz = 0.0, 0.0, 1.0
    elif dz > 0.0 and z <= zlo + 1e-9:
        tz = (zlo - z) * idz
        if EPS < tz < t:
            hx, hy = x + tz * dx, y + tz * dy
            if hx * hx + hy * hy <= R * R:
                t = tz
                nx, ny, nz = 0.0, 0.0, -1.0
    return t, nx, ny, nz


@nb.njit(**JIT)
def volume_of(x, y, z, cyl):
    """Index of the volume holding the point (0 D2O, 1 acrylic, 2 H2O) or -1 outside the liner."""
    r2 = x * x + y * y
    for v in range(3):
        if r2 <= cyl[v, 0] * cyl[v, 0] and cyl[v, 1] <= z <= cyl[v, 2]:
            return v
    return -1


@nb.njit(**JIT)
def volumes_of(pos, cyl):
    out = np.empty(pos.shape[0], dtype=np.int64)
    for i in range(pos.shape[0]):
        out[i] = volume_of(pos[i, 0], pos[i, 1], pos[i, 2], cyl)
    return out


@nb.njit(**JIT)
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


@nb.njit(**JIT)
def photon_table(tables):
    """Per volume and wavelength: refractive index, attenuation coefficient mu = 1/L_abs + 1/L_Rayleigh
    [1/cm], and the probability that an interaction is an absorption (from ``tables``: n, L_abs, L_Rayleigh)."""
    out = np.empty_like(tables)
    for v in range(tables.shape[0]):
        for i in range(tables.shape[2]):
            mu_abs = 1.0 / tables[v, 1, i]
            mu = mu_abs + 1.0 / tables[v, 2, i]
            out[v, 0, i] = tables[v, 0, i]
            out[v, 1, i] = mu
            out[v, 2, i] = mu_abs / mu if mu > 0.0 else 1.0
    return out


@nb.njit(**JIT)
def pmt_planes(pmts):
    """PMT discs grouped by the plane they lie in, so that a step tests each plane once.

    Returns ``planes`` (rows ``[z, first, stop]``: discs ``first .. stop - 1`` lie at height z [cm]) and
    ``discs`` (rows ``[x, y, facing, radius^2, PMT index]``, sorted by z).
    """
    n = pmts.shape[0]
    order = np.arange(n)  # by z, stable (insertion sort: a few dozen PMTs, and no costly np.argsort compile)
    for j in range(1, n):
        k = order[j]
        i = j - 1
        while i >= 0 and pmts[order[i], 2] > pmts[k, 2]:
            order[i + 1] = order[i]
            i -= 1
        order[i + 1] = k
    discs = np.empty((n, 5))
    planes = np.empty((n, 3))
    m = 0
    for j in range(n):
        k = order[j]
        discs[j, 0], discs[j, 1], discs[j, 2] = pmts[k, 0], pmts[k, 1], pmts[k, 3]
        discs[j, 3], discs[j, 4] = pmts[k, 4] * pmts[k, 4], k
        if m == 0 or pmts[k, 2] != planes[m - 1, 0]:
            planes[m, 0], planes[m, 1] = pmts[k, 2], j
            m += 1
        planes[m - 1, 2] = j + 1
    return planes[:m].copy(), discs


@nb.njit(**JIT)
def trace_photon(x, y, z, dx, dy, dz, il, vol, st, cyl, optab, planes, discs, refl, diffuse):
    """Trace one photon (wavelength bin ``il``) from volume ``vol``.

    ``optab`` is :func:`photon_table` of the geometry's tables, ``planes, discs`` :func:`pmt_planes` of its
    PMTs. Returns the PMT index hit (or -1) and the
    number of steps taken (each step: to the next surface, or to an absorption or scattering point).
    """
    tau = -math.log(uniform(st))  # optical depth to the next absorption or scattering
    for step in range(MAX_STEPS):
        idz = 1.0 / dz if dz != 0.0 else 1e300
        # distance to the next surface and what lies behind it
        if vol == 0:
            tb, nx, ny, nz = exit_cylinder(x, y, z, dx, dy, dz, idz, cyl[0, 0], cyl[0, 1], cyl[0, 2])
            nxt = 1
        elif vol == 1:
            tb, nx, ny, nz = enter_cylinder(x, y, z, dx, dy, dz, idz, cyl[0, 0], cyl[0, 1], cyl[0, 2])
            nxt = 0
            t2, mx, my, mz = exit_cylinder(x, y, z, dx, dy, dz, idz, cyl[1, 0], cyl[1, 1], cyl[1, 2])
            if t2 < tb:
                tb, nx, ny, nz, nxt = t2, mx, my, mz, 2
        else:
            tb, nx, ny, nz = enter_cylinder(x, y, z, dx, dy, dz, idz, cyl[1, 0], cyl[1, 1], cyl[1, 2])
            nxt = 1
            t2, mx, my, mz = exit_cylinder(x, y, z, dx, dy, dz, idz, cyl[2, 0], cyl[2, 1], cyl[2, 2])
            if t2 < tb:
                tb, nx, ny, nz, nxt = t2, mx, my, mz, 3  # 3: the liner
            if dz != 0.0:
                for j in range(planes.shape[0]):
                    tp = (planes[j, 0] - z) * idz  # same expression as the liner planes: a disc on them ties
                    if EPS < tp <= tb:
                        hx0, hy0 = x + tp * dx, y + tp * dy
                        for k in range(int(planes[j, 1]), int(planes[j, 2])):
                            hx = hx0 - discs[k, 0]
                            hy = hy0 - discs[k, 1]
                            if hx * hx + hy * hy <= discs[k, 3]:
                                if dz * discs[k, 2] < 0.0:  # against the disc's facing direction: sensitive side
                                    tb, nxt = tp, 10 + int(discs[k, 4])
                                elif tp < tb:  # from behind: the PMT body absorbs
                                    tb, nxt = tp, 4
        # absorption or Rayleigh scattering before the surface?
        mu = optab[vol, 1, il]
        if tau < tb * mu:
            s_int = tau / mu
            if uniform(st) < optab[vol, 2, il]:
                return -1, step + 1
            x += s_int * dx
            y += s_int * dy
            z += s_int * dz
            # Rayleigh: 1 + cos^2 by rejection
            while True:
                c = 2.0 * uniform(st) - 1.0
                if 2.0 * uniform(st) <= 1.0 + c * c:
                    break
            cp, sp = azimuth(st)
            dx, dy, dz = rotate_cs(dx, dy, dz, c, cp, sp)
            tau = -math.log(uniform(st))
            continue
        tau -= tb * mu
        x += tb * dx
        y += tb * dy
        z += tb * dz
        if nxt >= 10:
            return nxt - 10, step + 1
        if nxt == 4:
            return -1, step + 1
        if nxt == 3:  # liner: side, top or bottom
            r = refl[0] if nz == 0.0 else (refl[1] if nz > 0.0 else refl[2])
            if uniform(st) >= r:
                return -1, step + 1
            if diffuse == 1:  # Lambertian around the inward normal (Malley: unit disc -> hemisphere)
                while True:
                    a = 2.0 * uniform(st) - 1.0
                    b = 2.0 * uniform(st) - 1.0
                    q = a * a + b * b
                    if q <= 1.0:
                        break
                c = math.sqrt(1.0 - q)
                if nz == 0.0:  # side: inward normal (-nx, -ny, 0); tangents (-ny, nx, 0) and z
                    dx, dy, dz = -c * nx - a * ny, -c * ny + a * nx, b
                else:  # top (nz = 1) or bottom (nz = -1)
                    dx, dy, dz = a, b, -c * nz
            else:
                dn = dx * nx + dy * ny + dz * nz
                dx, dy, dz = dx - 2 * dn * nx, dy - 2 * dn * ny, dz - 2 * dn * nz
            continue
        # dielectric interface between vol and nxt; orient the normal against the photon
        dn = dx * nx + dy * ny + dz * nz
        if dn > 0.0:
            nx, ny, nz, dn = -nx, -ny, -nz, -dn
        cosi = -dn
        n1 = optab[vol, 0, il]
        n2 = optab[nxt, 0, il]
        R, cost = fresnel_reflectance(cosi, n1, n2)
        if uniform(st) < R:
            dx, dy, dz = dx + 2 * cosi * nx, dy + 2 * cosi * ny, dz + 2 * cosi * nz
        else:
            eta = n1 / n2
            k = eta * cosi - cost
            # a unit vector by construction (|eta d + k n|^2 = eta^2 + 2 eta k (d.n) + k^2 = 1)
            dx, dy, dz = eta * dx + k * nx, eta * dy + k * ny, eta * dz + k * nz
            vol = nxt
    return -1, MAX_STEPS


@nb.njit(nogil=True, **JIT)
def trace_chunks(first, last, chunk, pos, dirs, il, vol, seed, cyl, optab, planes, discs, refl, diffuse, out, steps):
    """Trace the photons of chunks ``first .. last - 1`` (``chunk`` photons each, one random stream per chunk)
    into ``out`` (PMT index or -1) and ``steps``. Releases the GIL: threads run disjoint chunk ranges."""
    n = pos.shape[0]
    for c in range(first, last):
        st = seed_state(seed, c)
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            out[i], steps[i] = trace_photon(
                pos[i, 0], pos[i, 1], pos[i, 2], dirs[i, 0], dirs[i, 1], dirs[i, 2], il[i], vol[i], st,
                cyl, optab, planes, discs, refl, diffuse,
            )  # fmt: skip


# --- light along a charged track ----------------------------------------------------------------


@nb.njit(**JIT)
def collision_stopping_power(T, n_el, I, dens):
    """Electron collision stopping power [MeV/cm] at kinetic energy T [MeV] (ICRU 37 Bethe formula)."""
    tau = T / ME
    g = tau + 1.0
    b2 = 1.0 - 1.0 / (g * g)
    # density effect
    x = math.log10(math.sqrt(g * g - 1.0))
    C, x0, x1, a, m = dens[0], dens[1], dens[2], dens[3], dens[4]
    if x >= x1:
        delta = 4.6052 * x - C
    elif x >= x0:
        delta = 4.6052 * x - C + a * (x1 - x) ** m
    else:
        delta = 0.0
    F = 1.0 - b2 + (tau * tau / 8.0 - (2.0 * tau + 1.0) * math.log(2.0)) / (g * g)
    L = math.log(tau * tau * (tau + 2.0) / (2.0 * (I / ME) ** 2)) + F - delta
    return 2.0 * math.pi * RE_CM * RE_CM * ME * n_el / b2 * L


@nb.njit(**JIT)
def highland_theta0_squared(T, x):
    """Highland's plane-projected r.m.s. angle squared [rad^2] for an electron of kinetic energy T [MeV]
    after ``x`` radiation lengths (PDG, Passage of particles through matter, eq. 34.15)."""
    if x <= 0.0:
        return 0.0
    g = 1.0 + T / ME
    b2 = 1.0 - 1.0 / (g * g)
    p = math.sqrt(T * (T + 2.0 * ME))
    f = 1.0 + 0.038 * math.log(x / b2)
    return (13.6 / p) ** 2 / b2 * x * f * f


@nb.njit(**JIT)
def highland_step_theta0(T, dx, x_path):
    """Plane-projected r.m.s. angle [rad] of a step of ``dx`` radiation lengths taken after ``x_path``.

    Highland's formula is not additive over steps (its logarithm depends on the whole thickness): applied
    to each step alone it gives, over 5-20 cm of water, an accumulated angle 13-17 % below Highland for
    the whole path. Here each step adds the increase of the squared Highland angle of the path so far, so
    that at constant energy the steps add up to Highland for the whole path; the energy of the step enters
    both terms (energy loss along the path treated step by step)."""
    return math.sqrt(max(highland_theta0_squared(T, x_path + dx) - highland_theta0_squared(T, x_path), 0.0))


@nb.njit(**JIT)
def klein_nishina_sigma(E):
    """Klein-Nishina total cross section per electron [cm^2]."""
    k = E / ME
    l = math.log(1.0 + 2.0 * k)
    return (
        2.0 * math.pi * RE_CM * RE_CM
        * ((1.0 + k) / k**2 * (2.0 * (1.0 + k) / (1.0 + 2.0 * k) - l / k) + l / (2.0 * k)
           - (1.0 + 3.0 * k) / (1.0 + 2.0 * k) ** 2)
    )  # fmt: skip


@nb.njit(**JIT)
def cherenkov_mean(beta, s, nmax, wsum):
    """Frank-Tamm count of detectable-photon candidates in a step of ``s`` cm at the largest index ``nmax``:
    ``2 pi alpha s (1 - 1/(beta nmax)^2) int detect(lambda) dlambda / lambda^2`` (``wsum`` [1/nm])."""
    return 2.0 * math.pi * ALPHA * s * wsum * 1e7 * (1.0 - 1.0 / (beta * beta * nmax * nmax))


@nb.njit(**JIT)
def cherenkov_sampler(detect, lam0, dlam):
    """Alias table (Vose 1991) of the wavelength bin of a detectable Cherenkov photon, and its total weight.

    Bin ``i`` holds the wavelengths nearest to ``lam0 + i dlam`` [nm] within the grid's range; its weight
    is the 1/lambda^2 spectrum integrated over the bin times the detection probability ``detect[i]``.
    Returns ``table`` (rows: acceptance probability, alias bin) and the summed weight [1/nm]."""
    nl = detect.shape[0]
    l1, l2 = lam0, lam0 + dlam * (nl - 1)
    w = np.empty(nl)
    for i in range(nl):
        a = max(lam0 + (i - 0.5) * dlam, l1)
        b = min(lam0 + (i + 0.5) * dlam, l2)
        w[i] = detect[i] * (1.0 / a - 1.0 / b)
    total = w.sum()
    table = np.zeros((2, nl))
    if total <= 0.0:
        return table, 0.0
    q = w * (nl / total)
    small = np.empty(nl, np.int64)
    large = np.empty(nl, np.int64)
    ns = nl_ = 0
    for i in range(nl):
        if q[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl_] = i
            nl_ += 1
    while ns > 0 and nl_ > 0:
        ns -= 1
        j = small[ns]
        k = large[nl_ - 1]
        table[0, j] = q[j]
        table[1, j] = k
        q[k] -= 1.0 - q[j]
        if q[k] < 1.0:
            nl_ -= 1
            small[ns] = k
            ns += 1
    for r in range(nl_):
        table[0, large[r]] = 1.0
        table[1, large[r]] = large[r]
    for r in range(ns):  # rounding leftovers
        table[0, small[r]] = 1.0
        table[1, small[r]] = small[r]
    return table, total


@nb.njit(**JIT)
def cherenkov_wavelength(st, beta, fmax, vol, tables, alias):
    """Wavelength bin of a candidate photon drawn from the :func:`cherenkov_sampler` table, kept with
    probability (1 - 1/(beta n)^2) / fmax (the medium's n at that wavelength), or -1."""
    nl = alias.shape[1]
    u = uniform(st) * nl
    k = min(int(u), nl - 1)
    il = k if u - k < alias[0, k] else int(alias[1, k])
    n = tables[vol, 0, il]
    f = 1.0 - 1.0 / (beta * beta * n * n)
    if f <= 0.0 or uniform(st) * fmax > f:
        return -1
    return il


@nb.njit(**JIT)
def count_cherenkov(beta, s, nsteps, seed, vol, tables, detect, lam0, dlam):
    """Photons emitted (after the detection-probability rejection) in ``nsteps`` steps of ``s`` cm at ``beta``."""
    st = seed_state(seed, 0)
    alias, wsum = cherenkov_sampler(detect, lam0, dlam)
    nmax = tables[vol, 0].max()
    fmax = 1.0 - 1.0 / (beta * beta * nmax * nmax)
    total = 0
    for _ in range(nsteps):
        n = poisson(st, cherenkov_mean(beta, s, nmax, wsum))
        for _ in range(n):
            if cherenkov_wavelength(st, beta, fmax, vol, tables, alias) >= 0:
                total += 1
    return total


@nb.njit(**JIT)
def deliver_photon(x, y, z, px, py, pz, il, st, geom_cyl, optab, planes, discs, refl, diffuse, res, rec, rcount):
    """A created photon: traced here (scalar kernel) when the record has no rows, else appended to it.

    Its volume is the one holding its start point (not necessarily the emitting step's: a step can cross a
    surface); a photon starting beyond the liner is dropped. ``res[2]`` counts the rest.

    Traced: adds a PE to res[0] (and to res[1] if emitted in the light water). Recorded: a row of ``rec``
    (float32: x, y, z [cm], direction, wavelength bin, volume); ``rcount[0]`` goes on past the capacity,
    so that the caller sees the overflow."""
    vol = volume_of(x, y, z, geom_cyl)  # where the photon starts (its electron's step may cross a surface)
    if vol < 0:  # beyond the liner: never seen
        return
    res[2] += 1.0
    if rec.shape[0] == 0:
        hit, _ = trace_photon(x, y, z, px, py, pz, il, vol, st, geom_cyl, optab, planes, discs, refl, diffuse)
        if hit >= 0:
            res[0] += 1.0
            if vol == 2:
                res[1] += 1.0
        return
    k = rcount[0]
    if k < rec.shape[0]:
        rec[k, 0], rec[k, 1], rec[k, 2] = x, y, z
        rec[k, 3], rec[k, 4], rec[k, 5] = px, py, pz
        rec[k, 6], rec[k, 7] = il, vol
    rcount[0] = k + 1


@nb.njit(**JIT)
def emit_light(x0, y0, z0, dx, dy, dz, s, T_mid, dE_col, dedx, vol, st, geom_cyl, optab, nmax_v, detect, pmax,
               alias, wsum, lam0, dlam, planes, discs, refl, diffuse, scint, res, rec, rcount):  # fmt: skip
    """Cherenkov (and scintillation) photons of one step, handed to :func:`deliver_photon` (which counts them).

    ``optab`` is :func:`photon_table` of the geometry's tables (row 0: the index), ``nmax_v`` the largest
    index of each volume in the wavelength range, ``alias, wsum`` :func:`cherenkov_sampler` of ``detect``.
    """
    nl = detect.shape[0]
    g = 1.0 + T_mid / ME
    beta = math.sqrt(1.0 - 1.0 / (g * g))
    nmax = nmax_v[vol]
    l1 = lam0
    l2 = lam0 + dlam * (nl - 1)
    if beta * nmax > 1.0:
        fmax = 1.0 - 1.0 / (beta * beta * nmax * nmax)
        n = poisson(st, cherenkov_mean(beta, s, nmax, wsum))
        for _ in range(n):
            il = cherenkov_wavelength(st, beta, fmax, vol, optab, alias)
            if il < 0:
                continue
            cost = 1.0 / (beta * optab[vol, 0, il])
            cp, sp = azimuth(st)
            px, py, pz = rotate_cs(dx, dy, dz, cost, cp, sp)
            u = uniform(st) * s
            deliver_photon(x0 + u * dx, y0 + u * dy, z0 + u * dz, px, py, pz, il, st, geom_cyl, optab, planes,
                           discs, refl, diffuse, res, rec, rcount)  # fmt: skip
    ys = scint[vol, 0]
    if ys > 0.0 and dE_col > 0.0:
        quenched = dE_col / (1.0 + scint[vol, 1] * dedx)
        n = poisson(st, ys * quenched * pmax)
        for _ in range(n):
            lam = scint[vol, 2] + scint[vol, 3] * normal(st)
            if lam < l1 or lam > l2:
                continue
            il = int((lam - lam0) / dlam + 0.5)
            if uniform(st) * pmax > detect[il]:
                continue
            px, py, pz = isotropic(st)
            u = uniform(st) * s
            deliver_photon(x0 + u * dx, y0 + u * dy, z0 + u * dz, px, py, pz, il, st, geom_cyl, optab, planes,
                           discs, refl, diffuse, res, rec, rcount)  # fmt: skip


# --- electrons and gammas -----------------------------------------------------------------------


@nb.njit(**JIT)
def interp_clamped(x, xp, fp):
    """``np.interp(x, xp, fp)`` for a scalar (xp increasing; the end values outside), which numba compiles
    in a fraction of the time of its generic ``np.interp``."""
    n = xp.shape[0]
    if x <= xp[0]:
        return fp[0]
    if x >= xp[n - 1]:
        return fp[n - 1]
    lo, hi = 0, n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xp[mid] <= x:
            lo = mid
        else:
            hi = mid
    return fp[lo] + (fp[hi] - fp[lo]) * (x - xp[lo]) / (xp[hi] - xp[lo])


@nb.njit(**JIT)
def run_event(kind, E0, x, y, z, dx, dy, dz, st, cyl, optab, nmax_v, detect, pmax, alias, wsum, lam0, dlam, planes,
              discs, refl, diffuse, scint, mat, dens, att_E, att_mu, n_el_water, res, rec, rcount):  # fmt: skip
    """One primary (electron or gamma) and its secondaries; fills res = [PE, PE from H2O, photons created]
    (PE only when the photons are traced here: see :func:`deliver_photon`)."""
    sk = np.empty(STACK, dtype=np.int64)
    sv = np.empty((STACK, 7))
    top = 0
    sk[0] = kind
    sv[0, 0], sv[0, 1], sv[0, 2], sv[0, 3], sv[0, 4], sv[0, 5], sv[0, 6] = E0, x, y, z, dx, dy, dz
    top = 1
    any_scint = scint[0, 0] + scint[1, 0] + scint[2, 0] > 0.0
    while top > 0:
        top -= 1
        k = sk[top]
        E, px, py, pz, ux, uy, uz = sv[top, 0], sv[top, 1], sv[top, 2], sv[top, 3], sv[top, 4], sv[top, 5], sv[top, 6]
        if k == GAMMA:
            while E > 0.1:
                vol = volume_of(px, py, pz, cyl)
                if vol < 0:
                    break
                ne = mat[vol, 0]
                mu = interp_clamped(E, att_E, att_mu) * 0.998 * ne / n_el_water  # water mu/rho x rho, per electron
                t = -math.log(uniform(st)) / mu
                px += t * ux
                py += t * uy
                pz += t * uz
                if volume_of(px, py, pz, cyl) < 0:
                    break
                f_compton = min(1.0, klein_nishina_sigma(E) * ne / mu)
                if uniform(st) < f_compton:
                    kk = E / ME
                    e0 = 1.0 / (1.0 + 2.0 * kk)
                    a1 = -math.log(e0)
                    a2 = 0.5 * (1.0 - e0 * e0)
                    while True:
                        if uniform(st) * (a1 + a2) < a1:
                            eps = math.exp(-a1 * uniform(st))
                        else:
                            eps = math.sqrt(e0 * e0 + (1.0 - e0 * e0) * uniform(st))
                        tt = (1.0 - eps) / (kk * eps)
                        s2 = max(0.0, tt * (2.0 - tt))
                        if uniform(st) <= 1.0 - eps * s2 / (1.0 + eps * eps):
                            break
                    cost = 1.0 - tt
                    E1 = eps * E
                    gx, gy, gz = rotate(ux, uy, uz, cost, 2.0 * math.pi * uniform(st))
                    # electron momentum = p_gamma - p_gamma'
                    ex, ey, ez = E * ux - E1 * gx, E * uy - E1 * gy, E * uz - E1 * gz
                    pe = math.sqrt(ex * ex + ey * ey + ez * ez)
                    if top < STACK and E - E1 > T_CUT:
                        sk[top] = ELECTRON
                        sv[top, 0], sv[top, 1], sv[top, 2], sv[top, 3] = E - E1, px, py, pz
                        sv[top, 4], sv[top, 5], sv[top, 6] = ex / pe, ey / pe, ez / pe
                        top += 1
                    E, ux, uy, uz = E1, gx, gy, gz
                else:
                    avail = E - 2.0 * ME
                    if avail <= 0.0:
                        # below the pair threshold the rest of the (coherent-included) attenuation is mostly
                        # coherent scattering: the photon goes on, direction kept (forward-peaked); the
                        # photoelectric part (< 2 % of the attenuation in water above 0.1 MeV, XCOM) is neglected
                        continue
                    if avail > 0.0:
                        share = uniform(st) * avail
                        for part in (share, avail - share):
                            if top < STACK and part > T_CUT:
                                sk[top] = ELECTRON
                                sv[top, 0], sv[top, 1], sv[top, 2], sv[top, 3] = part, px, py, pz
                                sv[top, 4], sv[top, 5], sv[top, 6] = ux, uy, uz
                                top += 1
                    break
            continue
        # electron (or positron, treated alike)
        tcut = T_CUT_SCINT if any_scint else T_CUT
        T = E
        x_path = 0.0  # path length of this electron so far [radiation lengths]
        while T > tcut:
            vol = volume_of(px, py, pz, cyl)
            if vol < 0:
                break
            ne, I, X0 = mat[vol, 0], mat[vol, 1], mat[vol, 2]
            dedx = collision_stopping_power(T, ne, I, dens)
            Etot = T + ME
            ycut = K_CUT / Etot
            soft = 0.0
            s = min(MAX_STEP_CM, max(0.02, 0.05 * T / dedx))
            if ycut < 1.0:
                soft = Etot / X0 * (4.0 / 3.0 * ycut - 2.0 / 3.0 * ycut * ycut + ycut**3 / 3.0)
            else:
                soft = Etot / X0
            dE = (dedx + soft) * s
            if dE > T:
                s *= T / dE
                dE = T
            T_mid = T - 0.5 * dE
            emit_light(px, py, pz, ux, uy, uz, s, T_mid, dedx * s, dedx, vol, st, cyl, optab, nmax_v, detect,
                       pmax, alias, wsum, lam0, dlam, planes, discs, refl, diffuse, scint, res, rec,
                       rcount)  # fmt: skip
            px += s * ux
            py += s * uy
            pz += s * uz
            T -= dE
            # hard bremsstrahlung
            if ycut < 1.0 and T > K_CUT:
                nb_mean = s / X0 * (4.0 / 3.0 * (-math.log(ycut) - (1.0 - ycut)) + 0.5 * (1.0 - ycut * ycut))
                nbrem = poisson(st, nb_mean)
                for _ in range(nbrem):
                    while True:
                        yv = ycut * math.exp(-math.log(ycut) * uniform(st))
                        if uniform(st) * 4.0 / 3.0 <= 4.0 / 3.0 * (1.0 - yv) + yv * yv:
                            break
                    kgam = yv * (T + ME)
                    if kgam >= T:
                        kgam = 0.9 * T
                    T -= kgam
                    if top < STACK:
                        sk[top] = GAMMA
                        sv[top, 0], sv[top, 1], sv[top, 2], sv[top, 3] = kgam, px, py, pz
                        sv[top, 4], sv[top, 5], sv[top, 6] = ux, uy, uz
                        top += 1
            if T <= 0.0:
                break
            # multiple scattering: Highland for the path so far, the step adding its increment of variance
            th0 = highland_step_theta0(T, s / X0, x_path)
            x_path += s / X0
            if th0 > 0.0:
                tx = th0 * normal(st)
                ty = th0 * normal(st)
                th = math.sqrt(tx * tx + ty * ty)
                ux, uy, uz = rotate(ux, uy, uz, math.cos(min(th, math.pi)), 2.0 * math.pi * uniform(st))
        if any_scint and T > 0.0:
            vol = volume_of(px, py, pz, cyl)
            if vol >= 0 and scint[vol, 0] > 0.0:
                dedx = collision_stopping_power(max(T, 0.01), mat[vol, 0], mat[vol, 1], dens)
                emit_light(px, py, pz, ux, uy, uz, 1e-4, 0.0, T, dedx, vol, st, cyl, optab, nmax_v, detect, pmax,
                           alias, wsum, lam0, dlam, planes, discs, refl, diffuse, scint, res, rec,
                           rcount)  # fmt: skip


@nb.njit(**JIT)
def max_index(tables):
    """The largest refractive index of each volume on the wavelength grid."""
    out = np.empty(tables.shape[0])
    for v in range(tables.shape[0]):
        out[v] = tables[v, 0].max()
    return out


@nb.njit(nogil=True, **JIT)
def events_range(first, last, kinds, energies, pos, dirs, seed, cyl, optab, nmax_v, detect, pmax, lam0, dlam,
                 planes, discs, refl, diffuse, scint, mat, dens, att_E, att_mu, n_el_water, out):  # fmt: skip
    """Simulate primaries ``first .. last - 1`` (each its own random stream), tracing their photons here
    (scalar kernel), into rows of ``out``: [PE, PE from H2O, photons traced]. Releases the GIL."""
    res = np.zeros(3)
    rec = np.empty((0, 8), np.float32)
    rcount = np.zeros(1, np.int64)
    alias, wsum = cherenkov_sampler(detect, lam0, dlam)
    for i in range(first, last):
        st = seed_state(seed, i)
        res[:] = 0.0
        run_event(kinds[i], energies[i], pos[i, 0], pos[i, 1], pos[i, 2], dirs[i, 0], dirs[i, 1], dirs[i, 2], st,
                  cyl, optab, nmax_v, detect, pmax, alias, wsum, lam0, dlam, planes, discs, refl, diffuse, scint, mat,
                  dens, att_E, att_mu, n_el_water, res, rec, rcount)  # fmt: skip
        out[i, 0] = res[0]
        out[i, 1] = res[1]
        out[i, 2] = res[2]


@nb.njit(nogil=True, **JIT)
def emit_events(first, last, kinds, energies, pos, dirs, seed, cyl, optab, nmax_v, detect, pmax, lam0, dlam,
                planes, discs, refl, diffuse, scint, mat, dens, att_E, att_mu, n_el_water, rec, revent,
                out):  # fmt: skip
    """Simulate primaries ``first ..`` and record their photons (to be traced in a batch) until ``last`` or
    until the record is full (rows: see :func:`deliver_photon`). Returns (the first primary not done,
    photons recorded); ``revent`` gets each photon's primary and ``out[i, 2]`` each primary's photon count.
    A primary whose photons do not fit is dropped from the record and redone by the next call (its random
    stream restarts: same photons)."""
    res = np.zeros(3)
    count = np.zeros(1, np.int64)
    alias, wsum = cherenkov_sampler(detect, lam0, dlam)
    for i in range(first, last):
        start = count[0]
        st = seed_state(seed, i)
        res[:] = 0.0
        run_event(kinds[i], energies[i], pos[i, 0], pos[i, 1], pos[i, 2], dirs[i, 0], dirs[i, 1], dirs[i, 2], st,
                  cyl, optab, nmax_v, detect, pmax, alias, wsum, lam0, dlam, planes, discs, refl, diffuse, scint, mat,
                  dens, att_E, att_mu, n_el_water, res, rec, count)  # fmt: skip
        if count[0] > rec.shape[0]:
            return i, start
        revent[start : count[0]] = i
        out[i, 2] = res[2]
    return last, count[0]
