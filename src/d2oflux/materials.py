"""Materials: molecular composition -> number of targets per kg for every reaction.

Target species (the ``target`` of :class:`d2oflux.xsec.base.CrossSection`):
``deuteron``, ``proton`` (free hydrogen nuclei, for IBD), ``o16``, ``electron`` and
``nucleus:<Symbol>`` (one per element, for CEvNS).

Atomic masses: the element table :mod:`d2oflux.elements` (IUPAC/CIAAW standard atomic weights (2021),
except the isotopes 1H and 2H: AME2020, M. Wang et al., Chinese Phys. C 45, 030003 (2021)). With
O = 15.9994 u, pure D2O has a molar mass of 20.0276 g/mol as docs/physics.md §4 gives. Oxygen is
counted as 16O, one per oxygen atom (natural oxygen is 99.76 % 16O, CIAAW; the 0.24 % of 17O and 18O
is neglected).
"""

from __future__ import annotations

from dataclasses import dataclass

from .constants import AVOGADRO
from .elements import ELEMENTS, ISOTOPE_ATOMS
from .errors import ConfigError, suggest

#: Molar masses [g/mol] and atomic numbers of the atoms a material is made of (the isotopes 1H and 2H, and
#: every element of :mod:`d2oflux.elements`, which cites the sources).
ATOMS: dict[str, tuple[float, int]] = {
    **ISOTOPE_ATOMS,
    **{sym: (el.atomic_weight, el.Z) for sym, el in ELEMENTS.items()},
}


@dataclass(frozen=True)
class Material:
    """A material as atoms per formula unit.

    Attributes
    ----------
    name : str
        Name used in detector files (``D2O``, ``H2O``, ``acrylic``, ``CsI``, ``NaI``, ``Ar``, ``Ge``).
    atoms : dict
        Atom key of :data:`ATOMS` -> number per formula unit (fractional for isotopic mixtures).
    density_g_cm3 : float
        Density [g/cm^3], used for geometry checks and volumes.
    citation : str
        Source of the density.
    """

    name: str
    atoms: dict[str, float]
    density_g_cm3: float
    citation: str

    @property
    def molar_mass_g(self) -> float:
        """Mass of one mole of formula units [g/mol]."""
        return sum(n * ATOMS[a][0] for a, n in self.atoms.items())

    def targets_per_kg(self) -> dict[str, float]:
        """Number of each target species in one kg of the material."""
        units_per_kg = 1000.0 / self.molar_mass_g * AVOGADRO
        out: dict[str, float] = {}

        def add(key: str, n: float) -> None:
            if n > 0:
                out[key] = out.get(key, 0.0) + n * units_per_kg

        add("electron", sum(n * ATOMS[a][1] for a, n in self.atoms.items()))
        add("deuteron", self.atoms.get("H2", 0.0))
        add("proton", self.atoms.get("H1", 0.0))
        add("o16", self.atoms.get("O", 0.0))
        for atom, n in self.atoms.items():
            if atom not in ("H1", "H2"):
                add(f"nucleus:{atom}", n)
        return out


def material(name: str, deuterium_fraction: float = 0.999) -> Material:
    """Return a material by name.

    Parameters
    ----------
    name : str
        One of :data:`MATERIAL_NAMES`.
    deuterium_fraction : float
        For ``D2O`` only: the fraction of hydrogen atoms that are deuterium. Default 0.999 (99.9 % D,
        a design assumption, docs/physics.md §4); the rest are 1H, which give IBD targets.
    """
    if name == "D2O":
        if not 0.0 <= deuterium_fraction <= 1.0:
            raise ConfigError(f"deuterium_fraction: expected a fraction in [0, 1], got {deuterium_fraction}")
        d = 2.0 * deuterium_fraction
        return Material(
            "D2O",
            {"H2": d, "H1": 2.0 - d, "O": 1.0},
            1.105,
            "heavy water density 1.105 g/cm^3 at 20 C (docs/physics.md §4)",
        )
    try:
        return _FIXED[name]
    except KeyError:
        raise ConfigError(
            f"material '{name}': unknown{suggest(name, MATERIAL_NAMES)}; expected one of {', '.join(MATERIAL_NAMES)}"
        ) from None


_FIXED: dict[str, Material] = {
    "H2O": Material("H2O", {"H1": 2.0, "O": 1.0}, 0.998, "water at 20 C, CRC Handbook"),
    "acrylic": Material(
        "acrylic",
        {"C": 5.0, "O": 2.0, "H1": 8.0},
        1.18,
        "PMMA (C5O2H8)n, 1.18 g/cm^3, PDG atomic & nuclear properties",
    ),
    "CsI": Material("CsI", {"Cs": 1.0, "I": 1.0}, 4.51, "PDG atomic & nuclear properties"),
    "NaI": Material("NaI", {"Na": 1.0, "I": 1.0}, 3.667, "PDG atomic & nuclear properties"),
    "Ar": Material("Ar", {"Ar": 1.0}, 1.396, "liquid argon at 87 K, PDG atomic & nuclear properties"),
    "Ge": Material("Ge", {"Ge": 1.0}, 5.323, "PDG atomic & nuclear properties"),
}

#: Names accepted by :func:`material`.
MATERIAL_NAMES: tuple[str, ...] = ("D2O", *_FIXED)
