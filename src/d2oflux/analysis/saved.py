"""A flux model saved to disk and read back: the pyhf workspace plus a d2oflux sidecar.

``d2oflux workspace -o model.json`` writes two files:

``model.json``
    The pyhf workspace, exactly as pyhf's schema wants it (``pyhf fit model.json`` works). pyhf's schema
    forbids extra keys at the top level, in the measurement and in its ``config``, so nothing else goes here.
``model.d2oflux.json`` (the sidecar; ``<stem>.d2oflux.json`` beside ``<stem>.json``)
    What d2oflux needs besides the likelihood: the analysis binning (reconstructed-energy and time edges of
    the window), the mask of the ``beam`` channel's bins, the exposure, the fluence per flavour, the source
    (facility, mu- DAR, flux table), the expected events per sample, and the :class:`~d2oflux.settings.ModelSettings`
    the model was built from, with the SHA-256 of the workspace it belongs to.

``fit``, ``toys`` and ``sensitivity --model model.json`` read both (:func:`load_model`) and give the same
numbers as building the model from the options (every float round-trips exactly through JSON). A workspace
edited after it was saved no longer matches its sidecar's hash and is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..beam import Exposure, Facility
from ..config import validate
from ..errors import ConfigError
from ..settings import ModelSettings
from ..source import Source
from ..spectra import FluxTable
from .likelihood import NumpyModel

#: The sidecar's ``format`` value and version.
SIDECAR_FORMAT = "d2oflux-model"
SIDECAR_VERSION = 1
#: Suffix of the sidecar that replaces ``.json`` of the workspace file.
SIDECAR_SUFFIX = ".d2oflux.json"
#: Largest accepted saved-model file [bytes] (a plausibility bound; the presets' workspaces are ~100 kB).
MAX_FILE_BYTES = 200_000_000


def sidecar_path(workspace_path: str | Path) -> Path:
    """``model.json`` -> ``model.d2oflux.json`` (any other name: the name plus ``.d2oflux.json``)."""
    p = Path(workspace_path)
    stem = p.name[: -len(".json")] if p.name.endswith(".json") else p.name
    return p.with_name(stem + SIDECAR_SUFFIX)


def workspace_hash(workspace: dict) -> str:
    """SHA-256 of the workspace's canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(workspace, sort_keys=True).encode("utf-8")).hexdigest()


def sidecar(model, settings: ModelSettings) -> dict:
    """The sidecar of a :class:`~d2oflux.analysis.model.FluxModel` built from ``settings``."""
    exposure = model.exposure
    source = model.source
    table = source.flux_table
    return {
        "format": SIDECAR_FORMAT,
        "version": SIDECAR_VERSION,
        "workspace_sha256": workspace_hash(model.workspace),
        "settings": settings.to_dict(),
        "detector_name": model.detector_name,
        "energy_edges_MeV": [float(x) for x in model.energy_edges()],
        "time_edges_ns": [float(x) for x in model.time_edges()],
        "beam_mask": np.asarray(model.beam_mask, dtype=int).tolist(),
        "exposure": {
            "pot": exposure.pot,
            "neutrinos_per_flavour": exposure.neutrinos_per_flavour,
            "years": exposure.years,
            "periods": list(exposure.periods),
        },
        "fluence_per_cm2": dict(model.fluence_per_cm2),
        "events_in_window": dict(model.events_in_window),
        "radiative_corrections": model.radiative_corrections,
        "systematics_profile": model.systematics_profile,
        "source": {
            "facility": source.facility.model_dump(mode="json"),
            "include_mu_minus_dar": source.include_mu_minus_dar,
            "flux_table": None
            if table is None
            else {
                "path": table.path,
                "energies_MeV": [float(x) for x in table.energies_MeV],
                "spectra": {k: [float(x) for x in v] for k, v in table.spectra.items()},
            },
        },
    }


def json_if_small(path: Path) -> object | None:
    """The JSON content of ``path``, or ``None`` if the file is larger than :data:`MAX_FILE_BYTES`.

    For the checks whether an existing file is one d2oflux wrote (and so may replace): they never read a
    huge file. Raises what :func:`json.loads` and reading raise for a file that is not JSON.
    """
    if path.stat().st_size > MAX_FILE_BYTES:
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def is_sidecar(path: Path) -> bool:
    """True if ``path`` is a d2oflux model sidecar (so it may be replaced)."""
    data = json_if_small(path)
    return isinstance(data, dict) and data.get("format") == SIDECAR_FORMAT


@dataclass(frozen=True)
class SavedModel:
    """A model read back from disk; the same interface as :class:`~d2oflux.analysis.model.FluxModel` for
    fitting, toys and sensitivity (no rate-engine objects: ``expectation`` is not available)."""

    workspace: dict
    beam_mask: np.ndarray
    energy_edges_MeV: np.ndarray
    time_edges_ns: np.ndarray
    events_in_window: dict[str, float]
    radiative_corrections: bool
    systematics_profile: str
    detector_name: str
    exposure: Exposure
    fluence_per_cm2: dict[str, float]
    source: Source
    settings: ModelSettings
    path: str = ""

    def numpy_model(self) -> NumpyModel:
        return NumpyModel.from_workspace(self.workspace)

    @property
    def years(self) -> float:
        return self.exposure.years

    def energy_edges(self) -> np.ndarray:
        return self.energy_edges_MeV

    def time_edges(self) -> np.ndarray:
        return self.time_edges_ns


def load_model(path: str | Path) -> SavedModel:
    """Read a model saved by ``d2oflux workspace -o path`` (the workspace and its sidecar)."""
    p = Path(path)
    side = sidecar_path(p)
    workspace = _read_json(p, "--model")
    if not side.is_file():
        raise ConfigError(
            f"--model '{p}': its d2oflux sidecar '{side}' is missing; write both with 'd2oflux workspace -o {p}'"
        )
    meta = _read_json(side, "--model sidecar")
    where = f"--model sidecar '{side}'"
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT:
        raise ConfigError(f'{where}: not a d2oflux model sidecar (expected "format": "{SIDECAR_FORMAT}")')
    if meta.get("version") != SIDECAR_VERSION:
        raise ConfigError(f"{where}: version {meta.get('version')!r}; this d2oflux reads version {SIDECAR_VERSION}")
    if meta.get("workspace_sha256") != workspace_hash(workspace):
        raise ConfigError(
            f"--model '{p}': the workspace differs from the one its sidecar was written with; "
            f"rewrite both with 'd2oflux workspace -o {p}'"
        )
    try:
        src = meta["source"]
        table = src["flux_table"]
        flux_table = (
            None
            if table is None
            else FluxTable(
                table["path"],
                np.array(table["energies_MeV"], dtype=float),
                {k: np.array(v, dtype=float) for k, v in table["spectra"].items()},
            )
        )
        facility = validate(Facility, src["facility"], f"{where}: facility")
        e = meta["exposure"]
        mask = np.array(meta["beam_mask"], dtype=bool)
        edges = np.array(meta["energy_edges_MeV"], dtype=float), np.array(meta["time_edges_ns"], dtype=float)
        beam = next(ch for ch in workspace["channels"] if ch["name"] == "beam")
        if mask.shape != (edges[0].size - 1, edges[1].size - 1) or int(mask.sum()) != len(beam["samples"][0]["data"]):
            raise ConfigError(f"{where}: the beam mask does not match the binning and the workspace's beam channel")
        return SavedModel(
            workspace=workspace,
            beam_mask=mask,
            energy_edges_MeV=edges[0],
            time_edges_ns=edges[1],
            events_in_window={k: float(v) for k, v in meta["events_in_window"].items()},
            radiative_corrections=bool(meta["radiative_corrections"]),
            systematics_profile=str(meta["systematics_profile"]),
            detector_name=str(meta["detector_name"]),
            exposure=Exposure(e["pot"], e["neutrinos_per_flavour"], e["years"], tuple(e["periods"])),
            fluence_per_cm2={k: float(v) for k, v in meta["fluence_per_cm2"].items()},
            source=Source(facility, bool(src["include_mu_minus_dar"]), flux_table),
            settings=ModelSettings.from_dict(meta["settings"]),
            path=str(p),
        )
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, StopIteration, IndexError) as exc:
        raise ConfigError(f"{where}: malformed ({type(exc).__name__}: {exc})") from None


def _read_json(path: Path, what: str):
    if not path.is_file():
        raise ConfigError(f"{what} '{path}': {'is a folder; expected a file' if path.is_dir() else 'no such file'}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{what} '{path}': larger than {MAX_FILE_BYTES / 1e6:g} MB")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} '{path}': not JSON ({exc})") from None
