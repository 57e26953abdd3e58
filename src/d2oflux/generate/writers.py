"""Event-file writers (parquet, HepMC3 ASCII, ROOT), streaming chunk by chunk, with reproducible bytes.

All writers take the chunks of :mod:`d2oflux.generate.events` and a JSON-able ``run`` dictionary
(the provenance: version, seed, detector, exposure, channels...). The same inputs give byte-identical
parquet and HepMC3 files: they store no time stamp, host name or random identifier. ROOT files hold the
same content (events and run record) for the same inputs, and a pinned UUID, but their bytes differ:
uproot stamps the TFile, TKey and TTree records with the time of writing (TDatime) and offers no way to
fix it, so a ROOT file carries its write time; compare ROOT files by content, not by checksum.

Formats
-------
``.parquet`` (pyarrow ``ParquetWriter``, one row group per chunk, zstd)
    One row per event; the columns of :data:`PARQUET_COLUMNS`; the final state as list columns
    ``fs_pdg``, ``fs_px_MeV``, ``fs_py_MeV``, ``fs_pz_MeV``, ``fs_E_MeV``, ``fs_mass_MeV`` (same length per
    row). The ``run`` dictionary is stored as JSON in the schema metadata under ``b"d2oflux"``.
``.root`` (uproot, TTree ``events``, extended chunk by chunk, ZSTD level 1: ten times faster than ZLIB for
    the same size; ROOT reads it since 6.20)
    The same columns, ``channel_id``/``region_id`` integers instead of strings (names in the
    ``TObjString`` ``d2oflux_run``, JSON), the final state as ``n_fs`` + ``fs_*[n_fs]`` branches.
``.hepmc3`` (pyhepmc ``WriterAscii``), following NuHepMC 1.0.0 (S. Gardiner, J. Isaacson, L. Pickering,
arXiv:2310.13211; specification text of github.com/NuHepMC/Spec):
    * run info: G.R.1-G.R.3 (version 1.0.0, tool ``d2oflux``), G.R.4 ``NuHepMC.Conventions``,
      G.R.5/G.C.2 ``NuHepMC.FluxAveragedTotalCrossSection``, G.R.6 units ``pb`` with the target scale
      ``PerDetector`` (a non-reserved value, defined in the run info: the cross section of the whole
      selected detector, sum over regions and targets of N_targets x sigma, so that
      expected events = cross section x fluence summed over flavours), G.R.7 weight ``CV``,
      G.R.8 ``NuHepMC.ProcessIDs`` + ``ProcessInfo[ID].Name/Description`` (E.C.1 ranges: 100-199
      low-energy nuclear, CC X00-X49, NC X50-X99; 200 quasielastic (IBD); 700+ nu-e scattering),
      G.R.9/G.R.10 status metadata (vertex 1 = primary; particles 1 final, 4 beam, 20 target, G.S.2),
      G.R.11 the (standard) nuclear codes used, G.C.1 exposure (POT and live time, with an exposure),
      G.C.3 citations, G.C.4 beam energy distributions per flavour, G.S.1 provenance.
    * events: E.R.2 event number = ``event_id``, E.R.3 ``signal_process_id``, E.R.4 units MEV, CM,
      E.R.5 ``lab_pos`` (cm, three entries: HepMC3 prints vector attributes with 6 decimals, too few
      for a time in seconds, so E.C.5 is not used), E.R.6 one vertex, status 1, at ``(x, y, z, c t)``
      (HepMC3 convention: time as c t in length units; ``t`` since the proton pulse), E.R.7 the
      neutrino (status 4) and the target at rest (status 20), the final state with status 1,
      E.C.2/E.C.3 ``tot_xs`` and ``proc_xs`` at the event's energy (pb, per detector), and
      ``d2oflux.region_id``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np

from .kinematics import C_CM_PER_NS

#: Scalar parquet/ROOT columns in file order (besides the final-state lists).
PARQUET_COLUMNS = (
    "event_id",
    "channel",
    "region",
    "process_id",
    "nu_pdg",
    "nu_energy_MeV",
    "time_ns",
    "vertex_x_cm",
    "vertex_y_cm",
    "vertex_z_cm",
    "nu_dir_x",
    "nu_dir_y",
    "nu_dir_z",
    "target_pdg",
    "target_mass_MeV",
    "lepton_pdg",
    "lepton_kinetic_MeV",
    "lepton_cos_theta",
    "weight",
)
FS_FIELDS = ("pdg", "px_MeV", "py_MeV", "pz_MeV", "E_MeV", "mass_MeV")

PB_PER_CM2 = 1e36


def written_by_d2oflux(path: Path, fmt: str) -> bool:
    """True if ``path`` is an event file written by d2oflux in format ``fmt`` (so it may be replaced).

    parquet: the ``d2oflux`` schema metadata; ROOT: the ``d2oflux_run`` object; HepMC3: the ``d2oflux``
    tool line in the run info (within the first 64 kB).
    """
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return b"d2oflux" in (pq.read_schema(path).metadata or {})
    if fmt == "root":
        import uproot

        with uproot.open(path) as f:
            return "d2oflux_run" in f
    with open(path, "rb") as fh:
        head = fh.read(65536)
    return head.startswith(b"HepMC::Version") and b"\nT d2oflux\\|" in head


def _json(run: dict) -> str:
    return json.dumps(run, sort_keys=True, separators=(",", ":"))


def scalar_columns(chunk: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The scalar per-event columns of a chunk (ids for channel and region)."""
    v, d = chunk["vertex_cm"], chunk["nu_dir"]
    return {
        "event_id": chunk["event_id"],
        "channel_id": chunk["channel_id"].astype(np.int32),
        "region_id": chunk["region_id"].astype(np.int32),
        "process_id": chunk["process_id"],
        "nu_pdg": chunk["nu_pdg"],
        "nu_energy_MeV": chunk["nu_energy_MeV"],
        "time_ns": chunk["time_ns"],
        "vertex_x_cm": np.ascontiguousarray(v[:, 0]),
        "vertex_y_cm": np.ascontiguousarray(v[:, 1]),
        "vertex_z_cm": np.ascontiguousarray(v[:, 2]),
        "nu_dir_x": np.ascontiguousarray(d[:, 0]),
        "nu_dir_y": np.ascontiguousarray(d[:, 1]),
        "nu_dir_z": np.ascontiguousarray(d[:, 2]),
        "target_pdg": chunk["target_pdg"],
        "target_mass_MeV": chunk["target_mass_MeV"],
        "lepton_pdg": chunk["lepton_pdg"],
        "lepton_kinetic_MeV": chunk["lepton_kinetic_MeV"],
        "lepton_cos_theta": chunk["lepton_cos_theta"],
        "weight": chunk["weight"],
    }


def flat_final_state(chunk: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(offsets, {field: flat values})`` of the final-state lists of a chunk."""
    n_fs = chunk["fs_n"].astype(np.int64)
    K = chunk["fs_pdg"].shape[1]
    mask = np.arange(K)[None, :] < n_fs[:, None]
    p = chunk["fs_p_MeV"]
    flat = {
        "pdg": chunk["fs_pdg"][mask],
        "px_MeV": p[:, :, 0][mask],
        "py_MeV": p[:, :, 1][mask],
        "pz_MeV": p[:, :, 2][mask],
        "E_MeV": chunk["fs_E_MeV"][mask],
        "mass_MeV": chunk["fs_mass_MeV"][mask],
    }
    offsets = np.zeros(n_fs.size + 1, dtype=np.int64)
    np.cumsum(n_fs, out=offsets[1:])
    return offsets, flat


# ------------------------------------------------------------------------------------------------
# parquet
# ------------------------------------------------------------------------------------------------
class ParquetEventWriter:
    """Streams chunks into a parquet file (module docstring)."""

    def __init__(self, path: Path, run: dict, channel_names: list[str], region_names: list[str]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.channels = pa.array(channel_names, type=pa.string())
        self.regions = pa.array(region_names, type=pa.string())
        fields = [
            pa.field("event_id", pa.int64()),
            pa.field("channel", pa.string()),
            pa.field("region", pa.string()),
            pa.field("process_id", pa.int32()),
            pa.field("nu_pdg", pa.int32()),
            *[pa.field(k, pa.float64()) for k in PARQUET_COLUMNS[5:13]],
            pa.field("target_pdg", pa.int32()),
            pa.field("target_mass_MeV", pa.float64()),
            pa.field("lepton_pdg", pa.int32()),
            *[pa.field(k, pa.float64()) for k in PARQUET_COLUMNS[16:]],
            pa.field("fs_pdg", pa.list_(pa.int32())),
            *[pa.field(f"fs_{k}", pa.list_(pa.float64())) for k in FS_FIELDS[1:]],
        ]
        self.schema = pa.schema(fields, metadata={b"d2oflux": _json(run).encode()})
        self.writer = pq.ParquetWriter(str(path), self.schema, compression="zstd")

    def write(self, chunk: dict[str, np.ndarray]) -> None:
        pa = self.pa
        cols = scalar_columns(chunk)
        offsets, flat = flat_final_state(chunk)
        off = pa.array(offsets.astype(np.int32))
        arrays = []
        for f in self.schema:
            name = f.name
            if name == "channel":
                arrays.append(self.channels.take(pa.array(cols["channel_id"])))
            elif name == "region":
                arrays.append(self.regions.take(pa.array(cols["region_id"])))
            elif name.startswith("fs_"):
                values = flat[name[3:]]
                arrays.append(pa.ListArray.from_arrays(off, pa.array(values, type=f.type.value_type)))
            else:
                arrays.append(pa.array(cols[name], type=f.type))
        self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


# ------------------------------------------------------------------------------------------------
# ROOT
# ------------------------------------------------------------------------------------------------
class RootEventWriter:
    """Streams chunks into a ROOT TTree ``events`` through uproot (module docstring)."""

    def __init__(self, path: Path, run: dict, channel_names: list[str], region_names: list[str]) -> None:
        import awkward as ak
        import uproot

        self.ak = ak
        self._fh = open(path, "w+b")
        self.file = uproot.recreate(self._fh, uuid_function=lambda: uuid.UUID(int=0), compression=uproot.ZSTD(1))
        self.file["d2oflux_run"] = _json(run)
        types_ = {k: ("int64" if k == "event_id" else _root_type(k)) for k in _ROOT_SCALARS}
        proto = ak.zip({k: ak.Array([[0]]) for k in FS_FIELDS})
        proto = ak.zip({k: ak.values_astype(proto[k], np.int32 if k == "pdg" else np.float64) for k in FS_FIELDS})
        types_["fs"] = proto.type.content
        self.tree = self.file.mktree(
            "events",
            types_,
            title="d2oflux events",
            counter_name=lambda counted: "n_" + counted,
            field_name=lambda outer, inner: outer + "_" + inner,
        )

    def write(self, chunk: dict[str, np.ndarray]) -> None:
        ak = self.ak
        cols = scalar_columns(chunk)
        offsets, flat = flat_final_state(chunk)
        data = {k: cols[k] for k in _ROOT_SCALARS}
        index = ak.index.Index64(offsets)
        content = {k: ak.contents.NumpyArray(v) for k, v in flat.items()}
        record = ak.contents.RecordArray(list(content.values()), list(content.keys()))
        data["fs"] = ak.Array(ak.contents.ListOffsetArray(index, record))
        self.tree.extend(data)

    def close(self) -> None:
        try:
            self.file.close()
        finally:
            self._fh.close()


#: ROOT stores channel and region as integer ids (names in the file's lookup tables); otherwise as parquet.
_ROOT_SCALARS = tuple({"channel": "channel_id", "region": "region_id"}.get(c, c) for c in PARQUET_COLUMNS)


def _root_type(name: str) -> str:
    return "int32" if name.endswith(("_id", "_pdg")) else "float64"


# ------------------------------------------------------------------------------------------------
# HepMC3 (NuHepMC)
# ------------------------------------------------------------------------------------------------
class HepMC3EventWriter:
    """Writes NuHepMC-conforming HepMC3 ASCII events through pyhepmc (module docstring).

    ``nuhepmc`` holds the run-level attributes (:func:`d2oflux.generate.nuhepmc.run_attributes`);
    ``xs_per_detector`` computes ``(tot_xs, proc_xs)`` [cm^2] for a chunk.
    """

    def __init__(self, path: Path, run: dict, nuhepmc: dict, tools: list[tuple[str, str, str]], xs_per_detector):
        import pyhepmc

        self.hm = pyhepmc
        ri = pyhepmc.GenRunInfo()
        ri.tools = tools
        ri.weight_names = ["CV"]
        for k, v in nuhepmc.items():
            ri.attributes[k] = v
        ri.attributes["d2oflux.Run"] = _json(run)
        self.run_info = ri
        self.writer = pyhepmc.io.WriterAscii(str(path), ri)
        self.xs_per_detector = xs_per_detector

    def write(self, chunk: dict[str, np.ndarray]) -> None:
        hm = self.hm
        tot, proc = self.xs_per_detector(chunk)
        tot = (tot * PB_PER_CM2).tolist()
        proc = (proc * PB_PER_CM2).tolist()
        ev_id = chunk["event_id"].tolist()
        pid = chunk["process_id"].tolist()
        reg = chunk["region_id"].tolist()
        nu_pdg = chunk["nu_pdg"].tolist()
        E_nu = chunk["nu_energy_MeV"]
        p_nu = (chunk["nu_dir"] * E_nu[:, None]).tolist()
        E_nu = E_nu.tolist()
        vtx = chunk["vertex_cm"].tolist()
        ct = (chunk["time_ns"] * C_CM_PER_NS).tolist()
        tgt = chunk["target_pdg"].tolist()
        mt = chunk["target_mass_MeV"].tolist()
        w = chunk["weight"].tolist()
        fs_n = chunk["fs_n"].tolist()
        fs_pdg = chunk["fs_pdg"].tolist()
        fs_p = chunk["fs_p_MeV"].tolist()
        fs_E = chunk["fs_E_MeV"].tolist()
        fs_m = chunk["fs_mass_MeV"].tolist()
        GenEvent, GenVertex, GenParticle = hm.GenEvent, hm.GenVertex, hm.GenParticle
        MEV, CM = hm.Units.MEV, hm.Units.CM
        for i in range(len(ev_id)):
            ev = GenEvent(MEV, CM)
            ev.run_info = self.run_info
            ev.event_number = ev_id[i]
            x, y, z = vtx[i]
            v = GenVertex((x, y, z, ct[i]))
            px, py, pz = p_nu[i]
            nu = GenParticle((px, py, pz, E_nu[i]), nu_pdg[i], 4)
            nu.generated_mass = 0.0
            target = GenParticle((0.0, 0.0, 0.0, mt[i]), tgt[i], 20)
            target.generated_mass = mt[i]
            v.add_particle_in(nu)
            v.add_particle_in(target)
            for k in range(fs_n[i]):
                qx, qy, qz = fs_p[i][k]
                p = GenParticle((qx, qy, qz, fs_E[i][k]), fs_pdg[i][k], 1)
                p.generated_mass = fs_m[i][k]
                v.add_particle_out(p)
            v.status = 1
            ev.add_vertex(v)
            ev.weights = [w[i]]
            a = ev.attributes
            a["signal_process_id"] = pid[i]
            a["lab_pos"] = [x, y, z]
            a["tot_xs"] = tot[i]
            a["proc_xs"] = proc[i]
            a["d2oflux.region_id"] = reg[i]
            self.writer.write_event(ev)

    def close(self) -> None:
        self.writer.close()
