"""Data-set files (TOML): a CEvNS detector, its exposure, its response chain, its data and background templates.

A data set names a detector (preset or TOML: target mass and distance), the exposure (GWh with a proton
energy, or POT; neutrinos per proton), its own time zero (the POT-profile mean in the data's clock), the
CEvNS form factor, the response chain (:mod:`d2oflux.coherent.response`), the analysis axes (each with
its unit), the data (event list or histogram), the background templates with their priors, and the
nuisances. Presets: ``coherent-csi-2021``, ``coherent-lar-2020`` (``d2oflux/presets/datasets``).

File references are release keys (``"lar2020/cevnspdf.txt"``, fetched and checked by
:mod:`d2oflux.coherent.fetch`) or paths relative to the TOML file.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ..beam import pot_from_beam
from ..binning import Axis
from ..config import StrictModel, parse_toml, read_preset_text, validate
from ..errors import ConfigError, read_text_file
from ..xsec.cevns import FORM_FACTORS
from .fetch import REGISTRY, release_file
from .releases import read_binned, read_event_list, read_root_histogram
from .response import NUISANCE_KINDS, ResponseChain, ResponseChainConfig

AXIS_UNITS = {"energy": ("PE", "keVee"), "psd": ("F90",), "time": ("us",)}


class AxisConfig(Axis):
    """An analysis axis with its unit."""

    unit: str


class ExposureConfig(StrictModel):
    """Protons on target (``pot``) or integrated beam energy (``gwh`` with ``proton_energy_GeV``)."""

    pot: float | None = Field(default=None, gt=0)
    gwh: float | None = Field(default=None, gt=0)
    proton_energy_GeV: float | None = Field(default=None, gt=0)
    nu_per_proton: float = Field(gt=0)
    nu_per_proton_rel_uncertainty: float = Field(default=0.10, ge=0)
    pot_rel_uncertainty: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _one(self) -> ExposureConfig:
        if (self.pot is None) == (self.gwh is None):
            raise ValueError("give exactly one of pot or gwh (with proton_energy_GeV)")
        if self.gwh is not None and self.proton_energy_GeV is None:
            raise ValueError("gwh needs proton_energy_GeV")
        return self

    @property
    def protons_on_target(self) -> float:
        if self.pot is not None:
            return self.pot
        return pot_from_beam(1e3 * self.gwh, 3600.0, self.proton_energy_GeV)  # 1 GWh = 1000 MW for one hour


class TimingConfig(StrictModel):
    """Time zero of the data set: where the POT-profile mean sits in the data's clock [us]."""

    pot_mean_us: float
    pot_sigma_us: float = Field(default=0.150, gt=0)


class SourceFile(StrictModel):
    """A histogram or event list: a release key or a path.

    ``format``: ``events`` (text, CSV or parquet; ``columns`` name the axes), ``binned`` (release text format),
    ``root`` (a TH1/TH2/TH3 named ``object``, axes in the data set's order).
    """

    file: str
    format: Literal["events", "binned", "root"] = "binned"
    columns: tuple[str, ...] | None = None
    object: str | None = None


class BackgroundConfig(StrictModel):
    """A background template and its prior.

    ``file`` is a histogram on the analysis axes, or an event list (binned here); alternatively ``projections``
    gives one 1-D histogram per axis whose product is the template (the CsI 2021 BRN/NIN release format).
    A projection named in ``normalised_projections`` is a shape: divided by its sum over the whole file
    (``normalise_over = "file"``, so the part outside the analysis region is lost, as for projections of one
    template over a wider range) or over the analysis region only (``"region"``). ``apply_time_acceptance``
    multiplies the time projection, or the time shape of a ``flat_in = ["time"]`` template, by the data set's
    time acceptance.
    """

    name: str
    file: str | None = None
    format: Literal["events", "binned", "root"] = "binned"
    columns: tuple[str, ...] | None = None
    object: str | None = None
    projections: dict[str, str] | None = None
    normalised_projections: tuple[str, ...] = ()
    normalise_over: Literal["file", "region"] = "file"
    apply_time_acceptance: bool = False
    flat_in: tuple[str, ...] = ()
    prior: Literal["free", "gaussian"] = "free"
    rel_uncertainty: float = Field(default=0.0, ge=0)
    expected: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _source(self) -> BackgroundConfig:
        if (self.file is None) == (self.projections is None):
            raise ValueError(f"background '{self.name}': give file or projections")
        if self.prior == "gaussian" and self.rel_uncertainty <= 0:
            raise ValueError(f"background '{self.name}': a gaussian prior needs rel_uncertainty > 0")
        return self


class NuisanceConfig(StrictModel):
    """A response nuisance: ``acts_on`` one step, by ``relative`` size or ``up``/``down`` coefficients."""

    name: str
    acts_on: str
    relative: float | None = None
    up: tuple[float, ...] | None = None
    down: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _spec(self) -> NuisanceConfig:
        if self.acts_on not in NUISANCE_KINDS:
            raise ValueError(f"acts_on '{self.acts_on}': expected one of {', '.join(NUISANCE_KINDS)}")
        if self.relative is None and (self.up is None or self.down is None):
            raise ValueError(f"nuisance '{self.name}': give relative = x, or both up and down")
        return self


class PulseShapeConfig(StrictModel):
    """P(psd bin | energy bin) for the CEvNS recoils, taken from a 3-D histogram (energy x psd x time)."""

    table_file: str


class DatasetConfig(StrictModel):
    """A whole data-set file."""

    name: str
    description: str = ""
    detector: str
    form_factor: str = "helm"
    exposure: ExposureConfig
    timing: TimingConfig
    response: ResponseChainConfig
    axes: dict[str, AxisConfig]
    data: SourceFile
    backgrounds: list[BackgroundConfig] = Field(default_factory=list)
    nuisances: list[NuisanceConfig] = Field(default_factory=list)
    pulse_shape: PulseShapeConfig | None = None
    cevns_template: SourceFile | None = None
    flux_table: str | None = None
    published: dict[str, float] = Field(default_factory=dict)
    notes: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> DatasetConfig:
        if self.form_factor not in FORM_FACTORS:
            raise ValueError(f"form_factor '{self.form_factor}': expected one of {', '.join(FORM_FACTORS)}")
        for name, ax in self.axes.items():
            if name not in AXIS_UNITS:
                raise ValueError(f"axis '{name}': expected energy, psd or time")
            if ax.unit not in AXIS_UNITS[name]:
                raise ValueError(f"axis '{name}': unit '{ax.unit}', expected one of {', '.join(AXIS_UNITS[name])}")
        for need in ("energy", "time"):
            if need not in self.axes:
                raise ValueError(f"missing axis '{need}'")
        if self.axes["energy"].unit != self.response.statistics.observable:
            raise ValueError(
                f"axis 'energy' is in {self.axes['energy'].unit} but the response produces "
                f"{self.response.statistics.observable} (statistics model '{self.response.statistics.model}')"
            )
        if "psd" in self.axes and self.pulse_shape is None:
            raise ValueError("axis 'psd' (F90) needs a [pulse_shape] table: the response produces no psd axis")
        names = [b.name for b in self.backgrounds] + [n.name for n in self.nuisances]
        if len(set(names)) != len(names) or "cevns" in names:
            raise ValueError("background and nuisance names must be unique and not 'cevns'")
        return self


@dataclass
class Dataset:
    """A loaded data set: configuration, axes, observed counts, background templates, response chain.

    Attributes
    ----------
    config : DatasetConfig
    label : str
    axis_names : list of str
        ``["energy", "time"]`` or ``["energy", "psd", "time"]``.
    edges : dict
        Bin edges per axis (units in ``config.axes``).
    observed : array
        Observed counts, shape of the axes.
    backgrounds : dict
        Name -> expected counts (nominal) on the axes.
    chain : ResponseChain
    psd_given_energy : array (n_energy, n_psd) or None
    files : dict
        What was read from where.
    """

    config: DatasetConfig
    label: str
    axis_names: list[str]
    edges: dict[str, np.ndarray]
    observed: np.ndarray
    backgrounds: dict[str, np.ndarray]
    chain: ResponseChain
    psd_given_energy: np.ndarray | None = None
    files: dict[str, str] = field(default_factory=dict)
    cevns_template: np.ndarray | None = None
    flux_table: FluxTable2D | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def shape(self) -> tuple[int, ...]:
        return self.observed.shape


@dataclass(frozen=True)
class FluxTable2D:
    """Neutrino flux per flavour on an energy x time grid (e.g. a simulation of the target).

    The CSV has a header ``E_MeV,t_us,<flavour>,...`` (flavours among nu_mu, nu_e, anti_nu_mu) and one row per grid
    point (every energy with every time); values are d2N/dE dt in any unit: each flavour is normalised to 1 over the
    grid, the normalisation still comes from the neutrinos per proton. Times are in the data set's clock [us].
    Between grid points the density is taken as constant over the cell around each point.
    """

    path: str
    energies_MeV: np.ndarray
    times_us: np.ndarray
    density: dict[str, np.ndarray]

    @classmethod
    def read(cls, path: Path) -> FluxTable2D:
        header_line, header_index = "", 0
        text = read_text_file(path, "flux table", "a CSV with the header E_MeV,t_us,<flavours>")
        for header_index, line in enumerate(text.splitlines()):  # noqa: B007 (the index is used below)
            if line.strip() and not line.startswith("#"):
                header_line = line
                break
        header = [h.strip() for h in header_line.split(",")]
        if header[:2] != ["E_MeV", "t_us"] or len(header) < 3:
            raise ConfigError(f"flux table '{path}': header must start with E_MeV,t_us and name flavours")
        known = ("nu_mu", "nu_e", "anti_nu_mu")
        bad = [h for h in header[2:] if h not in known]
        if bad:
            raise ConfigError(f"flux table '{path}': unknown flavour column '{bad[0]}' (expected {', '.join(known)})")
        try:
            with warnings.catch_warnings():  # no data rows: the error below says so, in one line
                warnings.simplefilter("ignore", UserWarning)
                a = np.loadtxt(io.StringIO(text), delimiter=",", comments="#", skiprows=header_index + 1, ndmin=2)
        except ValueError:
            raise ConfigError(f"flux table '{path}': non-numeric value or ragged rows") from None
        if a.size == 0:
            raise ConfigError(f"flux table '{path}': no data rows after the header")
        if a.shape[1] != len(header) or not np.all(np.isfinite(a)) or np.any(a[:, 2:] < 0):
            raise ConfigError(f"flux table '{path}': expected finite, non-negative values in every column")
        E, t = np.unique(a[:, 0]), np.unique(a[:, 1])
        if E.size * t.size != a.shape[0]:
            raise ConfigError(f"flux table '{path}': rows must form a full E_MeV x t_us grid")
        i, j = np.searchsorted(E, a[:, 0]), np.searchsorted(t, a[:, 1])
        density = {}
        for k, name in enumerate(header[2:], start=2):
            grid = np.zeros((E.size, t.size))
            grid[i, j] = a[:, k]
            if grid.sum() <= 0:
                raise ConfigError(f"flux table '{path}': column '{name}' is zero everywhere")
            density[name] = grid
        return cls(str(path), E, t, density)

    def cell_weights(self, flavour: str) -> np.ndarray:
        """Probability of each (energy, time) grid cell: density x cell area, normalised to 1."""
        if flavour not in self.density:
            raise ConfigError(f"flux table '{self.path}': no column for flavour '{flavour}'")
        w = self.density[flavour] * np.outer(cell_widths(self.energies_MeV), cell_widths(self.times_us))
        return w / w.sum()


def cell_widths(x: np.ndarray) -> np.ndarray:
    if x.size == 1:
        return np.ones(1)
    mid = 0.5 * (x[1:] + x[:-1])
    lo = np.concatenate([[x[0] - (mid[0] - x[0])], mid])
    hi = np.concatenate([mid, [x[-1] + (x[-1] - mid[-1])]])
    return hi - lo


def load_dataset(name_or_path: str | Path, data_dir: str | Path | None = None) -> Dataset:
    """Load a data-set preset (``coherent-csi-2021``, ``coherent-lar-2020``) or a TOML file, with its files."""
    label, text = read_preset_text("datasets", name_or_path)
    cfg = validate(DatasetConfig, parse_toml(label, text), f"dataset '{label}'")
    base = Path(label).parent if Path(label).is_file() else Path.cwd()

    def resolve(ref: str) -> Path:
        if ref in REGISTRY:
            return release_file(ref, data_dir)
        p = Path(ref)
        p = p if p.is_absolute() else base / p
        if p.is_dir():
            raise ConfigError(f"dataset '{label}': file '{ref}' is a folder; expected a file")
        if not p.is_file():
            raise ConfigError(f"dataset '{label}': file '{ref}' does not exist (neither a release key nor a path)")
        return p

    axis_names = [a for a in ("energy", "psd", "time") if a in cfg.axes]
    edges = {a: cfg.axes[a].to_edges() for a in axis_names}
    files: dict[str, str] = {}
    observed = _histogram(
        cfg.data.file, cfg.data.format, cfg.data.columns, resolve, axis_names, edges, label, "data", cfg.data.object
    )
    files["data"] = cfg.data.file
    chain = ResponseChain(_with_tables(cfg.response, resolve, label))
    backgrounds: dict[str, np.ndarray] = {}
    for b in cfg.backgrounds:
        backgrounds[b.name] = _background(b, resolve, axis_names, edges, chain, label)
        files[b.name] = b.file or ", ".join(b.projections.values())
    psd = None
    if cfg.pulse_shape is not None:
        psd = _psd_table(resolve(cfg.pulse_shape.table_file), edges, label)
        files["pulse_shape"] = cfg.pulse_shape.table_file
    template = None
    if cfg.cevns_template is not None:
        t = cfg.cevns_template
        template = _histogram(
            t.file, t.format, t.columns, resolve, axis_names, edges, label, "cevns_template", t.object
        )
        files["cevns_template"] = t.file
    flux = None
    if cfg.flux_table is not None:
        flux = FluxTable2D.read(resolve(cfg.flux_table))
        files["flux_table"] = cfg.flux_table
    return Dataset(cfg, label, axis_names, edges, observed, backgrounds, chain, psd, files, template, flux)


def _with_tables(response: ResponseChainConfig, resolve, label: str) -> ResponseChainConfig:
    """Read an acceptance table given as a file into the configuration."""
    acc = response.acceptance
    if acc.model != "table" or acc.table_file is None:
        return response
    from .releases import _load_text

    a = _load_text(resolve(acc.table_file))
    ix, ie = acc.table_columns
    if max(ix, ie) >= a.shape[1]:
        raise ConfigError(f"dataset '{label}': acceptance table '{acc.table_file}' has {a.shape[1]} columns")
    x, eff = a[:, ix], a[:, ie]
    if np.any(np.diff(x) <= 0) or np.any(eff < 0) or np.any(eff > 1 + 1e-9):
        raise ConfigError(f"dataset '{label}': acceptance table '{acc.table_file}': x must increase, 0 <= eff <= 1")
    new = acc.model_copy(update={"table_x": tuple(x), "table_efficiency": tuple(eff)})
    return response.model_copy(update={"acceptance": new})


def _histogram(ref, fmt, columns, resolve, axis_names, edges, label, what, obj=None) -> np.ndarray:
    path = resolve(ref)
    if fmt == "events":
        cols = list(columns or axis_names)
        if sorted(set(cols) & set(axis_names)) != sorted(axis_names):
            raise ConfigError(f"dataset '{label}': {what} columns {cols} must include the axes {axis_names}")
        ev = read_event_list(path, cols)
        counts, _ = np.histogramdd([ev[a] for a in axis_names], bins=[edges[a] for a in axis_names])
        return counts
    if fmt == "root":
        if not obj:
            raise ConfigError(f"dataset '{label}': {what} in ROOT format needs object = '<histogram name>'")
        file_edges, values = read_root_histogram(path, obj, len(axis_names))
    else:
        file_edges, values = read_binned(path, len(axis_names))
    for a, fe in zip(axis_names, file_edges, strict=True):
        if fe.shape != edges[a].shape or not np.allclose(fe, edges[a], atol=1e-6 * max(1.0, np.ptp(fe))):
            raise ConfigError(
                f"dataset '{label}': {what} file '{ref}' axis '{a}' has bins {fe[0]:g}..{fe[-1]:g} "
                f"({fe.size - 1} bins), the data set declares {edges[a][0]:g}..{edges[a][-1]:g} ({edges[a].size - 1})"
            )
    return values


def _rebin_1d(src_edges: np.ndarray, values: np.ndarray, dst_edges: np.ndarray) -> np.ndarray:
    """Re-bin a histogram assuming a flat density inside each source bin."""
    cum = np.concatenate([[0.0], np.cumsum(values)])
    return np.diff(np.interp(dst_edges, src_edges, cum))


def _fine_time_grid(edges_us: np.ndarray) -> np.ndarray:
    """20 uniform sub-bins per time bin over the whole range, plus the bin edges [us]."""
    fine = np.linspace(edges_us[0], edges_us[-1], 20 * (edges_us.size - 1) + 1)
    return np.unique(np.concatenate([fine, edges_us]))


def _time_acceptance_weights(edges_us: np.ndarray, chain: ResponseChain) -> np.ndarray:
    """Integral of the time acceptance over each time bin [us] (20 sub-bins per bin, midpoint rule)."""
    fine = _fine_time_grid(edges_us)
    dens = np.diff(fine) * chain.time_bin_acceptance(fine)
    return _rebin_1d(fine, dens, edges_us)


def _background(b: BackgroundConfig, resolve, axis_names, edges, chain: ResponseChain, label: str) -> np.ndarray:
    if b.file is not None:
        tpl = _histogram(
            b.file, b.format, b.columns, resolve, axis_names, edges, label, f"background '{b.name}'", b.object
        )
    else:
        missing = [a for a in axis_names if a not in b.projections]
        if missing:
            raise ConfigError(f"dataset '{label}': background '{b.name}' has no projection on axis {missing[0]}")
        tpl = np.ones(tuple(edges[a].size - 1 for a in axis_names))
        for k, a in enumerate(axis_names):
            (src_edges,), values = read_binned(resolve(b.projections[a]), 1)
            if a in b.normalised_projections and values.sum() > 0:
                # a shape: fractions of the whole projection, or of the part inside the analysis region
                total = values.sum() if b.normalise_over == "file" else _rebin_1d(src_edges, values, edges[a]).sum()
                values = values / total
            if a == "time" and b.apply_time_acceptance:
                fine = _fine_time_grid(edges[a])
                proj = _rebin_1d(fine, _rebin_1d(src_edges, values, fine) * chain.time_bin_acceptance(fine), edges[a])
            else:
                proj = _rebin_1d(src_edges, values, edges[a])
            shape = [1] * len(axis_names)
            shape[k] = -1
            tpl = tpl * proj.reshape(shape)
    for a in b.flat_in:
        if a not in axis_names:
            raise ConfigError(f"dataset '{label}': background '{b.name}' flat_in names unknown axis '{a}'")
        k = axis_names.index(a)
        w = np.diff(edges[a])
        if a == "time" and b.apply_time_acceptance:
            w = _time_acceptance_weights(edges[a], chain)
        shape = [1] * len(axis_names)
        shape[k] = -1
        tpl = tpl.sum(axis=k, keepdims=True) * (w / w.sum()).reshape(shape)
    if not np.all(np.isfinite(tpl)) or np.any(tpl < 0):
        raise ConfigError(f"dataset '{label}': background '{b.name}' template has negative or NaN entries")
    if b.expected is not None:
        total = tpl.sum()
        if total <= 0:
            raise ConfigError(f"dataset '{label}': background '{b.name}' template is empty")
        tpl = tpl * (b.expected / total)
    return tpl


def _psd_table(path: Path, edges: dict[str, np.ndarray], label: str) -> np.ndarray:
    file_edges, values = read_binned(path, 3)
    for a, fe in zip(("energy", "psd", "time"), file_edges, strict=True):
        if fe.shape != edges[a].shape or not np.allclose(fe, edges[a]):
            raise ConfigError(f"dataset '{label}': pulse-shape table '{path}' axis '{a}' disagrees with the data set")
    per = values.sum(axis=2)
    tot = per.sum(axis=1, keepdims=True)
    uniform = np.full_like(per, 1.0 / per.shape[1])
    return np.where(tot > 0, per / np.where(tot > 0, tot, 1.0), uniform)
