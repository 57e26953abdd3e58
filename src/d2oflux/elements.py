"""The one element table: atomic number, standard atomic weight and natural isotopic composition.

Used by :mod:`d2oflux.materials` (atoms per kg of a material) and :mod:`d2oflux.xsec.cevns` (the target
nuclei of CEvNS, one ``cevns_<Symbol>`` channel per entry).

Sources
-------
* Standard atomic weights [g/mol]: IUPAC/CIAAW standard atomic weights (2021); O = 15.9994 u, with which
  pure D2O has the molar mass 20.0276 g/mol (docs/physics.md §4). Xe: 131.293 (CIAAW 2021).
* The isotopes 1H and 2H: AME2020 atomic masses, M. Wang et al., Chinese Phys. C 45, 030003 (2021).
* Natural isotopic compositions: IUPAC/CIAAW 2013 representative isotopic compositions, J. Meija et al.,
  Pure Appl. Chem. 88, 293 (2016). Argon is atmospheric argon.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Element:
    """A chemical element as found in nature.

    Attributes
    ----------
    symbol : str
    Z : int
        Atomic number.
    atomic_weight : float
        Standard atomic weight [g/mol].
    abundances : tuple of (int, float)
        ``(A, fraction)`` per stable isotope; fractions sum to 1.
    """

    symbol: str
    Z: int
    atomic_weight: float
    abundances: tuple[tuple[int, float], ...]


#: Elements, in the order of the CEvNS channels (their NuHepMC process IDs follow this order).
ELEMENTS: dict[str, Element] = {
    e.symbol: e
    for e in (
        Element("Na", 11, 22.98976928, ((23, 1.0),)),
        Element("I", 53, 126.90447, ((127, 1.0),)),
        Element("Cs", 55, 132.90545196, ((133, 1.0),)),
        Element("Ar", 18, 39.948, ((36, 0.003336), (38, 0.000629), (40, 0.996035))),
        Element("Ge", 32, 72.630, ((70, 0.2052), (72, 0.2745), (73, 0.0776), (74, 0.3652), (76, 0.0775))),
        Element("O", 8, 15.9994, ((16, 0.99757), (17, 0.00038), (18, 0.00205))),
        Element("C", 6, 12.011, ((12, 0.9893), (13, 0.0107))),
        Element(
            "Xe",
            54,
            131.293,
            (
                (124, 0.000952),
                (126, 0.000890),
                (128, 0.019102),
                (129, 0.264006),
                (130, 0.040710),
                (131, 0.212324),
                (132, 0.269086),
                (134, 0.104357),
                (136, 0.088573),
            ),
        ),
    )
}

#: Single isotopes that materials count as atoms of their own: symbol -> (atomic mass [g/mol], Z) (AME2020).
ISOTOPE_ATOMS: dict[str, tuple[float, int]] = {
    "H1": (1.00782503, 1),
    "H2": (2.01410178, 1),  # deuterium
}

#: Pure isotopes tabulated as CEvNS targets of their own: symbol -> (element, A).
PURE_ISOTOPES: dict[str, tuple[str, int]] = {
    "Na23": ("Na", 23),
    "I127": ("I", 127),
    "Cs133": ("Cs", 133),
    "Ar40": ("Ar", 40),
    "O16": ("O", 16),
}
