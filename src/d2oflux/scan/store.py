"""The result store: a folder of Parquet chunks plus the specification that produced them.

Layout::

    STORE/
      _scan.json                # the canonical specification, its hash and the software version
      part-00000012-3f9a0c1e.parquet
      part-00000040-77b2d0aa.parquet
      ...

Every chunk is written to a hidden temporary name (``.tmp-*.parquet``) and renamed atomically when complete,
so a reader only ever sees whole chunks (it reads ``part-*.parquet`` only). Rows are one per configuration
and exposure; a configuration is complete when its rows are in a chunk, which is how a rerun skips it.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__
from ..errors import ConfigError, first_line
from .spec import ScanSpec

MANIFEST = "_scan.json"  # a leading underscore: Parquet readers of the folder skip it
MANIFEST_KEYS = ("spec_hash", "spec", "parameters", "d2oflux_version")  # what the readers of a store use
CHUNK_GLOB = "part-*.parquet"
TMP_PREFIX = ".tmp-"


class ScanStore:
    """A scan result folder (see the module docstring). Open with :meth:`create_or_resume` or :meth:`open`."""

    def __init__(self, path: Path, manifest: dict):
        self.path = Path(path)
        self.manifest = manifest

    @classmethod
    def open(cls, path: str | Path) -> ScanStore:
        """An existing store, for reading."""
        path = Path(path)
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            raise ConfigError(f"scan store '{path}': no {MANIFEST}; expected a folder written by 'd2oflux scan'")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError as exc:  # not JSON, or not UTF-8
            raise ConfigError(f"scan store '{path}': {MANIFEST} is not valid JSON ({exc})") from None
        missing = [k for k in MANIFEST_KEYS if not isinstance(manifest, dict) or k not in manifest]
        if missing:
            raise ConfigError(
                f"scan store '{path}': {MANIFEST} has no {', '.join(missing)}; expected the file 'd2oflux scan' writes"
            )
        return cls(path, manifest)

    @classmethod
    def create_or_resume(cls, path: str | Path, spec: ScanSpec, base_detector: dict | None = None) -> ScanStore:
        """Open the store of ``spec`` at ``path``, creating it if needed; refuse a store of another specification.

        ``base_detector`` (the base detector configuration as JSON data) is remembered too: a detector file
        edited between two runs of the same specification is refused as well.
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"-o {path}: exists and is not a folder; give a new or existing scan store folder")
        detector_json = json.dumps(base_detector or {}, sort_keys=True)
        manifest = {
            "spec_hash": spec.spec_hash,
            "spec": spec.canonical,
            "spec_label": spec.label,
            "d2oflux_version": __version__,
            "parameters": spec.parameter_paths,
            "base_detector_hash": hashlib.sha256(detector_json.encode()).hexdigest()[:16],
            "base_detector": base_detector or {},
        }
        if (path / MANIFEST).is_file():
            store = cls.open(path)
            _check_same(store.manifest, manifest, path)
            store.remove_temporaries()
            return store
        if path.is_dir() and any(path.iterdir()):
            raise ConfigError(f"-o {path}: folder is not empty and holds no {MANIFEST}; give a new folder")
        path.mkdir(parents=True, exist_ok=True)
        _write_atomic(path / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        return cls(path, manifest)

    # --------------------------------------------------------------------------------------------
    def chunk_files(self) -> list[Path]:
        return sorted(self.path.glob(CHUNK_GLOB))

    def remove_temporaries(self) -> None:
        """Delete chunks a killed run left half-written (only this program's own ``.tmp-*.parquet`` names)."""
        for tmp in self.path.glob(f"{TMP_PREFIX}*.parquet"):
            tmp.unlink(missing_ok=True)

    def completed_hashes(self) -> set[str]:
        """Configuration hashes whose rows are in the store."""
        done: set[str] = set()
        for f in self.chunk_files():
            done.update(_read_chunk(f, ["config_hash"]).column("config_hash").to_pylist())
        return done

    def write_chunk(self, rows: list[dict]) -> Path | None:
        """Write ``rows`` as one new chunk (atomically: temporary name, then rename)."""
        if not rows:
            return None
        table = pa.Table.from_pylist(rows)
        first = min(int(r["point"]) for r in rows)
        final = self.path / f"part-{first:08d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.path / f"{TMP_PREFIX}{final.name}"
        pq.write_table(table, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        return final

    def read(self) -> pa.Table:
        """Every row, sorted by point and exposure (columns unified across chunks, missing ones null)."""
        files = self.chunk_files()
        if not files:
            raise ConfigError(f"scan store '{self.path}': no results yet (no part-*.parquet)")
        table = pa.concat_tables([_read_chunk(f) for f in files], promote_options="default")
        return table.sort_by([("point", "ascending"), ("years", "ascending")])

    def to_pandas(self):
        """The rows as a pandas DataFrame (needs pandas)."""
        return self.read().to_pandas()


def _read_chunk(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One chunk of a store, or a one-line error naming it (a chunk damaged outside d2oflux)."""
    try:
        return pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise ConfigError(
            f"scan store '{path.parent}': chunk '{path.name}' is not a readable scan chunk ({first_line(exc)[:160]}); "
            "remove it and rerun the scan to recompute its points"
        ) from None


def _check_same(existing: dict, wanted: dict, path: Path) -> None:
    """Refuse to mix results of two specifications (or versions); name the first differing key."""
    if existing.get("d2oflux_version") != wanted["d2oflux_version"]:
        raise ConfigError(
            f"scan store '{path}' was written by d2oflux {existing.get('d2oflux_version')}, this is "
            f"{wanted['d2oflux_version']}; use a new folder"
        )
    if existing.get("spec_hash") == wanted["spec_hash"]:
        if existing.get("base_detector_hash") != wanted["base_detector_hash"]:
            raise ConfigError(
                f"scan store '{path}' was written with another base detector configuration (the file of "
                f"'scan.detector' = {wanted['spec']['scan']['detector']!r} changed since); use a new -o folder"
            )
        return
    a, b = _flatten(existing.get("spec", {})), _flatten(wanted["spec"])
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            raise ConfigError(
                f"scan store '{path}' was written by a different specification: '{key}' is "
                f"{a.get(key, '<absent>')!r} there and {b.get(key, '<absent>')!r} here; refusing to mix results "
                "(use a new -o folder)"
            )
    raise ConfigError(f"scan store '{path}' was written by a different specification; use a new -o folder")


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
