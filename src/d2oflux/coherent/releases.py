"""Readers of the COHERENT release formats and of plain event lists.

Formats
-------
event list (text)
    Whitespace-separated columns, ``#`` comments (CsI 2021 ``dataBeamOnC.txt``: PE, time [us]).
event list (CSV / parquet)
    Named columns; the data set maps its axes to column names.
binned (text)
    One row per bin: the bin centres of every axis, then the value (LAr 2020 ``cevnspdf.txt``: keVee,
    F90, time [us], value; CsI 2021 ``brnPE.txt``: PE, value). Bin edges are rebuilt from the centres
    (uniform bins: midpoints, with the outer edges half a bin out).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import ConfigError, check_readable, first_line, read_text_file


def _load_text(path: Path, ncols: int | None = None) -> np.ndarray:
    try:
        with warnings.catch_warnings():  # an empty file: the error below says so, in one line
            warnings.simplefilter("ignore", UserWarning)
            a = np.loadtxt(path, comments="#", ndmin=2)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"file '{path}': not a readable numeric text table ({first_line(exc)})") from None
    if a.size == 0:
        raise ConfigError(f"file '{path}': no rows")
    if ncols is not None and a.shape[1] != ncols:
        raise ConfigError(f"file '{path}': expected {ncols} columns, found {a.shape[1]}")
    return a


def read_event_list(path: str | Path, columns: list[str]) -> dict[str, np.ndarray]:
    """Events from a text file (columns in ``columns`` order), a CSV or a parquet file (named columns).

    Returns a dictionary axis name -> values.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".csv", ".parquet"):
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            check_readable(p, "event file")
            import pyarrow as pa

            try:
                table = pq.read_table(p).to_pydict()
            except (pa.ArrowException, OSError) as exc:  # not parquet, truncated, or a damaged page
                raise ConfigError(f"event file '{p}': not a readable parquet file ({first_line(exc)[:200]})") from None
        else:
            import csv

            text = read_text_file(p, "event file", "a CSV file with a header line")
            reader = csv.reader(ln for ln in text.splitlines() if not ln.startswith("#"))
            header = [h.strip() for h in next(reader, [])]
            rows = [r for r in reader if r]  # blank lines are not rows
            for i, r in enumerate(rows, start=1):
                if len(r) != len(header):
                    raise ConfigError(
                        f"event file '{p}': data row {i} has {len(r)} values, the header {len(header)} columns"
                    )
            table = {h: [r[k] for r in rows] for k, h in enumerate(header)}
        missing = [c for c in columns if c not in table]
        if missing:
            raise ConfigError(f"event file '{p}': missing column(s) {', '.join(missing)} (has: {', '.join(table)})")
        try:
            out = {c: np.asarray(table[c], dtype=float) for c in columns}
        except (TypeError, ValueError):
            raise ConfigError(f"event file '{p}': non-numeric value in columns {', '.join(columns)}") from None
        if not next(iter(out.values())).size:
            raise ConfigError(f"event file '{p}': no events (only a header)")
    else:
        a = _load_text(p, len(columns))
        out = {c: a[:, i] for i, c in enumerate(columns)}
    for c, v in out.items():
        if not np.all(np.isfinite(v)):
            raise ConfigError(f"event file '{p}': NaN or infinite value in column '{c}'")
    return out


def edges_from_centres(centres: np.ndarray, what: str) -> np.ndarray:
    """Bin edges of uniform bins with these centres (at least two)."""
    c = np.unique(np.asarray(centres, dtype=float))
    if c.size == 1:
        raise ConfigError(f"{what}: a single bin centre; cannot rebuild the bin edges")
    w = np.diff(c)
    if not np.allclose(w, w[0], rtol=1e-6, atol=1e-9):
        raise ConfigError(f"{what}: bin centres are not uniformly spaced; give the edges explicitly")
    return np.concatenate([c - 0.5 * w[0], c[-1:] + 0.5 * w[0]])


def read_binned(path: str | Path, n_axes: int) -> tuple[list[np.ndarray], np.ndarray]:
    """A histogram in the release text format: ``n_axes`` columns of bin centres, then the value.

    Returns
    -------
    edges : list of arrays, one per axis
    values : array of shape (n_1, ..., n_k)

    Raises
    ------
    ConfigError
        On negative or NaN values, missing bins, or a column count that does not match ``n_axes``.
    """
    p = Path(path)
    a = _load_text(p, n_axes + 1)
    if not np.all(np.isfinite(a)):
        raise ConfigError(f"binned file '{p}': NaN or infinite entries")
    if np.any(a[:, -1] < 0):
        row = int(np.nonzero(a[:, -1] < 0)[0][0]) + 1
        raise ConfigError(f"binned file '{p}': negative entry in data row {row} ({a[row - 1, -1]:g})")
    edges = [edges_from_centres(a[:, k], f"binned file '{p}' axis {k + 1}") for k in range(n_axes)]
    shape = tuple(e.size - 1 for e in edges)
    values = np.zeros(shape)
    index = tuple(np.clip(np.searchsorted(e, a[:, k], side="right") - 1, 0, e.size - 2) for k, e in enumerate(edges))
    filled = np.zeros(shape, dtype=int)
    np.add.at(values, index, a[:, -1])
    np.add.at(filled, index, 1)
    if np.any(filled != 1):
        raise ConfigError(f"binned file '{p}': expected one row per bin of a {'x'.join(map(str, shape))} grid")
    return edges, values


def read_root_histogram(path: str | Path, name: str, n_axes: int) -> tuple[list[np.ndarray], np.ndarray]:
    """A ROOT TH1/TH2/TH3 (through uproot): edges per axis and values, checked like :func:`read_binned`."""
    import uproot

    p = Path(path)
    try:
        f = uproot.open(p)
    except Exception as exc:  # uproot raises many types for a bad file
        raise ConfigError(f"ROOT file '{p}': not readable ({type(exc).__name__})") from None
    with f:
        if name not in f:
            raise ConfigError(f"ROOT file '{p}': no histogram '{name}' (has: {', '.join(f.keys())})")
        out = f[name].to_numpy()
    values, edges = np.asarray(out[0], float), [np.asarray(e, float) for e in out[1:]]
    if len(edges) != n_axes:
        raise ConfigError(f"ROOT file '{p}': histogram '{name}' has {len(edges)} axes, the data set has {n_axes}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ConfigError(f"ROOT file '{p}': histogram '{name}' has negative or NaN entries")
    return edges, values


def read_coefficient_sets(path: str | Path) -> list[tuple[float, ...]]:
    """Rows of coefficients of a release text file (CsI 2021 ``effCoefficients.txt``,
    ``scintRespCoefficients.txt``): nominal first, then the systematic variations in file order."""
    a = _load_text(Path(path))
    return [tuple(float(x) for x in row) for row in a]
