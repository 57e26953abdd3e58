"""The optical geometry as plain arrays for the transport kernels: nested cylinders, tables, PMT discs.

Volumes (index): 0 heavy water, 1 acrylic vessel, 2 light water. Each is bounded by a closed vertical
cylinder ``[radius, z_low, z_high]`` (cm); the liner (Tyvek) lines the outermost one. The D2O is centred
on the origin. PMT photocathodes are flat discs ``[x, y, z, facing, radius]`` (facing -1: looking down).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .config import OpticsConfig
from .materials import INDEX_MODELS, absorption_length_cm, qe_table, rayleigh_length_cm

VOLUME_MATERIALS = ("D2O", "acrylic", "H2O")
#: Wavelength grid step of the optical tables [nm].
WAVELENGTH_STEP_NM = 1.0


@dataclass(frozen=True)
class OpticalGeometry:
    """Arrays the kernels read.

    Attributes
    ----------
    cylinders : (3, 3) array
        ``[radius, z_low, z_high]`` [cm] of D2O, the acrylic vessel's outside and the liner.
    tables : (3, 3, n_lambda) array
        Per volume: refractive index, absorption length [cm], Rayleigh length [cm] on the wavelength grid.
    detect_prob : (n_lambda,) array
        QE x collection efficiency on the grid.
    lambda_min_nm, lambda_step_nm : float
        The grid: ``lambda_min + i * step``.
    pmts : (n_pmt, 5) array
        ``[x, y, z, facing, radius]`` of each photocathode disc.
    reflectivity : (3,) array
        Liner reflectivity on the side, the top and the bottom.
    diffuse : int
        1 for Lambertian (Tyvek), 0 for specular reflection on the liner.
    scint : (3, 4) array
        Per volume: photons/MeV, Birks' constant [cm/MeV], emission peak and sigma [nm].
    """

    cylinders: np.ndarray
    tables: np.ndarray
    detect_prob: np.ndarray
    lambda_min_nm: float
    lambda_step_nm: float
    pmts: np.ndarray
    reflectivity: np.ndarray
    diffuse: int
    scint: np.ndarray
    qe_source: str

    @property
    def wavelengths_nm(self) -> np.ndarray:
        return self.lambda_min_nm + self.lambda_step_nm * np.arange(self.detect_prob.size)

    @property
    def d2o_volume_cm3(self) -> float:
        r, lo, hi = self.cylinders[0]
        return math.pi * r * r * (hi - lo)


def build_geometry(cfg: OpticsConfig) -> OpticalGeometry:
    """Turn an :class:`OpticsConfig` into arrays, validating the PMT placement."""
    v = cfg.vessel
    h = v.d2o_height_cm / 2
    r1 = v.d2o_radius_cm + v.acrylic_wall_cm
    top1, bot1 = h + v.acrylic_cap_cm, -h - v.acrylic_cap_cm
    cyl = np.array(
        [
            [v.d2o_radius_cm, -h, h],
            [r1, bot1, top1],
            [r1 + v.h2o_side_cm, bot1 - v.h2o_bottom_cm, top1 + v.h2o_top_cm],
        ]
    )
    lo, hi = cfg.wavelength_range_nm
    lam = np.arange(lo, hi + 0.5 * WAVELENGTH_STEP_NM, WAVELENGTH_STEP_NM)
    tables = np.empty((3, 3, lam.size))
    for i, mat in enumerate(VOLUME_MATERIALS):
        over = cfg.materials.get(mat)
        n = INDEX_MODELS[mat](lam)
        if over is not None and over.refractive_index is not None:
            n = np.full_like(lam, over.refractive_index)
        tables[i, 0] = n
        tables[i, 1] = absorption_length_cm(mat, lam) * (over.absorption_scale if over else 1.0)
        tables[i, 2] = rayleigh_length_cm(mat, lam) * (over.rayleigh_scale if over else 1.0)
    if np.any(tables[:, 0] < 1.0):
        raise ConfigError("optics: a refractive index below 1 in the wavelength range")
    p = cfg.pmts
    if isinstance(p.qe, str):
        qlam, qe, source = qe_table(p.qe)
    else:
        qlam, qe, source = np.asarray(p.qe.wavelength_nm), np.asarray(p.qe.qe), p.qe.source
    detect = np.interp(lam, qlam, qe, left=0.0, right=0.0) * p.collection_efficiency
    pmts = pmt_positions(cfg, cyl)
    check_pmts(pmts, cyl)
    scint = np.zeros((3, 4))
    for i, mat in enumerate(VOLUME_MATERIALS):
        s = cfg.scintillation.get(mat)
        if s is not None:
            scint[i] = (s.photons_per_MeV, s.birks_cm_per_MeV, s.emission_peak_nm, s.emission_sigma_nm)
    refl = np.array([cfg.liner_reflectivity, cfg.liner_reflectivity, cfg.bottom_reflectivity])
    return OpticalGeometry(
        cyl, tables, detect, float(lo), WAVELENGTH_STEP_NM, pmts, refl, int(cfg.liner_reflection == "diffuse"),
        scint, source,
    )  # fmt: skip


def hex_grid(pitch_cm: float, max_radius_cm: float, n: int) -> np.ndarray:
    """``n`` points of a hexagonal grid of ``pitch`` within ``max_radius``, nearest to the axis first.

    Two centrings are tried (a grid point on the axis, or the centre of a grid triangle on the axis);
    the one whose ``n``-th point is closest to the axis wins. Fewer than ``n`` points if none fits.
    """
    best = np.empty((0, 2))
    for ox, oy in ((0.0, 0.0), (pitch_cm / 2, pitch_cm / (2 * math.sqrt(3)))):
        m = int(max_radius_cm / pitch_cm) + 2
        pts = []
        for j in range(-m, m + 1):
            for i in range(-m, m + 1):
                x = pitch_cm * (i + 0.5 * (j % 2)) - ox
                y = pitch_cm * j * math.sqrt(3) / 2 - oy
                if math.hypot(x, y) <= max_radius_cm + 1e-9:
                    pts.append((x, y))
        a = np.array(pts).reshape(-1, 2)
        a = a[np.lexsort((np.arctan2(a[:, 1], a[:, 0]), np.round(np.hypot(a[:, 0], a[:, 1]), 6)))][:n]
        if len(a) > len(best) or (len(a) == len(best) == n and np.hypot(*a[-1]) < np.hypot(*best[-1]) - 1e-9):
            best = a
    return best


def pmt_positions(cfg: OpticsConfig, cyl: np.ndarray) -> np.ndarray:
    """PMT discs ``[x, y, z, facing, radius]`` for the configured layout."""
    p = cfg.pmts
    a = p.photocathode_diameter_cm / 2
    r_liner, z_bot, z_top = cyl[2]
    if p.layout == "explicit":
        assert p.positions_cm is not None
        facing = p.facing or ("down",) * len(p.positions_cm)
        rows = [(x, y, z, -1.0 if f == "down" else 1.0, a) for (x, y, z), f in zip(p.positions_cm, facing, strict=True)]
        return np.array(rows, dtype=float)
    n_top = p.count if p.layout == "top" else (p.count + 1) // 2
    n_bot = p.count - n_top
    grid = hex_grid(p.pitch_cm, r_liner - max(a, p.pitch_cm / 2 - 0.3), max(n_top, n_bot))
    if len(grid) < n_top:
        raise ConfigError(
            f"optics.pmts: {n_top} PMTs of pitch {p.pitch_cm} cm do not fit on the {r_liner:.1f} cm-radius "
            f"top (room for {len(grid)}); use layout = 'top-bottom', fewer or smaller PMTs"
        )
    rows = [(x, y, z_top, -1.0, a) for x, y in grid[:n_top]]
    rows += [(x, y, z_bot, 1.0, a) for x, y in grid[:n_bot]]
    return np.array(rows, dtype=float)


def check_pmts(pmts: np.ndarray, cyl: np.ndarray) -> None:
    """Each disc inside the liner, outside the acrylic vessel, and no two overlapping."""
    r_liner, z_bot, z_top = cyl[2]
    r_vessel, v_bot, v_top = cyl[1]
    for k, (x, y, z, _f, a) in enumerate(pmts):
        rc = math.hypot(x, y)
        if rc + a > r_liner + 1e-6 or not z_bot - 1e-6 <= z <= z_top + 1e-6:
            raise ConfigError(
                f"optics.pmts: PMT {k} at ({x:g}, {y:g}, {z:g}) cm with radius {a:g} cm lies outside the "
                f"light-water volume (radius {r_liner:g} cm, z {z_bot:g} .. {z_top:g} cm)"
            )
        if v_bot - 1e-6 <= z <= v_top + 1e-6 and rc - a < r_vessel:
            raise ConfigError(f"optics.pmts: PMT {k} at ({x:g}, {y:g}, {z:g}) cm cuts into the acrylic vessel")
    for i in range(len(pmts)):
        for j in range(i + 1, len(pmts)):
            d = math.hypot(pmts[i, 0] - pmts[j, 0], pmts[i, 1] - pmts[j, 1])
            if abs(pmts[i, 2] - pmts[j, 2]) < 1e-6 and d < pmts[i, 4] + pmts[j, 4] - 1e-9:
                raise ConfigError(
                    f"optics.pmts: PMTs {i} and {j} overlap (centres {d:.1f} cm apart, radii "
                    f"{pmts[i, 4]:g} and {pmts[j, 4]:g} cm)"
                )
