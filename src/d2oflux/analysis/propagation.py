"""Carry the measured flux to the CEvNS detectors: predicted counts with today's and the projected uncertainty.

All detectors at one source see the same neutrinos per proton; the flux at each follows from its distance
(1/L^2, known), so the relative flux uncertainty measured in heavy water applies to every CEvNS
prediction directly. Today's uncertainty is the facility's ``nu_per_proton_rel_uncertainty`` (10 %,
COHERENT, arXiv:2109.11049).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..beam import Exposure
from ..detector import load_detector
from ..rates import expect
from ..source import Source


@dataclass
class Propagation:
    """CEvNS prediction of one detector for one SNS-year."""

    detector: str
    distance_m: float
    mass_kg: float
    cevns_interactions_per_year: float
    cevns_detected_per_year: float
    flux_uncertainty_today: float
    flux_uncertainty_projected: float

    @property
    def detected_uncertainty_today(self) -> float:
        return self.cevns_detected_per_year * self.flux_uncertainty_today

    @property
    def detected_uncertainty_projected(self) -> float:
        return self.cevns_detected_per_year * self.flux_uncertainty_projected

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["detected_uncertainty_today"] = self.detected_uncertainty_today
        d["detected_uncertainty_projected"] = self.detected_uncertainty_projected
        return d


def propagate(detectors: list[str], source: Source, projected_rel_uncertainty: float) -> list[Propagation]:
    """Predicted CEvNS counts per SNS-year for each detector, with today's and the projected flux uncertainty."""
    out = []
    for name in detectors:
        det = load_detector(name)
        exposure = Exposure.from_years(source.facility, 1.0)
        res = expect(det, source, exposure)
        cevns = [c for n, c in res.channels.items() if n.startswith("cevns_") and "@" not in n]
        out.append(
            Propagation(
                detector=det.name,
                distance_m=det.distance_m,
                mass_kg=sum(r.mass_kg for r in det.regions),
                cevns_interactions_per_year=sum(c.interactions for c in cevns),
                cevns_detected_per_year=sum(c.detected for c in cevns),
                flux_uncertainty_today=source.facility.nu_per_proton_rel_uncertainty,
                flux_uncertainty_projected=projected_rel_uncertainty,
            )
        )
    return out


def propagation_table(rows: list[Propagation], years: float) -> str:
    """A readable table of :func:`propagate`."""
    lines = [
        f"CEvNS predictions per SNS-year, flux uncertainty today vs after {years:g} SNS-years of D2O data",
        f"{'detector':<10}{'L [m]':>7}{'mass [kg]':>11}{'CEvNS det./yr':>15}{'+- today':>20}{'+- projected':>20}",
    ]
    for r in rows:
        today = f"{r.detected_uncertainty_today:.1f} ({100 * r.flux_uncertainty_today:.1f} %)"
        projected = f"{r.detected_uncertainty_projected:.1f} ({100 * r.flux_uncertainty_projected:.1f} %)"
        lines.append(
            f"{r.detector:<10}{r.distance_m:>7.1f}{r.mass_kg:>11.1f}{r.cevns_detected_per_year:>15.1f}"
            f"{today:>20}{projected:>20}"
        )
    return "\n".join(lines)
