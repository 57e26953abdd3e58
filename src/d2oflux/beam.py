"""The beam: facility presets, the normalisation from beam power, exposures and beam-history files.

* A :class:`Facility` (a preset TOML: power, proton energy, repetition rate, neutrinos per proton, POT profile).
* Protons on target ``N_POT = P t / (E_p e)`` (:func:`pot_from_beam`); one COHERENT SNS-year is 5000 h at
  1.4 MW and 1.0 GeV (:data:`POT_PER_SNS_YEAR`).
* An :class:`Exposure`: POT and the neutrinos per flavour they made, from years, POT or a beam history.
* Beam-history CSV files (:func:`read_beam_history`), the real running period by period:

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

Units: power in MW, proton energy in GeV (as the facility presets state), time in s.
"""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field, field_validator

from . import constants as c
from .config import StrictModel, parse_toml, read_preset_text, validate
from .errors import ConfigError, read_text_file, require_non_negative, require_positive
from .formats import BEAM_HISTORY
from .timing import TimingModel


# ------------------------------------------------------------------------------------------------
# Facilities
# ------------------------------------------------------------------------------------------------
class Facility(StrictModel):
    """A spallation source: beam power, proton energy and neutrino yield (a preset TOML file)."""

    name: str
    description: str = ""
    # plausibility bounds (far outside any spallation source; they keep every rate finite)
    power_MW: float = Field(gt=0, le=1e3)
    proton_energy_GeV: float = Field(gt=0, le=1e3)
    repetition_rate_Hz: float = Field(gt=0, le=1e6)
    hours_per_year: float = Field(default=c.SNS_YEAR_HOURS, gt=0, le=8784.0)
    nu_per_proton: float | None = Field(default=None, gt=0, le=10.0)
    nu_per_proton_rel_uncertainty: float = Field(default=0.10, ge=0, le=10.0)
    #: Where ``nu_per_proton`` comes from (a citation, or "assumption: <reason>"); shown in the report.
    nu_per_proton_source: str = ""
    yield_valid_GeV: tuple[float, float] = (0.0, 1e3)
    pot_mean_ns: float = Field(default=440.0, ge=-1e6, le=1e6)
    pot_sigma_ns: float = Field(default=150.0, gt=0, le=1e6)

    @field_validator("yield_valid_GeV")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not v[0] < v[1]:
            raise ValueError("expected [low, high] with low < high")
        return v

    @property
    def pot_per_year(self) -> float:
        """Protons on target in one facility-year (``hours_per_year`` at nominal power and energy)."""
        return pot_from_beam(self.power_MW, self.hours_per_year * c.SECONDS_PER_HOUR, self.proton_energy_GeV)

    def yield_at(self, proton_energy_GeV: float) -> float:
        """Neutrinos per proton per flavour at ``proton_energy_GeV``; errors where it is not known."""
        if self.nu_per_proton is None:
            raise ConfigError(
                f"facility '{self.name}': the neutrino yield per proton at {self.proton_energy_GeV} GeV is not "
                "published; give it with --nu-per-proton (or nu_per_proton in the facility TOML)"
            )
        lo, hi = self.yield_valid_GeV
        if not lo <= proton_energy_GeV <= hi:
            raise ConfigError(
                f"proton_energy_GeV = {proton_energy_GeV}: outside [{lo}, {hi}] GeV where facility "
                f"'{self.name}' nu_per_proton = {self.nu_per_proton} is valid"
            )
        return self.nu_per_proton

    def timing(self) -> TimingModel:
        """The arrival-time model with this facility's POT profile."""
        return TimingModel(pot_mean_ns=self.pot_mean_ns, pot_sigma_ns=self.pot_sigma_ns)


def load_facility(name_or_path: str | Path = "sns-fts", **overrides: float) -> Facility:
    """Load a facility preset (``sns-fts``, ``sns-fts-ppu``, ``sns-sts``) or a TOML file.

    Keyword ``overrides`` replace preset values, e.g. ``nu_per_proton=0.1``.
    """
    label, text = read_preset_text("facilities", name_or_path)
    data = parse_toml(label, text)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return validate(Facility, data, f"facility '{label}'")


def pot_from_beam(power_MW: float, seconds: float, proton_energy_GeV: float) -> float:
    """Protons on target ``N = P t / (E_p e)`` for power [MW], time [s], proton kinetic energy [GeV].

    Raises :class:`ConfigError` for a negative or non-finite power or time, or a proton energy that is not > 0.
    """
    require_non_negative(power_MW, "power_MW", "MW")
    require_non_negative(seconds, "seconds", "s")
    require_positive(proton_energy_GeV, "proton_energy_GeV", "GeV")
    return power_MW * 1e6 * seconds / (proton_energy_GeV * 1e9 * c.ELEMENTARY_CHARGE_C)


#: Protons on target in one COHERENT SNS-year (5000 h at 1.4 MW and 1.0 GeV): 1.573e23.
POT_PER_SNS_YEAR = pot_from_beam(
    c.SNS_YEAR_POWER_MW, c.SNS_YEAR_HOURS * c.SECONDS_PER_HOUR, c.SNS_YEAR_PROTON_ENERGY_GEV
)


# ------------------------------------------------------------------------------------------------
# Exposure
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exposure:
    """Protons on target and the neutrinos per flavour they made.

    Attributes
    ----------
    pot : float
        Protons on target.
    neutrinos_per_flavour : float
        Sum over running periods of (neutrinos per proton per flavour) x POT.
    years : float
        The exposure in facility-years (SNS-years for ``sns-fts``).
    periods : tuple
        The beam-history rows it came from, if any.
    """

    pot: float
    neutrinos_per_flavour: float
    years: float
    periods: tuple[dict, ...] = field(default=())

    @property
    def nu_per_proton(self) -> float:
        """POT-weighted mean neutrinos per proton per flavour."""
        return self.neutrinos_per_flavour / self.pot

    @classmethod
    def from_years(cls, facility: Facility, years: float) -> Exposure:
        """``years`` of running at the facility's nominal power and energy."""
        years = require_positive(years, "years")
        pot = years * facility.pot_per_year
        return cls(pot, pot * facility.yield_at(facility.proton_energy_GeV), years)

    @classmethod
    def from_pot(cls, facility: Facility, pot: float) -> Exposure:
        """A number of protons on target at the facility's nominal proton energy."""
        pot = require_positive(pot, "pot")
        return cls(pot, pot * facility.yield_at(facility.proton_energy_GeV), pot / facility.pot_per_year)

    @classmethod
    def from_beam_history(cls, facility: Facility, path: str | Path) -> Exposure:
        """Sum a beam-history CSV (see :func:`read_beam_history`)."""
        rows = read_beam_history(path)
        pot = sum(r["pot"] for r in rows)
        nus = sum(r["pot"] * facility.yield_at(r["proton_energy_GeV"]) for r in rows)
        return cls(pot, nus, pot / facility.pot_per_year, tuple(rows))


# ------------------------------------------------------------------------------------------------
# Beam-history files
# ------------------------------------------------------------------------------------------------
#: Largest accepted average beam power of a period [MW] (the SNS runs at 1.4-2.8 MW).
MAX_POWER_MW = 1.0e3
#: Largest accepted proton energy [GeV].
MAX_PROTON_ENERGY_GEV = 1.0e3
#: Largest accepted protons on target in one period (1e6 SNS-years).
MAX_PERIOD_POT = 1.0e29


def read_beam_history(path: str | Path) -> list[dict]:
    """Read and validate a beam-history CSV; return one dict per period with its ``pot``."""
    text = read_text_file(Path(path), "beam history", BEAM_HISTORY.help())
    kept = [(n, ln) for n, ln in enumerate(text.splitlines(), 1) if ln.strip() and not ln.startswith("#")]
    file_line = [n for n, _ in kept]  # the file's line number of each kept line, for the messages
    try:
        return _read_rows(csv.DictReader(ln for _, ln in kept), path, file_line)
    except csv.Error as exc:
        raise ConfigError(f"beam history '{path}': malformed CSV ({exc})") from None


def _read_rows(reader: csv.DictReader, path: str | Path, file_line: list[int]) -> list[dict]:
    cols = [c.strip() for c in (reader.fieldnames or [])]
    for need in ("start", "end", "proton_energy_GeV"):
        if need not in cols:
            raise ConfigError(f"beam history '{path}': missing column '{need}' (columns: {', '.join(cols)})")
    if ("power_MW" in cols) == ("pot" in cols):
        raise ConfigError(f"beam history '{path}': expected exactly one of the columns 'power_MW' or 'pot'")
    rows = []
    for raw in reader:
        i = file_line[reader.line_num - 1]
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
            power = pot / pot_from_beam(1.0, seconds, energy)  # the period's average power [MW]
            if power > MAX_POWER_MW:
                raise ConfigError(
                    f"beam history '{path}' line {i}: pot {pot:g} in {seconds:g} s at {energy:g} GeV is an average "
                    f"power of {power:.3g} MW (expected at most {MAX_POWER_MW:g} MW); check 'pot' and the dates"
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
