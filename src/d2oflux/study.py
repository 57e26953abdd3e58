"""The sensitivity study: Asimov projections, impacts, events per year and CEvNS propagation together."""

from __future__ import annotations

from .analysis.model import FluxModel
from .analysis.propagation import propagate
from .analysis.saved import SavedModel
from .analysis.sensitivity import REFERENCES, sensitivity


def sensitivity_study(
    model: FluxModel | SavedModel, years: list[float], cevns_detectors: list[str]
) -> tuple[dict, list]:
    """The ``d2oflux sensitivity --json`` object, and the propagation rows (for tables and plots)."""
    sens = sensitivity(model, years)
    rows = propagate(cevns_detectors, model.source, sens.total[sens.years.index(max(sens.years))])
    out = {
        "detector": model.detector_name,
        "years": sens.years,
        "stat_only": sens.stat_only,
        "stat_all_nuisances_fixed": sens.stat_all_nuisances_fixed,
        "stat_signal_only": sens.stat_signal_only,
        "total": sens.total,
        "systematics_profile": model.systematics_profile,
        "radiative_corrections": model.radiative_corrections,
        "references": REFERENCES,
        "impacts": sens.impacts,
        "events": sens.events_per_year,
        "propagation": {r.detector: r.to_dict() for r in rows},
    }
    return out, rows


def sensitivity_table(result: dict) -> str:
    """A readable table of the sensitivity study."""
    lines = [
        f"detector {result['detector']}: relative flux-normalisation uncertainty (Asimov)",
        f"systematics profile: {result.get('systematics_profile', 'default')}",
        f"{'SNS-years':>10}{'stat, all nuisances fixed':>27}{'signal stat only':>18}{'total':>10}",
    ]
    sig = result.get("stat_signal_only") or [float("nan")] * len(result["years"])
    for y, s, g, t in zip(result["years"], result["stat_only"], sig, result["total"], strict=True):
        lines.append(f"{y:>10g}{100 * s:>26.2f}%{100 * g:>17.2f}%{100 * t:>9.2f}%")
    lines.append("  (signal stat only: every background normalisation free)")
    for ref in result.get("references", []):
        lines.append(f"  reference: {ref['source']}: {ref['text']}")
    lines.append("")
    lines.append(f"impacts at {max(result['years']):g} SNS-years (quadrature difference when the nuisance is fixed):")
    for k, v in result["impacts"].items():
        lines.append(f"  {k:<22}{100 * v:>7.2f}%")
    lines.append("")
    lines.append("expected events per SNS-year in the analysis window:")
    for k, v in sorted(result["events"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {k:<22}{v:>10.2f}")
    return "\n".join(lines)
