"""The columns of every tabular input file, in one place: the readers check against these and the
``--help`` texts and README are written from them, so the documentation cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of a tabular file.

    Attributes
    ----------
    name : str
        Header name, exactly as it must appear.
    meaning : str
        What it holds, with its unit.
    required : bool
        Whether the column must be present.
    alternative_to : str
        Name of another column this one may replace (exactly one of the two must be present).
    """

    name: str
    meaning: str
    required: bool = True
    alternative_to: str = ""


@dataclass(frozen=True)
class TableFormat:
    """A CSV (or parquet) layout: a header line naming the columns, then one row per record."""

    what: str
    columns: tuple[Column, ...]
    notes: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required and not c.alternative_to)

    def header(self) -> str:
        """A compact header such as ``start,end,power_MW|pot,proton_energy_GeV`` (``[x]`` = optional)."""
        parts: list[str] = []
        for c in self.columns:
            if c.alternative_to:
                parts[-1] = f"{parts[-1]}|{c.name}"
            elif c.required:
                parts.append(c.name)
            else:
                parts.append(f"[{c.name}]")
        return ",".join(parts).replace(",[", "[,")

    def help(self) -> str:
        """One paragraph for ``--help``: the header, then each column's meaning."""
        cols = "; ".join(f"{c.name}: {c.meaning}" for c in self.columns)
        return f"{self.what}, header {self.header()} ({cols}){'. ' + self.notes if self.notes else ''}"


FLUX_FILE = TableFormat(
    "CSV of dN/dE per flavour",
    (
        Column("E_MeV", "neutrino energy [MeV], strictly increasing, 0 to 100"),
        Column("nu_mu", "dN/dE, any unit (normalised over the table)"),
        Column("nu_e", "dN/dE"),
        Column("anti_nu_mu", "dN/dE"),
        Column("anti_nu_e", "dN/dE of the mu- DAR contamination; if absent it keeps the analytic shape", False),
    ),
    "'#' lines are comments",
)

BEAM_HISTORY = TableFormat(
    "CSV of running periods",
    (
        Column("start", "ISO 8601 date or date-time; without a UTC offset it is UTC"),
        Column("end", "ISO 8601, after start; periods must not overlap"),
        Column("power_MW", "average beam power [MW]"),
        Column("pot", "protons on target", alternative_to="power_MW"),
        Column("proton_energy_GeV", "proton kinetic energy [GeV]"),
    ),
    "'#' lines are comments",
)

EVENT_FILE = TableFormat(
    "CSV or parquet, one row per event",
    (
        Column("energy_MeV", "reconstructed energy [MeV]"),
        Column("time_ns", "time since the proton pulse (on) or the off-beam window start (off) [ns], >= 0"),
        Column("window", "'on' (beam window) or 'off' (off-beam sideband)"),
    ),
    "exactly these columns; '#' lines are comments",
)

RESPONSE_CSV = TableFormat(
    "CSV, one row per matrix element",
    (
        Column("visible_lo_MeV", "lower edge of the visible-energy bin [MeV]"),
        Column("visible_hi_MeV", "its upper edge (the next bin's lower edge)"),
        Column("reco_lo_MeV", "lower edge of the reconstructed-energy bin [MeV]"),
        Column("reco_hi_MeV", "its upper edge"),
        Column("probability", "P(reco bin | visible bin), rows summing to at most 1"),
        Column("efficiency", "detection efficiency of the visible bin, in [0, 1]", False),
    ),
    "'#' lines are comments",
)
