"""Beam-history CSV files: the real running of a facility, period by period.

Columns (header line required, ``#`` comment lines allowed):

``start``, ``end``
    ISO 8601 dates or date-times of the period (``2025-01-01`` or ``2025-01-01T06:00``).
``power_MW`` *or* ``pot``
    Average beam power during the period [MW], or the protons on target delivered.
``proton_energy_GeV``
    Proton kinetic energy [GeV].

Periods must not overlap; powers and POT must be non-negative numbers.
"""

from __future__ import annotations

import csv
import itertools
import math
from datetime import datetime
from pathlib import Path

from .errors import ConfigError


def read_beam_history(path: str | Path) -> list[dict]:
    """Read and validate a beam-history CSV; return one dict per period with its ``pot``."""
    from .source import pot_from_beam

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"beam history '{path}' does not exist")
    lines = [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    reader = csv.DictReader(lines)
    cols = [c.strip() for c in (reader.fieldnames or [])]
    for need in ("start", "end", "proton_energy_GeV"):
        if need not in cols:
            raise ConfigError(f"beam history '{path}': missing column '{need}' (columns: {', '.join(cols)})")
    if ("power_MW" in cols) == ("pot" in cols):
        raise ConfigError(f"beam history '{path}': expected exactly one of the columns 'power_MW' or 'pot'")
    rows = []
    for i, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        start = _date(row["start"], path, i, "start")
        end = _date(row["end"], path, i, "end")
        if end <= start:
            raise ConfigError(f"beam history '{path}' line {i}: 'end' ({end}) is not after 'start' ({start})")
        energy = _number(row["proton_energy_GeV"], path, i, "proton_energy_GeV")
        if energy <= 0:
            raise ConfigError(f"beam history '{path}' line {i}: proton_energy_GeV must be > 0, got {energy}")
        seconds = (end - start).total_seconds()
        if "power_MW" in cols:
            power = _number(row["power_MW"], path, i, "power_MW")
            if power < 0:
                raise ConfigError(f"beam history '{path}' line {i}: negative power_MW {power}")
            pot = pot_from_beam(power, seconds, energy) if power > 0 else 0.0
        else:
            pot = _number(row["pot"], path, i, "pot")
            if pot < 0:
                raise ConfigError(f"beam history '{path}' line {i}: negative pot {pot}")
        rows.append({"start": start.isoformat(), "end": end.isoformat(), "proton_energy_GeV": energy, "pot": pot})
        rows[-1]["_start"], rows[-1]["_end"] = start, end
    if not rows:
        raise ConfigError(f"beam history '{path}': no periods")
    ordered = sorted(rows, key=lambda r: r["_start"])
    for a, b in itertools.pairwise(ordered):
        if b["_start"] < a["_end"]:
            raise ConfigError(
                f"beam history '{path}': periods {a['start']}..{a['end']} and {b['start']}..{b['end']} overlap"
            )
    if sum(r["pot"] for r in rows) <= 0:
        raise ConfigError(f"beam history '{path}': total protons on target is zero")
    for r in rows:
        del r["_start"], r["_end"]
    return rows


def _date(text: str, path: str | Path, line: int, col: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"beam history '{path}' line {line}: '{col}' = {text!r} is not an ISO 8601 date") from None


def _number(text: str, path: str | Path, line: int, col: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ConfigError(f"beam history '{path}' line {line}: '{col}' = {text!r} is not a number") from None
    if not math.isfinite(v):
        raise ConfigError(f"beam history '{path}' line {line}: '{col}' = {text!r} is not a finite number")
    return v
