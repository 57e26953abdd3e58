"""Event files of the flux measurement: read (streamed in chunks), validate, bin into the workspace's channels.

Format (CSV or parquet, :data:`d2oflux.formats.EVENT_FILE`): one row per event, exactly the columns

``energy_MeV``
    Reconstructed energy [MeV].
``time_ns``
    Time since the proton pulse (beam window) or since the start of the off-beam window [ns], >= 0.
``window``
    ``on`` (beam window) or ``off`` (anti-coincidence sideband).

CSV lines starting with ``#`` are comments. Events outside the analysis window (energy or time) are counted
and ignored. Files are read in chunks of about :data:`CHUNK_BYTES` (pyarrow's streaming CSV reader, parquet
row batches) and histogrammed on the fly, so memory does not grow with the number of events.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import ConfigError, check_readable, first_line
from ..formats import EVENT_FILE
from .model import FluxModel

COLUMNS = EVENT_FILE.names
#: Bytes of CSV text (or rows of parquet, times ~24 bytes) handled at once.
CHUNK_BYTES = 16 * 1024 * 1024


def read_events(path: str | Path) -> dict[str, np.ndarray]:
    """Read and validate a whole event file; return ``{"energy_MeV", "time_ns", "window"}`` arrays."""
    chunks = list(iter_event_chunks(path))
    if not chunks:
        return {"energy_MeV": np.zeros(0), "time_ns": np.zeros(0), "window": np.zeros(0, dtype="<U3")}
    return {k: np.concatenate([c[k] for c in chunks]) for k in COLUMNS}


def iter_event_chunks(path: str | Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[dict[str, np.ndarray]]:
    """Validated chunks of an event file, each ``{"energy_MeV", "time_ns", "window"}`` numpy arrays."""
    p = Path(path)
    check_readable(p, "event file")
    suffix = p.suffix.lower()
    if suffix == ".csv":
        batches = _csv_batches(p, chunk_bytes)
    elif suffix == ".parquet":
        batches = _parquet_batches(p, max(1, chunk_bytes // 24))
    else:
        raise ConfigError(f"event file '{path}': unknown suffix '{suffix}'; expected .csv or .parquet")
    row = 1
    for batch in batches:
        yield _validate(batch, path, row)
        row += batch.num_rows


def _csv_batches(p: Path, chunk_bytes: int):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with p.open("rb") as fh:
        head = fh.read(4096)
    if not head.strip():
        raise ConfigError(f"event file '{p}': empty file")
    fh = p.open("rb")
    try:
        stream = _CleanLines(fh, p, min(chunk_bytes, 1 << 20))
        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=chunk_bytes),
                convert_options=pacsv.ConvertOptions(
                    column_types={"energy_MeV": pa.float64(), "time_ns": pa.float64(), "window": pa.string()},
                    null_values=[""],
                ),
            )
        except pa.ArrowException as exc:
            raise _arrow_error(exc, p, _header_names(head)) from None
        _check_columns(reader.schema.names, p)
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowException as exc:
                raise _arrow_error(exc, p, tuple(reader.schema.names)) from None
            yield batch
    finally:
        fh.close()


class _CleanLines(io.RawIOBase):
    """A binary stream of a CSV file without its ``#`` comment lines, checked to be UTF-8 as it is read; the
    header's column names are stripped of surrounding spaces (``energy_MeV, time_ns`` reads as written)."""

    _COMMENT = re.compile(rb"(?m)^[ \t]*#[^\n]*\n")

    def __init__(self, fh, path: Path, piece: int) -> None:
        self.fh, self.path, self.piece = fh, path, piece
        self.carry = b""
        self.buf = memoryview(b"")
        self.offset = 0  # bytes of the file consumed, for error messages
        self.eof = False
        self.first = True
        self.header_done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not len(self.buf) and not self.eof:
            chunk = self.fh.read(self.piece)
            if chunk:
                data = self.carry + chunk
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    self.carry = data
                    continue
                data, self.carry = data[:cut], data[cut:]
            else:
                self.eof = True
                data, self.carry = self.carry + b"\n" if self.carry else b"", b""
            if self.first:
                data, self.first = data.removeprefix(b"\xef\xbb\xbf"), False
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    f"event file '{self.path}': not UTF-8 text (undecodable byte at offset "
                    f"{self.offset + exc.start}); expected {EVENT_FILE.header()}"
                ) from None
            if b"\x00" in data:
                raise ConfigError(f"event file '{self.path}': contains NUL bytes, not a text file")
            self.offset += len(data)
            data = self._COMMENT.sub(b"", data)
            if not self.header_done and data:  # the header: names stripped of spaces, as the other readers do
                line, sep, rest = data.partition(b"\n")
                data = b",".join(name.strip() for name in line.split(b",")) + sep + rest
                self.header_done = True
            self.buf = memoryview(data)
        n = min(len(b), len(self.buf))
        b[:n] = self.buf[:n]
        self.buf = self.buf[n:]
        return n


def _parquet_batches(p: Path, batch_rows: int):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise ConfigError(f"event file '{p}': not a readable parquet file ({first_line(exc)})") from None
    _check_columns(pf.schema_arrow.names, p)
    types = {"energy_MeV": pa.float64(), "time_ns": pa.float64(), "window": pa.string()}
    try:
        for batch in pf.iter_batches(batch_size=batch_rows, columns=list(COLUMNS)):
            yield pa.RecordBatch.from_arrays([batch.column(k).cast(types[k]) for k in COLUMNS], names=list(COLUMNS))
    except (pa.ArrowException, OSError) as exc:  # OSError: a damaged page (pyarrow's thrift errors)
        raise ConfigError(f"event file '{p}': unreadable or wrongly typed column ({first_line(exc)})") from None


def _header_names(head: bytes) -> tuple[str, ...]:
    """Column names of the first non-comment line of a CSV's first bytes (for error messages)."""
    for line in head.decode("utf-8", "replace").splitlines():
        if not line.startswith("#"):
            return tuple(n.strip() for n in line.split(","))
    return COLUMNS


_CONVERSION = re.compile(r"column #(\d+): (?:Row #(\d+): )?CSV conversion error to (\w+): invalid value '(.*)'")


def _arrow_error(exc: BaseException, p: Path, names: tuple[str, ...] = COLUMNS) -> ConfigError:
    """One line for a pyarrow CSV error: the column, row and value when pyarrow names them."""
    msg = first_line(exc)
    m = _CONVERSION.search(str(exc))
    if m:
        k = int(m.group(1))
        name = names[k] if k < len(names) else f"#{k}"
        where = f" row {m.group(2)}" if m.group(2) else ""
        return ConfigError(f"event file '{p}'{where}: column '{name}' has a non-numeric value {m.group(4)[:40]!r}")
    if "UTF8" in msg or "utf8" in msg.lower():
        return ConfigError(f"event file '{p}': not UTF-8 text; expected {EVENT_FILE.header()}")
    return ConfigError(f"event file '{p}': malformed CSV ({msg[:200]}); expected {EVENT_FILE.header()}")


def _validate(batch, path, first_row: int) -> dict[str, np.ndarray]:
    """Numpy arrays of one batch, after checking values: finite numbers, times >= 0, windows on/off."""
    import pyarrow.compute as pc

    out: dict[str, np.ndarray] = {}
    for name in ("energy_MeV", "time_ns"):
        col = batch.column(name)
        if col.null_count:
            row = first_row + int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise ConfigError(f"event file '{path}' row {row}: column '{name}' has an empty value")
        arr = col.to_numpy(zero_copy_only=False).astype(float, copy=False)
        if not np.all(np.isfinite(arr)):
            raise ConfigError(f"event file '{path}': column '{name}' has NaN or infinite values")
        out[name] = arr
    if np.any(out["time_ns"] < 0):
        raise ConfigError(f"event file '{path}': negative time_ns (times are measured from the window start)")
    window = pc.utf8_trim_whitespace(batch.column("window").fill_null(""))
    labels = set(pc.unique(window).to_pylist())
    unknown = sorted(labels - {"on", "off"})
    if unknown:
        raise ConfigError(f"event file '{path}': unknown window label {unknown[0][:40]!r}; expected 'on' or 'off'")
    out["window"] = np.where(pc.equal(window, "on").to_numpy(zero_copy_only=False), "on", "off")
    return out


def _check_columns(header: list[str], path) -> None:
    padded = [c for c in header if c != c.strip() and c.strip() in COLUMNS]
    if padded:
        raise ConfigError(
            f"event file '{path}': column name {padded[0]!r} has spaces around it; expected {EVENT_FILE.header()}"
        )
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise ConfigError(f"event file '{path}': column '{repeated[0][:40]}' appears more than once")
    missing = [c for c in COLUMNS if c not in header]
    extra = [c for c in header if c not in COLUMNS]
    if missing:
        raise ConfigError(f"event file '{path}': missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    if extra:
        shown = ", ".join(repr(c)[1:-1][:40] for c in extra[:5])
        raise ConfigError(f"event file '{path}': unexpected column(s) {shown}; expected {', '.join(COLUMNS)}")


def bin_events(model: FluxModel, events: dict[str, np.ndarray], path: str | Path = "events") -> tuple[dict, dict]:
    """Observations for the workspace's channels, and counts of what was used and ignored."""
    counter = EventCounter(model)
    counter.add(events)
    return counter.observations(model, path)


def bin_event_file(model: FluxModel, path: str | Path, chunk_bytes: int = CHUNK_BYTES) -> tuple[dict, dict]:
    """:func:`bin_events` of a file read chunk by chunk (memory independent of the number of events)."""
    counter = EventCounter(model)
    for chunk in iter_event_chunks(path, chunk_bytes):
        counter.add(chunk)
    return counter.observations(model, path)


class EventCounter:
    """Histograms of on-beam and off-beam events in the model's (energy x time) analysis bins."""

    def __init__(self, model: FluxModel) -> None:
        self.e_edges, self.t_edges = model.energy_edges(), model.time_edges()
        shape = (self.e_edges.size - 1, self.t_edges.size - 1)
        self.on = np.zeros(shape)
        self.off = np.zeros(shape)
        self.n_events = 0

    def add(self, events: dict[str, np.ndarray]) -> None:
        on = events["window"] == "on"
        edges = [self.e_edges, self.t_edges]
        self.on += np.histogram2d(events["energy_MeV"][on], events["time_ns"][on], edges)[0]
        self.off += np.histogram2d(events["energy_MeV"][~on], events["time_ns"][~on], edges)[0]
        self.n_events += int(on.size)

    def observations(self, model: FluxModel, path: str | Path) -> tuple[dict, dict]:
        e_edges, t_edges = self.e_edges, self.t_edges
        used_on = int(self.on.sum())
        if used_on == 0:
            raise ConfigError(
                f"event file '{path}': no events in the beam window ('on') inside the analysis window "
                f"({e_edges[0]:g}-{e_edges[-1]:g} MeV, {t_edges[0]:g}-{t_edges[-1]:g} ns)"
            )
        observations = {"beam": self.on[model.beam_mask].tolist()}
        if any(ch["name"] == "offbeam" for ch in model.workspace["channels"]):
            observations["offbeam"] = self.off.sum(axis=1).tolist()
        info = {
            "events": self.n_events,
            "used_on": used_on,
            "used_off": int(self.off.sum()),
            "ignored": int(self.n_events - used_on - self.off.sum()),
        }
        return observations, info


def with_observations(workspace: dict, observations: dict[str, list[float]]) -> dict:
    """A copy of ``workspace`` with its observations replaced."""
    import copy

    ws = copy.deepcopy(workspace)
    ws["observations"] = [
        {"name": name, "data": [float(x) for x in observations[name]]} for name in (ch["name"] for ch in ws["channels"])
    ]
    return ws


def sample_events(model: FluxModel, seed: int) -> dict[str, np.ndarray]:
    """Pseudo-data from the model at nominal parameters: Poisson counts per bin, uniform within each bin.

    The off-beam sideband's times are spread uniformly over the analysis time window.
    """
    rng = np.random.default_rng(seed)
    e_edges, t_edges = model.energy_edges(), model.time_edges()
    ws = model.workspace
    energies, times, windows = [], [], []
    for ch in ws["channels"]:
        lam = np.sum([s["data"] for s in ch["samples"]], axis=0)
        n = rng.poisson(lam)
        if ch["name"] == "beam":
            ie, it = np.nonzero(model.beam_mask)
        else:
            ie = np.arange(e_edges.size - 1)
            it = None
        for k in np.nonzero(n)[0]:
            m = int(n[k])
            elo, ehi = e_edges[ie[k]], e_edges[ie[k] + 1]
            if it is not None:
                tlo, thi = t_edges[it[k]], t_edges[it[k] + 1]
            else:
                tlo, thi = t_edges[0], t_edges[-1]
            energies.append(rng.uniform(elo, ehi, m))
            times.append(rng.uniform(tlo, thi, m))
            windows.append(np.full(m, "on" if ch["name"] == "beam" else "off"))
    return {
        "energy_MeV": np.concatenate(energies),
        "time_ns": np.concatenate(times),
        "window": np.concatenate(windows),
    }


def write_events_csv(events: dict[str, np.ndarray], path: str | Path, header: str = "") -> None:
    """Write an event file as CSV, whole or not at all (:func:`d2oflux.outputs.write_text_atomic`).

    An existing file is replaced only if it is a d2oflux event file (a ``#`` header naming d2oflux).
    """
    from ..outputs import write_text_atomic

    lines = [f"# {line}\n" for line in header.splitlines()]
    lines.append(",".join(COLUMNS) + "\n")
    lines += [
        f"{e:.4f},{t:.1f},{w}\n"
        for e, t, w in zip(events["energy_MeV"], events["time_ns"], events["window"], strict=True)
    ]
    write_text_atomic(path, "".join(lines), "events file", is_ours=_is_d2oflux_csv)


def _is_d2oflux_csv(path: Path) -> bool:
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    return first.startswith("#") and "d2oflux" in first
