"""Read generated event files back into one common set of columns (any of the three formats).

:func:`read_events` returns a dict of numpy arrays, one entry per event, with the scalar columns of
:data:`d2oflux.generate.writers.PARQUET_COLUMNS` (``channel`` and ``region`` as string arrays), the
final state flattened (``fs_offsets`` of length n + 1 and ``fs_pdg``, ``fs_px_MeV``, ``fs_py_MeV``,
``fs_pz_MeV``, ``fs_E_MeV``, ``fs_mass_MeV``), and ``run``: the provenance dictionary of the file.

For HepMC3 files the columns are rebuilt from the event record: the neutrino (status 4) gives
``nu_pdg``, ``nu_energy_MeV`` and ``nu_dir``; the target (status 20) ``target_pdg`` and its mass; the
vertex ``(x, y, z, c t)`` the position and time; the first outgoing particle the lepton columns.
Momenta round-trip exactly (printed with 17 digits); ``time_ns`` to ~1e-16 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .kinematics import C_CM_PER_NS
from .writers import FS_FIELDS, PARQUET_COLUMNS


def read_events(path: str | Path) -> dict:
    """Read a ``.parquet``, ``.root`` or ``.hepmc3`` file written by :func:`d2oflux.generate.generate`."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"event file '{path}' does not exist")
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(p)
    if suffix == ".root":
        return _read_root(p)
    if suffix == ".hepmc3":
        return _read_hepmc3(p)
    raise ConfigError(f"event file '{path}': unknown suffix '{suffix}'; expected .parquet, .hepmc3 or .root")


def _read_parquet(p: Path) -> dict:
    import pyarrow.parquet as pq

    table = pq.read_table(p)
    out: dict = {}
    for name in PARQUET_COLUMNS:
        col = table.column(name)
        out[name] = np.asarray(col.to_pylist(), dtype=object) if name in ("channel", "region") else col.to_numpy()
    for k in FS_FIELDS:
        col = table.column(f"fs_{k}").combine_chunks()
        out[f"fs_{k}"] = col.values.to_numpy()
        if k == "pdg":
            out["fs_offsets"] = col.offsets.to_numpy().astype(np.int64)
    out["run"] = json.loads(table.schema.metadata[b"d2oflux"])
    return out


def _read_root(p: Path) -> dict:
    import uproot

    with uproot.open(p) as f:
        run = json.loads(str(f["d2oflux_run"]))
        tree = f["events"]
        arrays = tree.arrays(library="np")
    out: dict = {}
    for name in PARQUET_COLUMNS:
        if name == "channel":
            out[name] = np.asarray(run["channels"], dtype=object)[arrays["channel_id"]]
        elif name == "region":
            out[name] = np.asarray(run["regions"], dtype=object)[arrays["region_id"]]
        else:
            out[name] = arrays[name]
    n_fs = arrays["n_fs"].astype(np.int64)
    out["fs_offsets"] = np.concatenate([[0], np.cumsum(n_fs)])
    for k in FS_FIELDS:
        parts = arrays[f"fs_{k}"]
        out[f"fs_{k}"] = np.concatenate(list(parts)) if len(parts) else np.zeros(0)
    out["run"] = run
    return out


def _read_hepmc3(p: Path) -> dict:
    import pyhepmc

    cols: dict[str, list] = {k: [] for k in PARQUET_COLUMNS}
    fs: dict[str, list] = {k: [] for k in FS_FIELDS}
    n_fs: list[int] = []
    run = None
    names: dict[int, str] = {}
    regions: list[str] = []
    with pyhepmc.open(str(p)) as f:
        for ev in f:
            if run is None:
                ra = ev.run_info.attributes
                run = json.loads(
                    str(ra["d2oflux.Run"].astype(str)) if hasattr(ra["d2oflux.Run"], "astype") else ra["d2oflux.Run"]
                )
                names = {int(v): k for k, v in run["process_ids"].items()}
                regions = run["regions"]
            a = ev.attributes
            pid = int(_attr(a["signal_process_id"], int))
            parts = ev.particles
            nu = next(q for q in parts if q.status == 4)
            tgt = next(q for q in parts if q.status == 20)
            out = [q for q in parts if q.status == 1]
            v = ev.vertices[0].position
            m = nu.momentum
            E = m.e
            d = np.array([m.px, m.py, m.pz]) / E
            lep = out[0]
            lm = lep.momentum
            lp = np.array([lm.px, lm.py, lm.pz])
            lp_norm = float(np.sqrt(lp @ lp))
            cols["event_id"].append(ev.event_number)
            cols["channel"].append(names[pid])
            cols["region"].append(regions[int(_attr(a["d2oflux.region_id"], int))])
            cols["process_id"].append(pid)
            cols["nu_pdg"].append(nu.pid)
            cols["nu_energy_MeV"].append(E)
            cols["time_ns"].append(v.t / C_CM_PER_NS)
            cols["vertex_x_cm"].append(v.x)
            cols["vertex_y_cm"].append(v.y)
            cols["vertex_z_cm"].append(v.z)
            cols["nu_dir_x"].append(d[0])
            cols["nu_dir_y"].append(d[1])
            cols["nu_dir_z"].append(d[2])
            cols["target_pdg"].append(tgt.pid)
            cols["target_mass_MeV"].append(tgt.generated_mass)
            cols["lepton_pdg"].append(lep.pid)
            cols["lepton_kinetic_MeV"].append(lm.e - lep.generated_mass)
            cols["lepton_cos_theta"].append(float(lp @ d) / lp_norm if lp_norm > 0 else 1.0)
            cols["weight"].append(ev.weights[0])
            n_fs.append(len(out))
            for q in out:
                qm = q.momentum
                fs["pdg"].append(q.pid)
                fs["px_MeV"].append(qm.px)
                fs["py_MeV"].append(qm.py)
                fs["pz_MeV"].append(qm.pz)
                fs["E_MeV"].append(qm.e)
                fs["mass_MeV"].append(q.generated_mass)
    res: dict = {}
    for k, v in cols.items():
        res[k] = np.asarray(v, dtype=object) if k in ("channel", "region") else np.asarray(v)
    res["fs_offsets"] = np.concatenate([[0], np.cumsum(np.asarray(n_fs, dtype=np.int64))])
    for k, v in fs.items():
        res[f"fs_{k}"] = np.asarray(v, dtype=np.int32 if k == "pdg" else float)
    res["run"] = run
    return res


def _attr(value, kind):
    """A HepMC3 attribute read from a file (pyhepmc returns it unparsed) as ``kind``."""
    if hasattr(value, "astype"):
        return value.astype(kind)
    return kind(value)
