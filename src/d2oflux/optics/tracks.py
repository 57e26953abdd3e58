"""Electrons and gammas in the module: energy loss, multiple scattering, a shower model, and their light.

A parametrised condensed-history simulation, adequate for electrons and gammas up to ~60 MeV in water,
heavy water and acrylic (documented approximations, each with its source in
:mod:`d2oflux.optics.materials`):

* **collision loss**: continuous, Bethe formula for electrons (ICRU 37) with the density effect
  (Sternheimer-Berger-Seltzer parameters of liquid water). Delta rays are not produced separately
  (their energy is deposited along the primary; their own Cherenkov light, a few per cent, is neglected);
* **bremsstrahlung**: photons above ``K_CUT`` sampled from the complete-screening spectrum
  ``(1/X0)(1/k)(4/3 - 4/3 y + y^2)`` (PDG, Passage of particles through matter, eq. 34.29); below the cut, a
  continuous loss. Complete screening overestimates the radiative loss at 10 MeV by up to ~50 % (and
  by ~10 % at 50 MeV) compared with ESTAR: a documented approximation, affecting the light mostly through
  which electron (primary or Compton) emits it;
* **multiple scattering**: Gaussian angular deflection per step with the Highland width
  (PDG eq. 34.15);
* **gammas**: exponential free path from the NIST XCOM attenuation of water scaled by electron density;
  Compton scattering (Klein-Nishina, sampled as in Butcher & Messel 1960) or pair production (the energy
  shared uniformly between the e- and the e+, both along the gamma; annihilation photons neglected).
  Below 0.1 MeV a gamma deposits its energy locally;
* **light**: Cherenkov photons per step from the Frank-Tamm formula with the medium's n(lambda)
  (``dN/dx dlambda = 2 pi alpha / lambda^2 (1 - 1/(beta^2 n^2))``), on the Cherenkov cone around the
  step direction; scintillation (if configured) isotropic, ``Y dE / (1 + kB dE/dx)`` (Birks).

Electrons are followed to ``T_CUT`` (below the Cherenkov threshold in every medium) or to 50 keV in a
scintillating volume.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .geometry import OpticalGeometry
from .materials import TRANSPORT, WATER_PHOTON_ATTENUATION
from .photons import isotropic, normal, poisson, rotate, seed_state, trace_photon, uniform, volume_of

ME = 0.51099895  # MeV, PDG 2024
ALPHA = 1.0 / 137.035999
RE_CM = 2.8179403262e-13  # classical electron radius, PDG 2024
NA = 6.02214076e23
K_CUT = 0.5  # MeV: bremsstrahlung photons above it are sampled
T_CUT = 0.15  # MeV: below every Cherenkov threshold of the module (0.26 MeV water, 0.18 MeV acrylic)
T_CUT_SCINT = 0.05
MAX_STEP_CM = 0.3
STACK = 64
ELECTRON, GAMMA = 0, 1
# density effect of liquid water (Sternheimer, Berger & Seltzer 1984): -C, x0, x1, a, m
DENSITY_EFFECT = np.array([3.5017, 0.2400, 2.8004, 0.09116, 3.4773])


def transport_table(cylinder_materials=("D2O", "acrylic", "H2O")) -> np.ndarray:
    """Per volume: electrons per cm^3, I [MeV], X0 [cm], density [g/cm^3]."""
    rows = []
    for m in cylinder_materials:
        t = TRANSPORT[m]
        rows.append((t["density"] * t["z_over_a"] * NA, t["i_ev"] * 1e-6, t["x0_g_cm2"] / t["density"], t["density"]))
    return np.array(rows)


def water_electron_density() -> float:
    t = TRANSPORT["H2O"]
    return t["density"] * t["z_over_a"] * NA


@nb.njit(cache=True)
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


@nb.njit(cache=True)
def klein_nishina_sigma(E):
    """Klein-Nishina total cross section per electron [cm^2]."""
    k = E / ME
    l = math.log(1.0 + 2.0 * k)
    return (
        2.0 * math.pi * RE_CM * RE_CM
        * ((1.0 + k) / k**2 * (2.0 * (1.0 + k) / (1.0 + 2.0 * k) - l / k) + l / (2.0 * k)
           - (1.0 + 3.0 * k) / (1.0 + 2.0 * k) ** 2)
    )  # fmt: skip


@nb.njit(cache=True)
def cherenkov_mean(beta, s, nmax, l1, l2):
    """Frank-Tamm photon count bound for a step of ``s`` cm at the largest index ``nmax`` in [l1, l2] nm."""
    return 2.0 * math.pi * ALPHA * s * (1.0 / l1 - 1.0 / l2) * 1e7 * (1.0 - 1.0 / (beta * beta * nmax * nmax))


@nb.njit(cache=True)
def cherenkov_wavelength(st, beta, fmax, vol, tables, detect, pmax, lam0, dlam, l1, l2):
    """Wavelength bin of a candidate photon (1/lambda^2 spectrum, n(lambda) and detection by rejection), or -1."""
    inv = 1.0 / l1 - uniform(st) * (1.0 / l1 - 1.0 / l2)
    il = int((1.0 / inv - lam0) / dlam + 0.5)
    n = tables[vol, 0, il]
    f = 1.0 - 1.0 / (beta * beta * n * n)
    if f <= 0.0 or uniform(st) * fmax * pmax > f * detect[il]:
        return -1
    return il


@nb.njit(cache=True)
def count_cherenkov(beta, s, nsteps, seed, vol, tables, detect, lam0, dlam):
    """Photons emitted (after the detection-probability rejection) in ``nsteps`` steps of ``s`` cm at ``beta``."""
    st = seed_state(seed, 0)
    nl = detect.shape[0]
    l1, l2 = lam0, lam0 + dlam * (nl - 1)
    pmax = detect.max()
    nmax = tables[vol, 0].max()
    fmax = 1.0 - 1.0 / (beta * beta * nmax * nmax)
    total = 0
    for _ in range(nsteps):
        n = poisson(st, cherenkov_mean(beta, s, nmax, l1, l2) * pmax)
        for _ in range(n):
            if cherenkov_wavelength(st, beta, fmax, vol, tables, detect, pmax, lam0, dlam, l1, l2) >= 0:
                total += 1
    return total


@nb.njit(cache=True)
def emit_light(x0, y0, z0, dx, dy, dz, s, T_mid, dE_col, dedx, vol, st, geom_cyl, tables, detect, pmax, lam0,
               dlam, pmts, refl, diffuse, scint, res):  # fmt: skip
    """Cherenkov (and scintillation) photons of one step; adds PE to res[0], H2O-origin PE to res[1]."""
    nl = detect.shape[0]
    g = 1.0 + T_mid / ME
    beta = math.sqrt(1.0 - 1.0 / (g * g))
    nmax = 0.0
    for i in range(nl):
        if tables[vol, 0, i] > nmax:
            nmax = tables[vol, 0, i]
    l1 = lam0
    l2 = lam0 + dlam * (nl - 1)
    if beta * nmax > 1.0:
        fmax = 1.0 - 1.0 / (beta * beta * nmax * nmax)
        n = poisson(st, cherenkov_mean(beta, s, nmax, l1, l2) * pmax)
        for _ in range(n):
            il = cherenkov_wavelength(st, beta, fmax, vol, tables, detect, pmax, lam0, dlam, l1, l2)
            if il < 0:
                continue
            res[2] += 1.0
            cost = 1.0 / (beta * tables[vol, 0, il])
            px, py, pz = rotate(dx, dy, dz, cost, 2.0 * math.pi * uniform(st))
            u = uniform(st) * s
            hit = trace_photon(x0 + u * dx, y0 + u * dy, z0 + u * dz, px, py, pz, il, vol, st, geom_cyl, tables,
                               pmts, refl, diffuse)  # fmt: skip
            if hit >= 0:
                res[0] += 1.0
                if vol == 2:
                    res[1] += 1.0
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
            res[2] += 1.0
            px, py, pz = isotropic(st)
            u = uniform(st) * s
            hit = trace_photon(x0 + u * dx, y0 + u * dy, z0 + u * dz, px, py, pz, il, vol, st, geom_cyl, tables,
                               pmts, refl, diffuse)  # fmt: skip
            if hit >= 0:
                res[0] += 1.0
                if vol == 2:
                    res[1] += 1.0


@nb.njit(cache=True)
def run_event(kind, E0, x, y, z, dx, dy, dz, st, cyl, tables, detect, pmax, lam0, dlam, pmts, refl, diffuse,
              scint, mat, dens, att_E, att_mu, n_el_water, res):  # fmt: skip
    """One primary (electron or gamma) and its secondaries; fills res = [PE, PE from H2O, photons traced]."""
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
                mu = np.interp(E, att_E, att_mu) * 0.998 * ne / n_el_water  # water mu/rho x rho, per electron
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
            emit_light(px, py, pz, ux, uy, uz, s, T_mid, dedx * s, dedx, vol, st, cyl, tables, detect, pmax,
                       lam0, dlam, pmts, refl, diffuse, scint, res)  # fmt: skip
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
            # multiple scattering (Highland)
            g = 1.0 + T / ME
            b2 = 1.0 - 1.0 / (g * g)
            p = math.sqrt(T * (T + 2.0 * ME))
            xr = s / X0
            th0 = 13.6 / (math.sqrt(b2) * p) * math.sqrt(xr) * (1.0 + 0.038 * math.log(xr / b2))
            if th0 > 0.0:
                tx = th0 * normal(st)
                ty = th0 * normal(st)
                th = math.sqrt(tx * tx + ty * ty)
                ux, uy, uz = rotate(ux, uy, uz, math.cos(min(th, math.pi)), 2.0 * math.pi * uniform(st))
        if any_scint and T > 0.0:
            vol = volume_of(px, py, pz, cyl)
            if vol >= 0 and scint[vol, 0] > 0.0:
                dedx = collision_stopping_power(max(T, 0.01), mat[vol, 0], mat[vol, 1], dens)
                emit_light(px, py, pz, ux, uy, uz, 1e-4, 0.0, T, dedx, vol, st, cyl, tables, detect, pmax, lam0,
                           dlam, pmts, refl, diffuse, scint, res)  # fmt: skip


@nb.njit(cache=True, parallel=True)
def _events_kernel(kinds, energies, pos, dirs, seed, cyl, tables, detect, pmax, lam0, dlam, pmts, refl, diffuse,
                   scint, mat, dens, att_E, att_mu, n_el_water):  # fmt: skip
    n = energies.shape[0]
    out = np.zeros((n, 3))
    for i in nb.prange(n):
        st = seed_state(seed, i)
        res = np.zeros(3)
        run_event(kinds[i], energies[i], pos[i, 0], pos[i, 1], pos[i, 2], dirs[i, 0], dirs[i, 1], dirs[i, 2], st,
                  cyl, tables, detect, pmax, lam0, dlam, pmts, refl, diffuse, scint, mat, dens, att_E, att_mu,
                  n_el_water, res)  # fmt: skip
        out[i, 0] = res[0]
        out[i, 1] = res[1]
        out[i, 2] = res[2]
    return out


def simulate_events(geom: OpticalGeometry, kinds, energies_MeV, pos, dirs, seed: int) -> dict[str, np.ndarray]:
    """Simulate primaries (``kinds``: 0 electron, 1 gamma) of kinetic energies [MeV] at ``pos`` [cm].

    Returns
    -------
    dict with ``pe`` (photo-electrons per event), ``pe_h2o`` (those from light emitted in the light
    water) and ``photons_traced`` (photons created after the detection-probability culling, all traced).
    """
    energies = np.ascontiguousarray(energies_MeV, dtype=float)
    n = energies.size
    kinds = np.ascontiguousarray(np.broadcast_to(kinds, (n,)), dtype=np.int64)
    pos = np.ascontiguousarray(np.broadcast_to(pos, (n, 3)), dtype=float)
    dirs = np.asarray(np.broadcast_to(dirs, (n, 3)), dtype=float)
    dirs = np.ascontiguousarray(dirs / np.linalg.norm(dirs, axis=1, keepdims=True))
    pmax = float(geom.detect_prob.max())
    if pmax <= 0.0:
        return {"pe": np.zeros(n), "pe_h2o": np.zeros(n), "photons_traced": np.zeros(n)}
    out = _events_kernel(
        kinds, energies, pos, dirs, int(seed), geom.cylinders, geom.tables, geom.detect_prob, pmax,
        geom.lambda_min_nm, geom.lambda_step_nm, geom.pmts, geom.reflectivity, geom.diffuse, geom.scint,
        transport_table(), DENSITY_EFFECT, WATER_PHOTON_ATTENUATION[:, 0].copy(),
        WATER_PHOTON_ATTENUATION[:, 1].copy(), water_electron_density(),
    )  # fmt: skip
    return {"pe": out[:, 0], "pe_h2o": out[:, 1], "photons_traced": out[:, 2]}
