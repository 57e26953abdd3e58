"""The ``[optics]`` section of a detector file: vessel, materials, liner, PMTs, scintillation, build settings.

Every default describes the built module (COHERENT, arXiv:2104.09605, and the collaboration's public
Geant4 description, github.com/KARLATGF/COHERENT-D2O) or is marked an assumption. Lengths in cm.

Example (all keys optional)::

    [optics]
    liner_reflectivity = 0.933
    [optics.pmts]
    count = 12
    layout = "top"                 # "top", "top-bottom" or "explicit" (then positions_cm)
    photocathode_diameter_cm = 19.0
    qe = "coherent-bialkali"
    [optics.scintillation.D2O]     # optional, per material: D2O, H2O, acrylic
    photons_per_MeV = 234.0
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from ..config import StrictModel, describe_validation_error
from ..errors import SEED_LIMIT
from .materials import QE_NAMES, WBLS_1PCT

OPTICAL_MATERIALS = ("D2O", "H2O", "acrylic")


class VesselConfig(StrictModel):
    """Coaxial cylinders: D2O inside an acrylic vessel inside light water inside the liner [cm].

    Defaults: D2O 70 cm diameter x 140 cm, acrylic wall 0.25 in and end caps 1.0 in (arXiv:2104.09605 and
    the public Geant4 description); light water 10 cm thick on every side (the 10 cm tail catcher of the
    public Geant4 description; **assumption**: the same thickness at the sides and bottom).
    """

    d2o_radius_cm: float = Field(default=35.0, gt=0)
    d2o_height_cm: float = Field(default=140.0, gt=0)
    acrylic_wall_cm: float = Field(default=0.635, ge=0)
    acrylic_cap_cm: float = Field(default=2.54, ge=0)
    h2o_side_cm: float = Field(default=10.0, gt=0)
    h2o_top_cm: float = Field(default=10.0, gt=0)
    h2o_bottom_cm: float = Field(default=10.0, gt=0)


class QETable(StrictModel):
    """A QE curve given as a table (wavelengths increasing, nm)."""

    wavelength_nm: tuple[float, ...] = Field(min_length=2)
    qe: tuple[float, ...] = Field(min_length=2)
    source: str = "user table"

    @model_validator(mode="after")
    def _check(self) -> QETable:
        if len(self.wavelength_nm) != len(self.qe):
            raise ValueError("wavelength_nm and qe must have the same length")
        if any(b <= a for a, b in zip(self.wavelength_nm, self.wavelength_nm[1:], strict=False)):
            raise ValueError("wavelength_nm must increase")
        if any(not 0.0 <= q <= 1.0 for q in self.qe):
            raise ValueError("QE values must lie in [0, 1]")
        return self


class PMTConfig(StrictModel):
    """Photomultipliers: count, layout, photocathode, QE and collection efficiency.

    Defaults: 12 8-inch PMTs on top looking down (public Geant4 description; arXiv:2104.09605). The
    photocathode is a flat disc of the R5912's minimum effective diameter, 190 mm (Hamamatsu R5912 data
    sheet) in the plane of the top liner, facing down (**assumption**: flat-disc approximation of the
    hemispherical photocathode). ``layout = "top"`` places them on a hexagonal grid of pitch
    ``pitch_cm`` (20.3 cm bulb + 3 mm gaps as in the public Geant4 code) centred on the axis, nearest
    to the axis first; ``"top-bottom"`` puts half of them on the bottom, looking up.
    Collection efficiency 0.9: **assumption** (typical for large-area PMTs; not published for the module).
    """

    count: int = Field(default=12, ge=1)
    layout: Literal["top", "top-bottom", "explicit"] = "top"
    positions_cm: tuple[tuple[float, float, float], ...] | None = None
    facing: tuple[Literal["down", "up"], ...] | None = None
    photocathode_diameter_cm: float = Field(default=19.0, gt=0)
    shape: Literal["disc"] = "disc"
    pitch_cm: float = Field(default=20.9, gt=0)
    qe: str | QETable = "coherent-bialkali"
    collection_efficiency: float = Field(default=0.9, ge=0, le=1)

    @field_validator("qe", mode="before")
    @classmethod
    def _known(cls, v):
        if isinstance(v, str) and v not in QE_NAMES:
            raise ValueError(f"unknown QE curve '{v}'; expected one of {', '.join(QE_NAMES)} or a table")
        if isinstance(v, dict):
            q = v.get("qe", ())
            if not isinstance(q, list | tuple) or any(not isinstance(x, int | float) or not 0 <= x <= 1 for x in q):
                raise ValueError("QE values must be numbers in [0, 1]")
            try:
                return QETable(**v)
            except ValidationError as exc:  # its first problem in one line, as a detector file's own keys
                raise ValueError(describe_validation_error(QETable, exc)) from None
        return v

    @model_validator(mode="after")
    def _explicit(self) -> PMTConfig:
        if self.layout == "explicit":
            if not self.positions_cm:
                raise ValueError("layout = 'explicit' needs positions_cm = [[x, y, z], ...]")
            if self.facing is not None and len(self.facing) != len(self.positions_cm):
                raise ValueError("facing needs one entry ('down' or 'up') per position")
        return self


class ScintillationConfig(StrictModel):
    """Scintillation of one material (for water-based or deuterated scintillator designs).

    Defaults: 1 % water-based liquid scintillator, see :mod:`d2oflux.optics.materials`.
    """

    photons_per_MeV: float = Field(default=WBLS_1PCT["photons_per_MeV"], ge=0)
    emission_peak_nm: float = Field(default=WBLS_1PCT["emission_peak_nm"], gt=0)
    emission_sigma_nm: float = Field(default=WBLS_1PCT["emission_sigma_nm"], gt=0)
    birks_cm_per_MeV: float = Field(default=WBLS_1PCT["birks_cm_per_MeV"], ge=0)
    time_constants_ns: tuple[float, ...] = WBLS_1PCT["time_constants_ns"]


class MaterialOptics(StrictModel):
    """Overrides of one material's optical properties."""

    refractive_index: float | None = Field(default=None, description="constant index (default: the dispersion)")
    absorption_scale: float = Field(default=1.0, gt=0, description="multiplies the tabulated absorption length")
    rayleigh_scale: float = Field(default=1.0, gt=0, description="multiplies the Rayleigh-scattering length")

    @field_validator("refractive_index")
    @classmethod
    def _index(cls, v: float | None) -> float | None:
        if v is not None and v < 1.0:
            raise ValueError(f"a refractive index is at least 1, got {v}")
        return v


class BuildConfig(StrictModel):
    """Statistics of the derived-response build (more events: smaller MC errors, longer build)."""

    events_per_energy: int = Field(default=1000, ge=10)
    energies_MeV: tuple[float, ...] = (2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 52.8, 60.0)
    map_events: int = Field(default=4000, ge=10)
    seed: int = Field(default=20261126, ge=0, lt=SEED_LIMIT)

    @field_validator("energies_MeV")
    @classmethod
    def _energies(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        # the resolution is interpolated between them and the light yield averages those of >= 10 MeV
        increasing = all(a < b for a, b in itertools.pairwise(v))
        if len(v) < 2 or any(not 0 < e < float("inf") for e in v) or not increasing:
            raise ValueError("expected at least two positive, strictly increasing electron energies [MeV]")
        if max(v) < 10.0:
            raise ValueError("expected at least one energy >= 10 MeV (the light yield is averaged over those)")
        return v


class OpticsConfig(StrictModel):
    """The whole optical description of a detector (defaults: the built D2O module)."""

    wavelength_range_nm: tuple[float, float] = (300.0, 680.0)
    vessel: VesselConfig = VesselConfig()
    liner_reflectivity: float = Field(default=0.933, ge=0, le=1)  # public Geant4 description (Tyvek)
    liner_reflection: Literal["diffuse", "specular"] = "diffuse"  # Tyvek is a Lambertian reflector
    bottom_reflectivity: float = Field(default=0.933, ge=0, le=1)  # assumption: Tyvek on the bottom too
    pmts: PMTConfig = PMTConfig()
    materials: dict[str, MaterialOptics] = Field(default_factory=dict)
    scintillation: dict[str, ScintillationConfig] = Field(default_factory=dict)
    build: BuildConfig = BuildConfig()

    @field_validator("wavelength_range_nm")
    @classmethod
    def _range(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 100.0 <= v[0] < v[1] <= 2000.0:
            raise ValueError("expected [low, high] in nm with 100 <= low < high <= 2000")
        return v

    @field_validator("materials", "scintillation")
    @classmethod
    def _materials(cls, v: dict) -> dict:
        for k in v:
            if k not in OPTICAL_MATERIALS:
                raise ValueError(f"unknown optical material '{k}'; expected {', '.join(OPTICAL_MATERIALS)}")
        return v

    @model_validator(mode="after")
    def _placeable(self) -> OpticsConfig:
        from .geometry import build_geometry  # PMTs inside the light water, not overlapping; indices >= 1

        build_geometry(self)
        return self

    def digest(self) -> str:
        """A hash of the configuration (the response cache key)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]
