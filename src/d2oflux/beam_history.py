"""Beam-history CSV files: the real running of a facility, period by period.

Columns (header line required, ``#`` comment lines allowed):

``start``, ``end``
    ISO 8601 dates or date-times of the period (``2025-01-01``, ``2025-01-01T06:00`` or
    ``2025-01-01T06:00-05:00``). **Time-zone rule: a date-time without a UTC offset is UTC.** Dates with
    and without offsets may be mixed; all are converted to UTC before periods are compared.
``power_MW`` *or* ``pot``
    Average beam power during the period [MW], or the protons on target delivered.
``proton_energy_GeV``
    Proton kinetic energy [GeV].

Periods must not overlap; powers and POT must be non-negative finite numbers, at most
:data:`MAX_POWER_MW` and :data:`MAX_PERIOD_POT` (plausibility bounds that keep every rate finite).
"""

from __future__ import annotations

import csv
import itertools
import math
from datetime import UTC, datetime
from pathlib import Path

from .errors import ConfigError, read_text_file

#: The columns, for the error messages and ``--help``.
FORMAT = "CSV with header start,end,power_MW|pot,proton_energy_GeV (ISO 8601 dates; no UTC offset = UTC)"
#: Largest accepted average beam power of a period [MW] (the SNS runs at 1.4-2.8 MW).
MAX_POWER_MW = 1.0e3
#: Largest accepted proton energy [GeV].
MAX_PROTON_ENERGY_GEV = 1.0e3
#: Largest accepted protons on target in one period (1e6 SNS-years).
MAX_PERIOD_POT = 1.0e29


def read_beam_history(path: str | Path) -> list[dict]:
    """Read and validate a beam-history CSV; return one dict per period with its ``pot``."""
    text = read_text_file(Path(path), "beam history", FORMAT)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    try:
        return _read_rows(csv.DictReader(lines), path)
    except csv.Error as exc:
        raise ConfigError(f"beam history '{path}': malformed CSV ({exc})") from None


def _read_rows(reader: csv.DictReader, path: str | Path) -> list[dict]:
    from .source import pot_from_beam

    cols = [c.strip() for c in (reader.fieldnames or [])]
    for need in ("start", "end", "proton_energy_GeV"):
        if need not in cols:
            raise ConfigError(f"beam history '{path}': missing column '{need}' (columns: {', '.join(cols)})")
    if ("power_MW" in cols) == ("pot" in cols):
        raise ConfigError(f"beam history '{path}': expected exactly one of the columns 'power_MW' or 'pot'")
    rows = []
    for i, raw in enumerate(reader, start=2):
        row = {k.strip(): (v if isinstance(v, str) else "").strip() for k, v in raw.items() if k is not None}
        start = _date(row["start"], path, i, "start")
        end = _date(row["end"], path, i, "end")
        if end <= start:
            raise ConfigError(f"beam history '{path}' line {i}: 'end' ({end}) is not after 'start' ({start})")
        energy = _number(row["proton_energy_GeV"], path, i, "proton_energy_GeV")
        if not 0 < energy <= MAX_PROTON_ENERGY_GEV:
            raise ConfigError(
                f"beam history '{path}' line {i}: proton_energy_GeV must be in (0, {MAX_PROTON_ENERGY_GEV:g}], "
                f"got {energy}"
            )
        seconds = (end - start).total_seconds()
        if "power_MW" in cols:
            power = _number(row["power_MW"], path, i, "power_MW")
            if not 0 <= power <= MAX_POWER_MW:
                raise ConfigError(
                    f"beam history '{path}' line {i}: {'negative' if power < 0 else 'implausibly large'} "
                    f"power_MW {power} (expected 0 to {MAX_POWER_MW:g} MW)"
                )
            pot = pot_from_beam(power, seconds, energy) if power > 0 else 0.0
        else:
            pot = _number(row["pot"], path, i, "pot")
            if not 0 <= pot <= MAX_PERIOD_POT:
                raise ConfigError(
                    f"beam history '{path}' line {i}: {'negative' if pot < 0 else 'implausibly large'} "
                    f"pot {pot} (expected 0 to {MAX_PERIOD_POT:g})"
                )
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
    """Parse an ISO 8601 date; without a UTC offset it is UTC. Returned time-zone aware, in UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"beam history '{path}' line {line}: '{col}' = {text!r} is not an ISO 8601 date") from None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _number(text: str, path: str | Path, line: int, col: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ConfigError(f"beam history '{path}' line {line}: '{col}' = {text!r} is not a number") from None
    if not math.isfinite(v):
        raise ConfigError(f"beam history '{path}' line {line}: '{col}' = {text!r} is not a finite number")
    return v
