"""Wavefront optical-photon transport: the same physics as :func:`d2oflux.optics._kernels.trace_photon`,
arranged so that the CPU's vector units carry it (single precision, structure-of-arrays, branch-free).

A batch of photon "lanes" advances one step at a time. Each step is three passes over the lanes:

1. :func:`surfaces_pass` (vectorised): the distance to the next surface of the lane's volume (the
   cylinder it is in and, from the acrylic or the light water, the cylinder inside it) and its normal;
   lanes in the light water that cross a PMT plane before that surface are flagged;
2. :func:`pmt_pass` (scalar, only flagged lanes): which photocathode disc, if any, the lane reaches on the
   plane (a per-plane grid of cells lists the few discs that can contain a point of the cell);
3. :func:`resolve_pass` (vectorised): absorption or Rayleigh scattering before the surface (optical depth
   carried across interfaces, as in the scalar kernel), else the surface: Fresnel reflection or Snell
   refraction, liner reflection (Lambertian by Malley's method or specular) or absorption, a PMT hit. Its
   loop is compiled once per liner kind, so that it carries no branch on it, and the Fresnel test
   (:func:`fresnel`) needs no division.

Rare work runs scalar afterwards (:func:`rayleigh_scatter`: the ``1 + cos^2`` direction and a fresh
optical depth), and a finished lane takes the next photon in place (:func:`load_photon`); the lanes to visit
are listed without a branch per lane. Every branch of the physics is computed for every lane and the lane's
own outcome selected, which is what lets LLVM vectorise the loops (8 single-precision lanes per AVX2
instruction). The lane arrays are rows of one block whose rows start 64 bytes apart modulo 4 KiB, so that
no load waits on an unrelated store to the same page offset.

Random numbers: each photon has its own xoshiro128+ stream (Blackman & Vigna 2018; floats from the top 24
bits), seeded by SplitMix64 (Steele, Lea & Flood 2014; its third output draws the initial optical depth) from a
64-bit key given with the photon, so results do not depend on the batch, the lanes or the threads. Each step
draws one uniform ``u1``, which decides its outcome (interaction: absorption or scattering; interface:
reflection; liner: reflection if ``u1 < r``); with a Lambertian liner a second one gives the azimuth, and the
radius comes from ``u1 / r``, uniform on (0, 1) given a reflection (exact in distribution, 24-bit resolution
divided by ``r``).

Single precision is ample for the geometry (positions ~100 cm known to ~1e-5 cm; a photon leaving a surface
ignores it within ``EPS`` = 10 um, far below the 1.27 cm walls, while a photon that does not sit on an inner
surface, within ``ON`` = 0.5 um, enters it however near it starts) and for the optics (Fresnel and Snell to
~1e-7; near the critical angle ``n2^2 cos^2 t`` is formed without cancellation, see :func:`fresnel`). What
single precision cannot give is the incidence cosine of a direction to better than ~1e-7: of photons that
enter the acrylic within ~1e-3 rad of grazing, a few in 1e5 then find total reflection where the scalar
kernel transmits, stay guided and reach the step limit (6 of 2e5 photons grazing the vessel, 9 before
the cancellation-free form; the scalar kernel none). A photon is dropped after ``MAX_STEPS`` steps,
interactions included, as in the scalar kernel.
``sin``/``cos`` of the Lambertian azimuth are Taylor polynomials on [-pi/2, pi/2], exact to 4e-8.
"""

from __future__ import annotations

import math

import llvmlite.binding as llvm
import numba as nb
import numpy as np

# The passes read and write ~20 lane arrays. LLVM vectorises such a loop only after checking at run time
# that the arrays do not overlap, and by default gives up beyond 8 such checks ("too many memory checks
# needed"); numba cannot mark its array arguments as non-aliasing. Raising the limits (process-wide LLVM
# options; they only let more loops vectorise) is what makes these passes run on the vector units.
# Set before any kernel of this module compiles; cached kernels were compiled with them.
for _opt in ("-runtime-memory-check-threshold=512", "-vectorize-memory-check-threshold=512"):
    llvm.set_option("", _opt)

JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract", "arcp", "nsz"}}
F = np.float32

ZERO, ONE, HALF, TWO = F(0.0), F(1.0), F(0.5), F(2.0)
EPS = F(1e-3)  # cm: a photon ignores the surface it sits on within this distance
TOL = F(1e-3)  # cm: tolerance of "on or outside a cap plane"
ON = F(5e-5)  # cm (~6 float32 ulps at 80 cm): a photon nearer an inner surface than this sits on it
TINY = F(1e-30)
BIG = F(1e30)
PI = F(math.pi)
HALF_PI = F(math.pi / 2)
TWO_PI = F(2 * math.pi)
U24 = F(1.0 / 16777216.0)
# Taylor coefficients of sin and cos on [-pi/2, pi/2] (truncation error < 4e-8)
S3, S5, S7, S9, S11 = (F(-1 / 6), F(1 / 120), F(-1 / 5040), F(1 / 362880), F(-1 / 39916800))
C2, C4, C6, C8, C10, C12 = (F(-1 / 2), F(1 / 24), F(-1 / 720), F(1 / 40320), F(-1 / 3628800), F(1 / 479001600))

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
GOLDEN2 = np.uint64((2 * 0x9E3779B97F4A7C15) % 2**64)  # SplitMix64's state after two and three outputs
GOLDEN3 = np.uint64((3 * 0x9E3779B97F4A7C15) % 2**64)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)

# a lane's state (``vol``): 0-2 alive in that volume, SCATTER + volume: to be Rayleigh-scattered there, LOST,
# EMPTY (no photon), or HIT0 - k: detected by PMT k
SCATTER, LOST, EMPTY, HIT0 = 4, -1, -4, -16
MAX_STEPS = 2000
LINER, PMT_BODY, PMT0 = 3, 4, 10
MAX_PLANES = 4  # PMT planes (distinct heights of photocathode discs) the vectorised pass tests
ROWS = 27  # per-lane rows: 11 float, 3 integer, PROPS optical properties, 4 random-state words
PROPS = 9  # optical properties copied into each lane (see resolve_pass)


# --- random numbers -----------------------------------------------------------------------------


@nb.njit(inline="always", **JIT)
def mix64(z):
    """The SplitMix64 output function of state ``z``."""
    z = (z ^ (z >> np.uint64(30))) * M1
    z = (z ^ (z >> np.uint64(27))) * M2
    return z ^ (z >> np.uint64(31))


@nb.njit(inline="always", **JIT)
def xoshiro_next(s0, s1, s2, s3):
    """One step of xoshiro128+ (Blackman & Vigna 2018): the output and the new state (32-bit words)."""
    out = np.uint32(s0 + s3)
    t = np.uint32(s1 << np.uint32(9))
    s2 = np.uint32(s2 ^ s0)
    s3 = np.uint32(s3 ^ s1)
    s1 = np.uint32(s1 ^ s2)
    s0 = np.uint32(s0 ^ s3)
    s2 = np.uint32(s2 ^ t)
    s3 = np.uint32((s3 << np.uint32(11)) | (s3 >> np.uint32(21)))
    return out, s0, s1, s2, s3


@nb.njit(inline="always", **JIT)
def to_unit(r):
    """A float32 in (0, 1) from the top 24 bits of a 32-bit output (xoshiro128+'s strong bits)."""
    return (F(r >> np.uint32(8)) + HALF) * U24


@nb.njit(inline="always", **JIT)
def seed_lane(rng, i, key):
    """Lane ``i``'s xoshiro128+ state for a photon whose stream key is ``key``: the first two outputs of
    SplitMix64 started at ``key``; returns the third, a float64 uniform in (0, 1) (the three are computed
    independently of one another, so that the seeding of a lane is short)."""
    a = mix64(key + GOLDEN)
    b = mix64(key + GOLDEN2)
    rng[0, i] = np.uint32(a & np.uint64(0xFFFFFFFF))
    rng[1, i] = np.uint32(a >> np.uint64(32)) | np.uint32(1)  # never the all-zero state
    rng[2, i] = np.uint32(b & np.uint64(0xFFFFFFFF))
    rng[3, i] = np.uint32(b >> np.uint64(32))
    return (np.float64(mix64(key + GOLDEN3) >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@nb.njit(**JIT)
def photon_keys(seed, first, n):
    """Stream keys of photons ``first .. first + n - 1`` of a run seeded ``seed``."""
    out = np.empty(n, np.uint64)
    for j in range(n):
        out[j] = mix64(np.uint64(seed) * GOLDEN + np.uint64(first + j))
    return out


@nb.njit(**JIT)
def event_photon_keys(seed, events):
    """Stream keys of recorded photons: from the primary's index and the photon's rank among its photons
    (``events`` sorted, as a primary's photons are recorded together)."""
    n = events.shape[0]
    out = np.empty(n, np.uint64)
    rank = 0
    for j in range(n):
        rank = rank + 1 if j > 0 and events[j] == events[j - 1] else 0
        out[j] = mix64(mix64(np.uint64(seed) * GOLDEN + np.uint64(events[j])) + np.uint64(rank) * GOLDEN)
    return out


@nb.njit(**JIT)
def next_uniform(rng, i):
    """A float64 uniform in (0, 1) from lane ``i``'s stream (the scalar passes)."""
    r, rng[0, i], rng[1, i], rng[2, i], rng[3, i] = xoshiro_next(rng[0, i], rng[1, i], rng[2, i], rng[3, i])
    return (np.float64(r) + 0.5) * (1.0 / 4294967296.0)


@nb.njit(inline="always", **JIT)
def cos_sin_2pi(u):
    """cos and sin of 2 pi u for u in (0, 1), branch-free (polynomials after reduction to [-pi/2, pi/2])."""
    t = TWO_PI * u - PI  # in (-pi, pi); cos(2 pi u) = -cos t, sin(2 pi u) = -sin t
    hi = t > HALF_PI
    lo = t < -HALF_PI
    r = PI - t if hi else (-PI - t if lo else t)  # sin r = sin t; cos r = -cos t outside [-pi/2, pi/2]
    r2 = r * r
    s = r * (ONE + r2 * (S3 + r2 * (S5 + r2 * (S7 + r2 * (S9 + r2 * S11)))))
    c = ONE + r2 * (C2 + r2 * (C4 + r2 * (C6 + r2 * (C8 + r2 * (C10 + r2 * C12)))))
    c = -c if (hi or lo) else c
    return -c, -s


@nb.njit(inline="always", **JIT)
def fresnel(n1, n2, cosi):
    """Unpolarised Fresnel reflectance from index ``n1`` into ``n2`` at incidence cosine ``cosi`` >= 0, as
    ``(g2, g, num, den)``: ``g2 = n2^2 cos^2(t) = n2^2 - n1^2 sin^2(i)`` (<= 0: total internal reflection),
    ``g = sqrt(max(g2, 0))`` and ``R = num / den`` (``den`` > 0 unless ``g2 <= 0``), without a division.

    ``g2`` is formed as ``(n2 - n1)(n2 + n1) + (n1 cos i)^2``: no digits cancel near the critical angle (the
    form ``1 - (n1/n2)^2 (1 - cos^2 i)`` loses them in single precision, turning small transmissions into
    total reflection). With ``A = n1 cos i``, ``B = g``, ``C = n1 g``, ``D = n2^2 cos i`` (the p terms scaled by
    n2), ``r_s = (A - B) / (A + B)``, ``r_p = (C - D) / (C + D)`` (Hecht, *Optics*, 5th ed., §4.6.2)
    and ``R = (r_s^2 + r_p^2) / 2``.
    """
    A = n1 * cosi
    g2 = (n2 - n1) * (n2 + n1) + A * A
    B = math.sqrt(max(g2, ZERO))
    C = n1 * B
    D = n2 * n2 * cosi
    ab2 = (A + B) * (A + B)
    cd2 = (C + D) * (C + D)
    return g2, B, (A - B) * (A - B) * cd2 + (C - D) * (C - D) * ab2, TWO * ab2 * cd2


# --- the three passes of a step -----------------------------------------------------------------


@nb.njit(nogil=True, **JIT)
def surfaces_pass(n, x, y, z, dx, dy, dz, vol, cyl, plane_z, tb, nx, ny, nz, code, flag):
    """Distance ``tb`` [cm] to the next cylinder surface of each lane, its normal and what lies behind
    (``code``: the volume 0-2, or 3 for the liner); ``flag`` = 1 if one of the (up to ``MAX_PLANES``) PMT
    planes at heights ``plane_z`` [cm] comes first (light water; unused entries hold ``BIG``)."""
    R0, R1, R2 = cyl[0, 0], cyl[1, 0], cyl[2, 0]
    l0, l1, l2 = cyl[0, 1], cyl[1, 1], cyl[2, 1]
    h0, h1, h2 = cyl[0, 2], cyl[1, 2], cyl[2, 2]
    iR0, iR1, iR2 = ONE / R0, ONE / R1, ONE / R2
    zp0, zp1, zp2, zp3 = plane_z[0], plane_z[1], plane_z[2], plane_z[3]
    for i in range(n):
        px, py, pz = x[i], y[i], z[i]
        ux, uy, uz = dx[i], dy[i], dz[i]
        v = vol[i]
        a = ux * ux + uy * uy
        b = px * ux + py * uy
        rr = px * px + py * py
        ia = ONE / max(a, TINY)
        up = uz >= ZERO
        izd = ONE / (max(uz, TINY) if up else min(uz, -TINY))
        # leaving the volume's own cylinder
        Ro = R0 if v == 0 else (R1 if v == 1 else R2)
        iRo = iR0 if v == 0 else (iR1 if v == 1 else iR2)
        lo = l0 if v == 0 else (l1 if v == 1 else l2)
        hi = h0 if v == 0 else (h1 if v == 1 else h2)
        disc = max(b * b - a * (rr - Ro * Ro), ZERO)
        ts = max((math.sqrt(disc) - b) * ia, ZERO) if a > TINY else BIG
        tz = max(((hi if up else lo) - pz) * izd, ZERO)
        side = ts < tz
        t = min(ts, tz)
        mx = (px + t * ux) * iRo if side else ZERO
        my = (py + t * uy) * iRo if side else ZERO
        mz = ZERO if side else (ONE if up else -ONE)
        c = v + 1
        # entering the cylinder inside (from the acrylic: the D2O; from the light water: the vessel)
        Ri = R0 if v == 1 else R1
        iRi = iR0 if v == 1 else iR1
        li = l0 if v == 1 else l1
        hi_i = h0 if v == 1 else h1
        ci = rr - Ri * Ri
        di = b * b - a * ci
        te = ci / (math.sqrt(max(di, ZERO)) - b)  # the near root, without cancellation
        hz = pz + te * uz
        # EPS only for a lane on the surface (one that just left it): a lane that starts off it, however
        # near, must not step over it
        near = (te > EPS) or (ci > TWO * Ri * ON)
        ok = (v >= 1) and (di >= ZERO) and (b < ZERO) and (ci > -TOL) and near and (hz >= li) and (hz <= hi_i)
        if ok and te < t:
            t = te
            mx = (px + te * ux) * iRi
            my = (py + te * uy) * iRi
            mz = ZERO
            c = v - 1
        zc = li if up else hi_i
        tc = (zc - pz) * izd
        hx = px + tc * ux
        hy = py + tc * uy
        above = (pz <= li + TOL) if up else (pz >= hi_i - TOL)
        off = (pz < li - ON) if up else (pz > hi_i + ON)
        okc = (v >= 1) and (uz != ZERO) and above and ((tc > EPS) or off) and (hx * hx + hy * hy <= Ri * Ri)
        if okc and tc < t:
            t = tc
            mx = ZERO
            my = ZERO
            mz = -ONE if up else ONE
            c = v - 1
        tb[i] = t
        nx[i] = mx
        ny[i] = my
        nz[i] = mz
        code[i] = c
        t0 = (zp0 - pz) * izd
        t1 = (zp1 - pz) * izd
        t2 = (zp2 - pz) * izd
        t3 = (zp3 - pz) * izd
        cross = ((t0 > EPS) and (t0 <= t)) or ((t1 > EPS) and (t1 <= t))
        cross = cross or ((t2 > EPS) and (t2 <= t)) or ((t3 > EPS) and (t3 <= t))
        flag[i] = (v == 2) and (uz != ZERO) and cross


@nb.njit(nogil=True, **JIT)
def pmt_pass(n, x, y, z, dx, dy, dz, flag, planes, grid, discs, tb, code, todo):
    """For flagged lanes: the PMT disc reached on a plane before ``tb`` (``code`` 10 + PMT index, or 4 if
    the disc is hit from behind, which its body absorbs). ``planes`` rows: ``[z, x0, y0, 1/cell]``;
    ``grid[plane, iy, ix, :]`` the candidate disc rows of a cell (-1: none); ``discs`` rows
    ``[x, y, facing, radius^2, PMT index]``; ``todo`` scratch space for ``n`` lane indices."""
    ncell = grid.shape[1]
    k = 0
    for i in range(n):  # the flagged lanes, listed without a branch (a branch per lane mispredicts often)
        todo[k] = i
        k += flag[i]
    for q in range(k):
        i = todo[q]
        izd = ONE / dz[i]  # as in surfaces_pass: a disc on the liner's plane ties with it exactly
        uz = dz[i]
        t = tb[i]
        for j in range(planes.shape[0]):
            tp = (planes[j, 0] - z[i]) * izd
            if not (EPS < tp <= t):
                continue
            hx = x[i] + tp * dx[i]
            hy = y[i] + tp * dy[i]
            ix = int((hx - planes[j, 1]) * planes[j, 3])
            iy = int((hy - planes[j, 2]) * planes[j, 3])
            if ix < 0 or iy < 0 or ix >= ncell or iy >= ncell:
                continue
            for s in range(grid.shape[3]):
                d = grid[j, iy, ix, s]
                if d < 0:
                    break
                ex = hx - discs[d, 0]
                ey = hy - discs[d, 1]
                if ex * ex + ey * ey <= discs[d, 3]:
                    if uz * discs[d, 2] < ZERO:  # against the disc's facing direction: the photocathode
                        t = tp
                        code[i] = PMT0 + int(discs[d, 4])
                    elif tp < t:
                        t = tp
                        code[i] = PMT_BODY
                    break
        tb[i] = t


@nb.njit(inline="always", **JIT)
def resolve_lanes(n, step, x, y, z, dx, dy, dz, tau, vol, props, rng, born, tb, nx, ny, nz, code, refl, diffuse):
    """The loop of :func:`resolve_pass`, inlined with ``diffuse`` a constant (no branch in the loop)."""
    r_side, r_top, r_bot = refl[0], refl[1], refl[2]
    # 1/r rescales a reflecting u1 < r to a fresh uniform (0 for a black wall, which reflects nothing)
    ir_side = ONE / r_side if r_side > ZERO else ZERO
    ir_top = ONE / r_top if r_top > ZERO else ZERO
    ir_bot = ONE / r_bot if r_bot > ZERO else ZERO
    for i in range(n):
        v = vol[i]
        live = (v >= 0) & (v <= 2)
        t = tb[i]
        c = code[i]
        cd = min(c, 2)
        # (every row loaded, then selected: a conditional load would stop the vectorisation)
        e0, e1, e2 = props[0, i], props[1, i], props[2, i]
        m0, m1, m2 = props[3, i], props[4, i], props[5, i]
        p0, p1, p2 = props[6, i], props[7, i], props[8, i]
        n1 = e0 if v == 0 else (e1 if v == 1 else e2)
        n2 = e0 if cd == 0 else (e1 if cd == 1 else e2)
        mu = m0 if v == 0 else (m1 if v == 1 else m2)
        pabs = p0 if v == 0 else (p1 if v == 1 else p2)
        w0, w1, w2, w3 = rng[0, i], rng[1, i], rng[2, i], rng[3, i]
        r1, w0, w1, w2, w3 = xoshiro_next(w0, w1, w2, w3)
        u1 = to_unit(r1)
        ux, uy, uz = dx[i], dy[i], dz[i]
        mx, my, mz = nx[i], ny[i], nz[i]
        tu = tau[i]
        inter = tu < t * mu
        s = tu / mu if inter else t
        dn = ux * mx + uy * my + uz * mz
        on_side = mz == ZERO
        # liner: reflected if u1 < r, then Lambertian (Malley's method: a uniform point of the unit disc
        # lifted onto the hemisphere; u1 / r is uniform on (0, 1) given u1 < r) or specular
        r = r_side if on_side else (r_top if mz > ZERO else r_bot)
        if diffuse:
            r2, w0, w1, w2, w3 = xoshiro_next(w0, w1, w2, w3)
            ir = ir_side if on_side else (ir_top if mz > ZERO else ir_bot)
            q = min(u1 * ir, ONE)
            cz = math.sqrt(ONE - q)
            rad = math.sqrt(q)
            cs, sn = cos_sin_2pi(to_unit(r2))
            la = rad * cs
            lb = rad * sn
            rdx = (-cz * mx - la * my) if on_side else la
            rdy = (-cz * my + la * mx) if on_side else lb
            rdz = lb if on_side else -cz * mz
        else:
            rdx = ux - TWO * dn * mx
            rdy = uy - TWO * dn * my
            rdz = uz - TWO * dn * mz
        # dielectric interface: Fresnel reflection (u1 < R, compared without a division) or Snell refraction
        flip = dn > ZERO
        cosi = dn if flip else -dn
        ox = -mx if flip else mx
        oy = -my if flip else my
        oz = -mz if flip else mz
        g2, g, num, den = fresnel(n1, n2, cosi)
        reflect = (u1 * den < num) | (g2 <= ZERO)
        in2 = ONE / n2
        eta = n1 * in2
        k = (n1 * cosi - g) * in2  # eta cos(i) - cos(t)
        fdx = ux + TWO * cosi * ox if reflect else eta * ux + k * ox
        fdy = uy + TWO * cosi * oy if reflect else eta * uy + k * oy
        fdz = uz + TWO * cosi * oz if reflect else eta * uz + k * oz
        is_liner = c == LINER
        is_diel = c <= 2
        # outcome
        moved = (not inter) and live
        out = c if (moved and is_diel and not reflect) else v
        if inter:
            out = LOST if u1 < pabs else SCATTER + v
        elif c >= PMT0:
            out = HIT0 - (c - PMT0)
        elif c == PMT_BODY or (is_liner and u1 >= r):
            out = LOST
        steps = step - born[i]
        if steps >= MAX_STEPS and out >= 0:  # alive or to be Rayleigh-scattered: dropped, as in trace_photon
            out = LOST
        ndx = rdx if is_liner else (fdx if is_diel else ux)
        ndy = rdy if is_liner else (fdy if is_diel else uy)
        ndz = rdz if is_liner else (fdz if is_diel else uz)
        # unconditional stores of selected values: what lets the loop vectorise
        x[i] = x[i] + s * ux if live else x[i]
        y[i] = y[i] + s * uy if live else y[i]
        z[i] = z[i] + s * uz if live else z[i]
        rng[0, i] = w0 if live else rng[0, i]
        rng[1, i] = w1 if live else rng[1, i]
        rng[2, i] = w2 if live else rng[2, i]
        rng[3, i] = w3 if live else rng[3, i]
        dx[i] = ndx if moved else ux
        dy[i] = ndy if moved else uy
        dz[i] = ndz if moved else uz
        tau[i] = tu - t * mu if moved else tu
        vol[i] = out if live else v


@nb.njit(nogil=True, **JIT)
def resolve_pass(n, step, x, y, z, dx, dy, dz, tau, vol, props, rng, born, tb, nx, ny, nz, code, refl, diffuse):
    """Move each live lane to its interaction or surface and apply what happens there (see the module doc).

    ``props`` rows 0-2: the lane's refractive index in volumes 0-2, rows 3-5 its attenuation coefficient
    [1/cm], rows 6-8 the probability that an interaction is an absorption (per-lane copies made when the
    photon enters the batch: table look-ups here would stop LLVM from vectorising the loop; six more rows,
    1/n and 1/mu to save two divisions, were measured ~10 % slower). ``diffuse``: Lambertian liner (else
    specular); the loop is compiled once for each value, so that it has no branch on it. ``vol`` holds the
    lane's state (``SCATTER``, ``LOST``, ``EMPTY``, ``HIT0``: one row less to read and write). ``step``: the
    batch's step number; a lane's photon, loaded at step ``born``, has taken ``step - born`` steps with this
    one (a count the lane need not store).
    """
    if diffuse:
        resolve_lanes(n, step, x, y, z, dx, dy, dz, tau, vol, props, rng, born, tb, nx, ny, nz, code, refl, True)
    else:
        resolve_lanes(n, step, x, y, z, dx, dy, dz, tau, vol, props, rng, born, tb, nx, ny, nz, code, refl, False)


@nb.njit(**JIT)
def rayleigh_scatter(i, dx, dy, dz, tau, rng):
    """Lane ``i`` Rayleigh-scatters: a new direction (``1 + cos^2`` around the old one), a new optical depth."""
    while True:
        c = 2.0 * next_uniform(rng, i) - 1.0
        if 2.0 * next_uniform(rng, i) <= 1.0 + c * c:
            break
    phi = 2.0 * math.pi * next_uniform(rng, i)
    ux, uy, uz = np.float64(dx[i]), np.float64(dy[i]), np.float64(dz[i])
    sint = math.sqrt(max(0.0, 1.0 - c * c))
    cp, sp = math.cos(phi), math.sin(phi)
    if abs(uz) < 0.99999:
        w = 1.0 / math.sqrt(1.0 - uz * uz)
        ax, ay = -uy * w, ux * w
        bx, by, bz = -uz * ay, uz * ax, ux * ay - uy * ax
        nx_ = sint * (cp * ax + sp * bx) + c * ux
        ny_ = sint * (cp * ay + sp * by) + c * uy
        nz_ = sint * sp * bz + c * uz
    else:
        sg = 1.0 if uz > 0 else -1.0
        nx_, ny_, nz_ = sint * cp, sint * sp * sg, c * uz
    norm = 1.0 / math.sqrt(nx_ * nx_ + ny_ * ny_ + nz_ * nz_)
    dx[i] = nx_ * norm
    dy[i] = ny_ * norm
    dz[i] = nz_ * norm
    tau[i] = -math.log(next_uniform(rng, i))


@nb.njit(**JIT)
def lane_table(optab):
    """The ``props`` rows of :func:`resolve_pass` per wavelength bin, from ``optab`` (per volume and bin: n,
    mu [1/cm], absorption probability), so that a photon entering a lane copies one column."""
    nwl = optab.shape[2]
    out = np.empty((PROPS, nwl), np.float32)
    for v in range(3):
        for il in range(nwl):
            out[v, il] = optab[v, 0, il]
            out[3 + v, il] = optab[v, 1, il]
            out[6 + v, il] = optab[v, 2, il]
    return out


@nb.njit(inline="always", **JIT)
def load_photon(m, j, step, x, y, z, dx, dy, dz, tau, vol, props, rng, born, ids, src_pos, src_dir, src_wl,
                src_vol, src_key, lane_tab):  # fmt: skip
    """Put source photon ``j`` into lane ``m`` at the batch's step ``step``."""
    x[m], y[m], z[m] = src_pos[j, 0], src_pos[j, 1], src_pos[j, 2]
    dx[m], dy[m], dz[m] = src_dir[j, 0], src_dir[j, 1], src_dir[j, 2]
    vol[m] = src_vol[j]
    il = src_wl[j]
    for q in range(PROPS):
        props[q, m] = lane_tab[q, il]
    tau[m] = -math.log(seed_lane(rng, m, src_key[j]))
    born[m] = step
    ids[m] = j


@nb.njit(inline="always", **JIT)
def lane_row(block, k, stride, lanes):
    """Row ``k`` (``lanes`` long) of the lane block, whose rows start ``stride`` elements apart."""
    return block[k * stride : k * stride + lanes]


@nb.njit(nogil=True, **JIT)
def trace_wavefront(src_pos, src_dir, src_wl, src_vol, src_key, cyl, plane_z, planes, grid, discs, optab, refl, diffuse,
                    lanes, out, out_steps):  # fmt: skip
    """Trace every source photon; ``out`` gets the PMT index (or -1), ``out_steps`` the steps taken.

    Photon ``j`` draws from its own stream, keyed by ``src_key[j]``, whatever lane carries it: the results
    do not depend on ``lanes`` or on how the photons are split into calls.
    """
    n_src = src_pos.shape[0]
    # The per-lane rows, in one block. Consecutive rows start 64 bytes further into a 4 KiB page (not at
    # the same offset, as rows of a power-of-two length would): a load then never waits on an unrelated
    # store of the same page offset ("4K aliasing"), which cost ~7 % of the time at 2048 lanes.
    S = (lanes + 1023) // 1024 * 1024 + 16
    block = np.empty(ROWS * S, np.float32)
    x, y, z = lane_row(block, 0, S, lanes), lane_row(block, 1, S, lanes), lane_row(block, 2, S, lanes)
    dx, dy, dz = lane_row(block, 3, S, lanes), lane_row(block, 4, S, lanes), lane_row(block, 5, S, lanes)
    tau, tb = lane_row(block, 6, S, lanes), lane_row(block, 7, S, lanes)
    nx, ny, nz = lane_row(block, 8, S, lanes), lane_row(block, 9, S, lanes), lane_row(block, 10, S, lanes)
    vol, code = lane_row(block, 11, S, lanes).view(np.int32), lane_row(block, 12, S, lanes).view(np.int32)
    born = lane_row(block, 13, S, lanes).view(np.int32)
    props = block[14 * S : (14 + PROPS) * S].reshape(PROPS, S)
    rng = block[(14 + PROPS) * S : (18 + PROPS) * S].view(np.uint32).reshape(4, S)
    lane_tab = lane_table(optab)
    flag = np.empty(lanes, np.bool_)
    ids = np.empty(lanes, np.int64)
    m = min(lanes, n_src)
    for j in range(m):
        load_photon(j, j, 0, x, y, z, dx, dy, dz, tau, vol, props, rng, born, ids, src_pos, src_dir, src_wl,
                    src_vol, src_key, lane_tab)  # fmt: skip
    todo = np.empty(lanes, np.int64)
    nxt = m
    live = m
    empty = 0  # lanes without a photon (only once the source is exhausted)
    has_pmts = planes.shape[0] > 0
    step = 0  # steps taken by the batch; a lane's photon has taken step - born[lane]
    while live > 0:
        surfaces_pass(m, x, y, z, dx, dy, dz, vol, cyl, plane_z, tb, nx, ny, nz, code, flag)
        if has_pmts:
            pmt_pass(m, x, y, z, dx, dy, dz, flag, planes, grid, discs, tb, code, todo)
        step += 1
        resolve_pass(m, step, x, y, z, dx, dy, dz, tau, vol, props, rng, born, tb, nx, ny, nz, code, refl, diffuse)
        # finished lanes: record, and take the next source photon in place; Rayleigh scatterings. The lanes
        # to visit are listed first, without a branch per lane.
        k = 0
        for i in range(m):
            todo[k] = i
            k += (vol[i] < 0) | (vol[i] > 2)
        for q in range(k):
            i = todo[q]
            r = vol[i]
            if r >= SCATTER:
                rayleigh_scatter(i, dx, dy, dz, tau, rng)
                vol[i] = r - SCATTER
            elif r != EMPTY:
                out[ids[i]] = LOST if r == LOST else HIT0 - r
                out_steps[ids[i]] = step - born[i]
                if nxt < n_src:
                    load_photon(i, nxt, step, x, y, z, dx, dy, dz, tau, vol, props, rng, born, ids, src_pos,
                                src_dir, src_wl, src_vol, src_key, lane_tab)  # fmt: skip
                    nxt += 1
                else:
                    vol[i] = EMPTY
                    empty += 1
        live = m - empty
        if nxt >= n_src and 0 < live <= m // 2:  # the tail: pack the live lanes to the front
            k = 0
            for i in range(m):
                if vol[i] < 0 or vol[i] > 2:
                    continue
                if k != i:
                    x[k], y[k], z[k] = x[i], y[i], z[i]
                    dx[k], dy[k], dz[k] = dx[i], dy[i], dz[i]
                    tau[k], vol[k], born[k], ids[k] = tau[i], vol[i], born[i], ids[i]
                    for q in range(PROPS):
                        props[q, k] = props[q, i]
                    for q in range(4):
                        rng[q, k] = rng[q, i]
                k += 1
            m = k
            empty = 0
