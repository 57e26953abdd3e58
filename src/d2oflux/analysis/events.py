"""Event files of the flux measurement: read, validate, bin into the workspace's channels; make examples.

Format (CSV or parquet): one row per event, exactly the columns

``energy_MeV``
    Reconstructed energy [MeV].
``time_ns``
    Time since the proton pulse (beam window) or since the start of the off-beam window [ns], >= 0.
``window``
    ``on`` (beam window) or ``off`` (anti-coincidence sideband).

Events outside the analysis window (energy or time) are counted and ignored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .model import FluxModel

COLUMNS = ("energy_MeV", "time_ns", "window")


def read_events(path: str | Path) -> dict[str, np.ndarray]:
    """Read and validate an event file; return ``{"energy_MeV", "time_ns", "window"}`` arrays."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"event file '{path}' does not exist")
    suffix = p.suffix.lower()
    if suffix == ".csv":
        import csv

        with p.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(ln for ln in fh if not ln.startswith("#"))
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                raise ConfigError(f"event file '{path}': empty file") from None
            _check_columns(header, path)
            rows = [r for r in reader if r]
        cols = {name: [r[i].strip() if i < len(r) else "" for r in rows] for i, name in enumerate(header)}
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(p)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise ConfigError(f"event file '{path}': not a readable parquet file ({exc})") from None
        _check_columns(table.column_names, path)
        cols = {name: table.column(name).to_pylist() for name in table.column_names}
    else:
        raise ConfigError(f"event file '{path}': unknown suffix '{suffix}'; expected .csv or .parquet")
    out: dict[str, np.ndarray] = {}
    for name in ("energy_MeV", "time_ns"):
        try:
            arr = np.asarray([float(v) for v in cols[name]], dtype=float)
        except (TypeError, ValueError):
            bad = next(v for v in cols[name] if not _is_number(v))
            raise ConfigError(f"event file '{path}': column '{name}' has a non-numeric value {bad!r}") from None
        if not np.all(np.isfinite(arr)):
            raise ConfigError(f"event file '{path}': column '{name}' has NaN or infinite values")
        out[name] = arr
    if np.any(out["time_ns"] < 0):
        raise ConfigError(f"event file '{path}': negative time_ns (times are measured from the window start)")
    window = np.asarray([str(v).strip() for v in cols["window"]])
    unknown = sorted(set(window.tolist()) - {"on", "off"})
    if unknown:
        raise ConfigError(f"event file '{path}': unknown window label {unknown[0]!r}; expected 'on' or 'off'")
    out["window"] = window
    return out


def _check_columns(header: list[str], path) -> None:
    missing = [c for c in COLUMNS if c not in header]
    extra = [c for c in header if c not in COLUMNS]
    if missing:
        raise ConfigError(f"event file '{path}': missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    if extra:
        raise ConfigError(
            f"event file '{path}': unexpected column(s) {', '.join(extra)}; expected {', '.join(COLUMNS)}"
        )


def _is_number(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def bin_events(model: FluxModel, events: dict[str, np.ndarray], path: str | Path = "events") -> tuple[dict, dict]:
    """Observations for the workspace's channels, and counts of what was used and ignored."""
    e_edges, t_edges = model.energy_edges(), model.time_edges()
    on = events["window"] == "on"
    counts_on = np.histogram2d(events["energy_MeV"][on], events["time_ns"][on], [e_edges, t_edges])[0]
    used_on = int(counts_on.sum())
    if used_on == 0:
        raise ConfigError(
            f"event file '{path}': no events in the beam window ('on') inside the analysis window "
            f"({e_edges[0]:g}-{e_edges[-1]:g} MeV, {t_edges[0]:g}-{t_edges[-1]:g} ns)"
        )
    observations = {"beam": counts_on[model.beam_mask].tolist()}
    off = ~on
    counts_off = np.histogram2d(events["energy_MeV"][off], events["time_ns"][off], [e_edges, t_edges])[0]
    if any(ch["name"] == "offbeam" for ch in model.workspace["channels"]):
        observations["offbeam"] = counts_off.sum(axis=1).tolist()
    info = {
        "events": int(on.size),
        "used_on": used_on,
        "used_off": int(counts_off.sum()),
        "ignored": int(on.size - used_on - counts_off.sum()),
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
