"""Detectors: regions of material at a distance from the source, with a response and an analysis window.

A detector is a TOML file (a preset shipped in ``d2oflux/presets/detectors`` or the user's own file);
see ``d2o-module1.toml`` for every key with its meaning and source. Design assumptions (light yield,
resolution, threshold, efficiency, window) are labelled as such in the presets and can be overridden.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from .assumptions import default
from .binning import Axis
from .config import StrictModel, parse_toml, read_preset_text, validate
from .errors import ConfigError
from .materials import Material, material
from .optics.config import OpticsConfig, VesselConfig
from .response import Response, file_identity, load_response_file, read_only

VISIBLE_PARTICLES = ("electron", "positron", "gamma", "nuclear_recoil")

# Plausibility limits (errors beyond them; each is far outside any real detector, so they only catch typos
# and numbers for which the computation would overflow or allocate absurd memory).
#: Closest accepted detector distance [m]: 10 cm; the 1/L^2 fluence has no meaning closer to the target.
MIN_DISTANCE_M = 0.1
#: Farthest accepted distance [m]: 100 km.
MAX_DISTANCE_M = 1.0e5
#: Largest mass of one region [kg]: a megatonne.
MAX_REGION_MASS_KG = 1.0e9
#: Largest geometry dimension or centre offset [cm]: 1 km.
MAX_SIZE_CM = 1.0e5
#: Relative tolerance between a region's ``mass_kg`` and its geometry volume x material density: 5 %
#: (the presets agree to 1.5 % or better; vessel curvature and temperature-dependent densities stay inside).
MASS_GEOMETRY_TOLERANCE = 0.05
#: Relative tolerance between the D2O mass of the optical vessel (``[optics.vessel]``: its D2O cylinder x the
#: D2O density) and the D2O regions' ``mass_kg``: 10 %. The presets' default vessel holds 596 kg against the
#: module's 592 kg (0.7 %); the margin admits a region at the edge of its own 5 % geometry tolerance plus a
#: vessel not filled to the top (10 cm of ullage in 140 cm is 7 %), while a wrong unit or radius (a factor
#: of 2 or more) is refused.
VESSEL_MASS_TOLERANCE = 0.10
#: Most bins accepted on one histogram axis.
MAX_BINS_PER_AXIS = 100_000
#: Largest estimated memory of the response and rate arrays built from the binning [bytes]: 2 GiB.
MAX_BINNING_BYTES = 2 * 1024**3
#: Responses kept by :meth:`Detector.make_response` (least recently used dropped first), and the largest
#: matrix kept (elements; 1e6 floats = 8 MB, so the cache holds at most 256 MB).
RESPONSE_CACHE_SIZE = 32
RESPONSE_CACHE_MAX_ELEMENTS = 1_000_000
_RESPONSES: OrderedDict[str, Response] = OrderedDict()


class Geometry(StrictModel):
    """Shape of a region, for event vertices: a (possibly hollow) vertical cylinder or a box [cm].

    The z axis is vertical; a hollow cylinder excludes an inner cylinder of ``inner_radius_cm`` and
    ``inner_height_cm`` around the same centre (e.g. a light-water buffer around the heavy-water vessel).
    """

    shape: Literal["cylinder", "box"]
    center_cm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    radius_cm: float | None = Field(default=None, gt=0, le=MAX_SIZE_CM)
    height_cm: float | None = Field(default=None, gt=0, le=MAX_SIZE_CM)
    inner_radius_cm: float = Field(default=0.0, ge=0, le=MAX_SIZE_CM)
    inner_height_cm: float = Field(default=0.0, ge=0, le=MAX_SIZE_CM)
    size_cm: tuple[float, float, float] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Geometry:
        if self.shape == "cylinder":
            if self.radius_cm is None or self.height_cm is None:
                raise ValueError("a cylinder needs radius_cm and height_cm")
            if self.inner_radius_cm >= self.radius_cm or self.inner_height_cm >= self.height_cm:
                if self.inner_radius_cm or self.inner_height_cm:
                    raise ValueError("the inner cylinder must be smaller than the outer one")
        elif self.size_cm is None or min(self.size_cm) <= 0 or max(self.size_cm) > MAX_SIZE_CM:
            raise ValueError(f"a box needs size_cm = [x, y, z], all > 0 and at most {MAX_SIZE_CM:g} cm")
        if max(abs(x) for x in self.center_cm) > MAX_SIZE_CM:
            raise ValueError(f"center_cm must lie within {MAX_SIZE_CM:g} cm of the detector origin")
        return self

    @property
    def volume_cm3(self) -> float:
        """Volume [cm^3]."""
        if self.shape == "box":
            assert self.size_cm is not None
            return float(np.prod(self.size_cm))
        assert self.radius_cm is not None and self.height_cm is not None
        return math.pi * (self.radius_cm**2 * self.height_cm - self.inner_radius_cm**2 * self.inner_height_cm)


class Region(StrictModel):
    """One volume of one material."""

    name: str
    material: str
    mass_kg: float = Field(gt=0, le=MAX_REGION_MASS_KG)
    deuterium_fraction: float = Field(default=0.999, ge=0, le=1)
    geometry: Geometry | None = None

    @model_validator(mode="after")
    def _mass_fits_geometry(self) -> Region:
        """``mass_kg`` must equal the geometry's volume x the material density within 5 %."""
        if self.geometry is None:
            return self
        density = material(self.material, self.deuterium_fraction).density_g_cm3
        expected = self.geometry.volume_cm3 * density / 1000.0
        if expected <= 0 or abs(self.mass_kg / expected - 1.0) > MASS_GEOMETRY_TOLERANCE:
            raise ValueError(
                f"mass_kg = {self.mass_kg:g} does not match the geometry: its volume "
                f"{self.geometry.volume_cm3:.4g} cm^3 x density {density:g} g/cm^3 holds {expected:.4g} kg "
                f"(tolerance {MASS_GEOMETRY_TOLERANCE:.0%}); fix the mass or the dimensions"
            )
        return self

    @field_validator("material")
    @classmethod
    def _known_material(cls, v: str) -> str:
        material(v)  # raises with a suggestion
        return v

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if not v or "@" in v or not v.replace("-", "_").replace("_", "a").isalnum():
            raise ValueError("region names are letters, digits, '-' and '_'")
        return v

    def to_material(self) -> Material:
        return material(self.material, self.deuterium_fraction)

    def targets(self) -> dict[str, float]:
        """Number of each target species in the region."""
        return {k: v * self.mass_kg for k, v in self.to_material().targets_per_kg().items()}


class ResponseConfig(StrictModel):
    """How visible energy becomes reconstructed energy (``model = "analytic"``, ``"table"`` or ``"coherent_chain"``).

    ``coherent_chain`` (CEvNS detectors): the response chain of the data set named by ``dataset`` as a detection
    efficiency per recoil-energy bin (:mod:`d2oflux.coherent.detector_response`).

    The defaults of the light yield, resolution constant, threshold and efficiency, with their sources (all
    assumptions, with reasons), live in :data:`d2oflux.assumptions.DEFAULTS` (keys ``response.<field>``).
    """

    model: Literal["analytic", "table", "coherent_chain", "optical"] = "analytic"  # optical: from [optics]
    light_yield_pe_per_MeV: float = Field(default=default("response.light_yield_pe_per_MeV"), gt=0, le=1.0e5)
    resolution_constant: float = Field(default=default("response.resolution_constant"), ge=0, le=1.0)
    energy_scale: float = Field(default=1.0, ge=0.1, le=10.0)
    threshold_MeV: float = Field(default=default("response.threshold_MeV"), ge=0, le=1.0e4)
    efficiency: float = Field(default=default("response.efficiency"), ge=0, le=1)
    visible_particles: tuple[str, ...] = ("electron", "positron", "gamma")
    file: str | None = None
    matrix_name: str = "smearing"
    efficiency_name: str | None = None
    normalise_rows: bool = False
    dataset: str | None = None

    @field_validator("visible_particles")
    @classmethod
    def _particles(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for p in v:
            if p not in VISIBLE_PARTICLES:
                raise ValueError(f"unknown particle '{p}'; expected some of {', '.join(VISIBLE_PARTICLES)}")
        return v

    @model_validator(mode="after")
    def _file_for_table(self) -> ResponseConfig:
        if self.model == "table" and not self.file:
            raise ValueError("model = 'table' needs file = '<path to .csv, .npz or .root>'")
        if self.model == "coherent_chain" and not self.dataset:
            raise ValueError("model = 'coherent_chain' needs dataset = '<data-set preset or TOML>'")
        return self


class AnalysisConfig(StrictModel):
    """The selection: reconstructed-energy [MeV] and time-since-POT [ns] windows.

    Defaults and their sources: :data:`d2oflux.assumptions.DEFAULTS` (keys ``analysis.<field>``).
    """

    energy_window_MeV: tuple[float, float] = tuple(default("analysis.energy_window_MeV"))
    time_window_ns: tuple[float, float] = tuple(default("analysis.time_window_ns"))

    @field_validator("energy_window_MeV", "time_window_ns")
    @classmethod
    def _increasing(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not v[0] < v[1]:
            raise ValueError("expected [low, high] with low < high")
        return v


class BackgroundConfig(StrictModel):
    """Backgrounds not induced by the beam neutrinos (docs/physics.md §7), and the neutron capture on d.

    Defaults, their units and their sources (all assumptions, with reasons) live in
    :data:`d2oflux.assumptions.DEFAULTS` (keys ``backgrounds.<field>``).

    Attributes
    ----------
    steady_state_rate_per_MeV_s : float
        Steady-state (cosmic, radioactivity) rate after the muon veto, per MeV of reconstructed energy per
        second of live time, flat in energy and time.
    sideband_livetime_ratio : float
        Off-beam (anti-coincidence) live time divided by the beam-window live time.
    beam_neutrons_per_year : float
        Beam-related (prompt) neutron events per SNS-year reconstructed in the analysis window.
    beam_neutron_slope_MeV : float
        Their reconstructed-energy spectrum falls as exp(-E / slope).
    beam_neutron_delay_ns : float
        Their time profile is the POT profile delayed by this much.
    beam_neutron_rel_uncertainty : float
        Normalisation uncertainty of the beam neutrons.
    nd_capture_probability : float or None
        Probability that an NC-on-d neutron is captured on a deuteron (6.257 MeV gamma). Default (None):
        computed from the D2O geometry by :func:`d2oflux.neutron_capture.detector_capture_fractions`.
    """

    steady_state_rate_per_MeV_s: float = Field(default=default("backgrounds.steady_state_rate_per_MeV_s"), ge=0)
    sideband_livetime_ratio: float = Field(default=default("backgrounds.sideband_livetime_ratio"), gt=0)
    beam_neutrons_per_year: float = Field(default=default("backgrounds.beam_neutrons_per_year"), ge=0)
    beam_neutron_slope_MeV: float = Field(default=default("backgrounds.beam_neutron_slope_MeV"), gt=0)
    beam_neutron_delay_ns: float = Field(default=default("backgrounds.beam_neutron_delay_ns"), ge=0)
    beam_neutron_rel_uncertainty: float = Field(default=default("backgrounds.beam_neutron_rel_uncertainty"), ge=0)
    nd_capture_probability: float | None = Field(default=None, ge=0, le=1)


class SystematicsConfig(StrictModel):
    """Sizes (1 sigma, relative unless stated) of the nuisance parameters in the likelihood.

    Defaults and their sources: :data:`d2oflux.assumptions.DEFAULTS` (keys ``systematics.<field>``).
    ``nud_cross_section`` and ``radiative_correction`` are theory (published); ``o16_model`` scales the
    Kolbe -> Nakazato nu_e 16O CC variation; ``other_cross_sections`` scales every other reaction's stated
    uncertainty. A profile (``--systematics``, :mod:`d2oflux.systematics`) replaces these per run.
    """

    energy_scale: float = Field(default=default("systematics.energy_scale"), ge=0)
    resolution_constant: float = Field(default=default("systematics.resolution_constant"), ge=0)
    efficiency: float = Field(default=default("systematics.efficiency"), ge=0)
    deuteron_count: float = Field(default=default("systematics.deuteron_count"), ge=0)
    pot: float = Field(default=default("systematics.pot"), ge=0)
    nud_cross_section: float = Field(default=default("systematics.nud_cross_section"), ge=0)
    radiative_correction: float = Field(default=default("systematics.radiative_correction"), ge=0)
    o16_model: float = Field(default=default("systematics.o16_model"), ge=0)
    other_cross_sections: float = Field(default=default("systematics.other_cross_sections"), ge=0)


class BinningConfig(StrictModel):
    """Histogram axes: neutrino, visible and reconstructed energy [MeV], time since POT [ns]."""

    neutrino_energy_MeV: Axis = Axis(min=0.0, max=60.0, width=0.25)
    visible_energy_MeV: Axis = Axis(min=0.0, max=60.0, width=0.25)
    reco_energy_MeV: Axis = Axis(min=0.0, max=60.0, width=2.5)
    time_ns: Axis = Axis(edges=(0.0, 250, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000))


class DetectorConfig(StrictModel):
    """A whole detector file."""

    name: str
    description: str = ""
    distance_m: float = Field(ge=MIN_DISTANCE_M, le=MAX_DISTANCE_M)
    facility: str = "sns-fts"
    source_position_m: tuple[float, float, float] | None = None
    regions: list[Region] = Field(min_length=1)
    response: ResponseConfig = ResponseConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    binning: BinningConfig = BinningConfig()
    backgrounds: BackgroundConfig = BackgroundConfig()
    systematics: SystematicsConfig = SystematicsConfig()
    optics: OpticsConfig | None = None  # the optical model (d2oflux.optics); defaults: the D2O module
    notes: dict[str, str] = Field(default_factory=dict)

    @field_validator("regions")
    @classmethod
    def _unique(cls, v: list[Region]) -> list[Region]:
        names = [r.name for r in v]
        if len(set(names)) != len(names):
            raise ValueError("region names must be unique")
        return v

    @model_validator(mode="after")
    def _plausible(self) -> DetectorConfig:
        """Threshold inside the reconstructed axis, windows inside their axes, binning affordable."""
        b = self.binning
        counts = {name: getattr(b, name).n_bins for name in BinningConfig.model_fields}
        for name, n in counts.items():
            if n > MAX_BINS_PER_AXIS:
                raise ValueError(f"binning.{name} has {n} bins; at most {MAX_BINS_PER_AXIS} are accepted")
        reco = b.reco_energy_MeV.to_edges()
        if self.response.model == "analytic" and self.response.threshold_MeV >= reco[-1]:
            raise ValueError(
                f"response.threshold_MeV = {self.response.threshold_MeV:g} is at or above the top of the "
                f"reconstructed-energy axis ({reco[-1]:g} MeV): nothing could be detected"
            )
        check_ceilings(self)
        check_vessel_mass(self)
        need = binning_memory_bytes(**counts)
        if need > MAX_BINNING_BYTES:
            raise ValueError(
                f"the binning needs about {need / 1024**3:.1f} GiB of memory (limit "
                f"{MAX_BINNING_BYTES / 1024**3:.0f} GiB); use wider bins"
            )
        return self


#: Upper limits of the background and systematic settings (plausibility: far above any real value, low
#: enough that the likelihood stays finite). Fields not listed are held to :data:`DEFAULT_CEILING`.
CEILINGS = {
    "backgrounds.steady_state_rate_per_MeV_s": 1.0e6,
    "backgrounds.sideband_livetime_ratio": 1.0e6,
    "backgrounds.beam_neutrons_per_year": 1.0e9,
    "backgrounds.beam_neutron_slope_MeV": 1.0e4,
    "backgrounds.beam_neutron_delay_ns": 1.0e6,
    "backgrounds.beam_neutron_rel_uncertainty": 10.0,
    "systematics.energy_scale": 0.5,
    "systematics.resolution_constant": 1.0,
    "systematics.efficiency": 1.0,
    "systematics.deuteron_count": 1.0,
    "systematics.pot": 1.0,
}
DEFAULT_CEILING = 1.0e6


def check_ceilings(config: DetectorConfig) -> None:
    """Raise ``ValueError`` for a background or systematic setting above its ceiling (:data:`CEILINGS`)."""
    for section in ("backgrounds", "systematics"):
        for key, value in getattr(config, section).model_dump().items():
            limit = CEILINGS.get(f"{section}.{key}", DEFAULT_CEILING)
            if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > limit:
                raise ValueError(f"{section}.{key} = {value:g} is above its plausible maximum {limit:g}")


def check_vessel_mass(config: DetectorConfig) -> None:
    """Raise ``ValueError`` if the optical vessel's D2O and the D2O regions differ by more than 10 %.

    Checked where the optical model describes the detector (an ``[optics]`` section or ``[response] model =
    "optical"``; without ``[optics]`` the vessel is the built module's, :class:`VesselConfig`) and the detector
    has D2O regions: both then describe the same heavy water, the regions its target mass and the vessel its
    optics. Tolerance: :data:`VESSEL_MASS_TOLERANCE`.
    """
    d2o = [r for r in config.regions if r.material == "D2O"]
    if not d2o or (config.optics is None and config.response.model != "optical"):
        return
    v = config.optics.vessel if config.optics is not None else VesselConfig()
    density = d2o[0].to_material().density_g_cm3
    vessel_kg = vessel_d2o_mass_kg(v, density)
    regions_kg = sum(r.mass_kg for r in d2o)
    if abs(vessel_kg / regions_kg - 1.0) > VESSEL_MASS_TOLERANCE:
        names = ", ".join(f"'{r.name}'" for r in d2o)
        which = "optics.vessel" if config.optics is not None else "the default optics.vessel"
        regions = f"the D2O regions {names} have" if len(d2o) > 1 else f"the D2O region {names} has"
        raise ValueError(
            f"{which} (d2o_radius_cm = {v.d2o_radius_cm:g}, d2o_height_cm = {v.d2o_height_cm:g}) holds "
            f"{vessel_kg:.4g} kg of D2O at {density:g} g/cm^3, but {regions} mass_kg = {regions_kg:.4g} "
            f"(tolerance {VESSEL_MASS_TOLERANCE:.0%}); make [optics.vessel] and the D2O [[regions]] describe the "
            "same heavy water"
        )


def vessel_d2o_mass_kg(vessel: VesselConfig, density_g_cm3: float) -> float:
    """Mass [kg] of the heavy water filling the optical vessel's D2O cylinder (radius and height [cm]) at
    ``density_g_cm3`` [g/cm^3]."""
    return math.pi * vessel.d2o_radius_cm**2 * vessel.d2o_height_cm * density_g_cm3 / 1000.0


def binning_memory_bytes(neutrino_energy_MeV: int, visible_energy_MeV: int, reco_energy_MeV: int, time_ns: int) -> int:
    """Estimate of the largest arrays the binning makes [bytes] (8-byte floats).

    The analytic response evaluates a (visible x 4 Gauss points x reconstructed) array three times; the
    rates hold neutrino x visible transfer matrices and reconstructed x time histograms for ~10 channels.
    """
    response = 3 * visible_energy_MeV * 4 * (reco_energy_MeV + 1)
    transfer = 4 * neutrino_energy_MeV * visible_energy_MeV
    histograms = 20 * max(reco_energy_MeV, visible_energy_MeV) * time_ns
    return 8 * (response + transfer + histograms)


@dataclass(frozen=True)
class Detector:
    """A validated detector: its configuration, its source text and its response.

    Create with :func:`load_detector`.
    """

    config: DetectorConfig
    label: str
    toml_text: str
    base_dir: Path

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def distance_m(self) -> float:
        return self.config.distance_m

    @property
    def regions(self) -> list[Region]:
        return self.config.regions

    @cached_property
    def response(self) -> Response:
        """The response built from the configuration (analytic, or loaded from its file)."""
        return self.make_response()

    def make_response(self, **overrides: float) -> Response:
        """The response, with analytic parameters overridden (e.g. ``energy_scale=1.02``); arrays read-only.

        Responses are shared through a bounded in-memory cache (:data:`RESPONSE_CACHE_SIZE` entries of at most
        :data:`RESPONSE_CACHE_MAX_ELEMENTS` matrix elements) keyed by everything they depend on: the response
        settings and the overrides, the binning, and the version of the table file
        (:func:`d2oflux.response.file_identity`: an edited file is read again), of the optical model's cache
        file or of the data set's text. So the points of a scan that differ only in distance, mass or window
        build each response once.
        """
        key = self._response_key(overrides)
        cached = _RESPONSES.get(key) if key is not None else None
        if cached is not None:
            _RESPONSES.move_to_end(key)
            return cached
        resp = read_only(self._build_response(**overrides))
        if key is not None and resp.matrix.size <= RESPONSE_CACHE_MAX_ELEMENTS:
            _RESPONSES[key] = resp
            if len(_RESPONSES) > RESPONSE_CACHE_SIZE:
                _RESPONSES.popitem(last=False)
        return resp

    def _table_path(self, file: str) -> Path:
        """A table response's file, relative paths taken from the detector file's folder."""
        path = Path(file)
        return path if path.is_absolute() else self.base_dir / path

    def _response_key(self, overrides: dict) -> str | None:
        """The cache key of :meth:`make_response` (None: do not cache, e.g. a table file that cannot be read)."""
        r = self.config.response.model_copy(update=overrides)
        parts: list = [self.config.response.model_dump(), sorted(overrides.items()), self.config.binning.model_dump()]
        if r.model == "table":
            assert r.file is not None
            identity = file_identity(self._table_path(r.file))
            if identity is None:
                return None  # the build reports the problem
            parts.append(identity)
        elif r.model == "optical":
            from .optics.response import cache_path

            built = cache_path(self.config.optics or OpticsConfig())  # the derived response's cache file
            parts.append((str(built), file_identity(built)))
        elif r.model == "coherent_chain":
            assert r.dataset is not None
            parts.append(read_preset_text("datasets", r.dataset))
        return repr(parts)

    def _build_response(self, **overrides: float) -> Response:
        """Build the response of :meth:`make_response` (no cache)."""
        r = self.config.response.model_copy(update=overrides)
        if r.model == "table":
            assert r.file is not None
            path = self._table_path(r.file)
            from .response_variation import vary_table  # the scale/resolution nuisances act on tables too

            table = load_response_file(
                path,
                matrix_name=r.matrix_name,
                efficiency_name=r.efficiency_name,
                normalise_rows=r.normalise_rows,
                visible_particles=r.visible_particles,
            )
            c = self.config.response
            return vary_table(table, c.energy_scale, r.energy_scale, c.resolution_constant, r.resolution_constant)
        b = self.config.binning
        if r.model == "coherent_chain":
            from .coherent.detector_response import chain_response

            if r.resolution_constant != self.config.response.resolution_constant:
                raise ConfigError(
                    f"detector '{self.name}': the resolution nuisance has no effect on a coherent_chain response "
                    "(set systematics.resolution_constant = 0; the chain's width is varied in the data set)"
                )
            assert r.dataset is not None
            return chain_response(
                r.dataset, b.visible_energy_MeV.to_edges(), b.reco_energy_MeV.to_edges(), r.energy_scale
            )
        if r.model == "optical":  # resolution_constant: an extra term on top of the derived resolution
            import sys

            from .optics.response import derived_response

            cfg = self.config.optics or OpticsConfig()
            return derived_response(cfg, progress=sys.stderr.isatty()).to_response(
                b.visible_energy_MeV.to_edges(),
                b.reco_energy_MeV.to_edges(),
                energy_scale=r.energy_scale,
                resolution_constant=r.resolution_constant,
                threshold_MeV=r.threshold_MeV,
                efficiency=r.efficiency,
                visible_particles=r.visible_particles,
            )
        return Response.analytic(
            b.visible_energy_MeV.to_edges(),
            b.reco_energy_MeV.to_edges(),
            light_yield_pe_per_MeV=r.light_yield_pe_per_MeV,
            resolution_constant=r.resolution_constant,
            energy_scale=r.energy_scale,
            threshold_MeV=r.threshold_MeV,
            efficiency=r.efficiency,
            visible_particles=r.visible_particles,
        )

    @property
    def neutrino_edges_MeV(self) -> np.ndarray:
        return self.config.binning.neutrino_energy_MeV.to_edges()

    @property
    def time_edges_ns(self) -> np.ndarray:
        return self.config.binning.time_ns.to_edges()

    def with_mass_scale(self, factor: float) -> Detector:
        """A copy with every region's mass multiplied by ``factor`` (for scans)."""
        regions = [r.model_copy(update={"mass_kg": r.mass_kg * factor}) for r in self.regions]
        return Detector(self.config.model_copy(update={"regions": regions}), self.label, self.toml_text, self.base_dir)

    def with_distance(self, distance_m: float) -> Detector:
        """A copy at another distance from the source [m]."""
        return Detector(
            self.config.model_copy(update={"distance_m": distance_m}),
            self.label,
            self.toml_text,
            self.base_dir,
        )


def load_detector(name_or_path: str | Path) -> Detector:
    """Load a detector preset (``d2o-module1``, ``d2o-1t``, ``csi``, ``lar``) or a TOML file."""
    label, text = read_preset_text("detectors", name_or_path)
    data = parse_toml(label, text)
    config = validate(DetectorConfig, data, f"detector '{label}'")
    base = Path(label).parent if Path(label).is_file() else Path.cwd()
    det = Detector(config, label, text, base)
    _check_windows(det)
    _warn_fine_binning(det)
    return det


#: Reconstructed-energy bins narrower than this fraction of the resolution sigma draw a warning.
FINE_BIN_FRACTION = 0.1


def _warn_fine_binning(det: Detector) -> None:
    """Warn when analytic reconstructed-energy bins are finer than 1/10 of the resolution at the window's
    lower edge: they cost memory and time and carry no extra information.
    """
    import warnings

    r = det.config.response
    if r.model != "analytic":
        return
    edges = det.config.binning.reco_energy_MeV.to_edges()
    e = max(det.config.analysis.energy_window_MeV[0], float(edges[edges > 0][0]) if np.any(edges > 0) else 0.0)
    sigma = math.sqrt(e / r.light_yield_pe_per_MeV + (r.resolution_constant * e) ** 2)
    width = float(np.min(np.diff(edges)))
    if width < FINE_BIN_FRACTION * sigma:
        warnings.warn(
            f"detector '{det.label}': binning.reco_energy_MeV has bins of {width:g} MeV, finer than 1/10 of the "
            f"resolution (sigma = {sigma:.3g} MeV at {e:g} MeV); they add cost, not information",
            UserWarning,
            stacklevel=2,
        )


def misaligned_window_edge(analysis, reco_edges: np.ndarray, time_edges: np.ndarray) -> str | None:
    """The first analysis-window edge that is not a bin edge of its axis, as text for an error; else None.

    ``analysis`` is an :class:`AnalysisConfig`; ``reco_edges`` in MeV, ``time_edges`` in ns.
    """
    for value, edges, key in (
        (analysis.energy_window_MeV[0], reco_edges, "analysis.energy_window_MeV"),
        (analysis.energy_window_MeV[1], reco_edges, "analysis.energy_window_MeV"),
        (analysis.time_window_ns[0], time_edges, "analysis.time_window_ns"),
        (analysis.time_window_ns[1], time_edges, "analysis.time_window_ns"),
    ):
        if not np.any(np.isclose(edges, value)):
            return f"'{key}' edge {value} is not a bin edge of its axis ({edges[0]:g} .. {edges[-1]:g})"
    return None


def _check_windows(det: Detector) -> None:
    """The analysis windows must sit on bin edges of the reconstructed-energy and time axes."""
    # optical: no simulation just to check the binning; analytic: its reco edges are the binning's (and
    # building it would import scipy, which `d2oflux rates` with a warm rate cache never needs)
    from_binning = det.config.response.model in ("optical", "analytic")
    reco = det.config.binning.reco_energy_MeV.to_edges() if from_binning else det.response.reco_edges_MeV
    problem = misaligned_window_edge(det.config.analysis, reco, det.time_edges_ns)
    if problem is not None:
        raise ConfigError(f"detector '{det.label}': {problem}; align the window with the binning")
