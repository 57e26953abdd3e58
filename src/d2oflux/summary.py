"""Plain-data summaries of results (for ``--json`` and reports) and their readable tables."""

from __future__ import annotations

from .rates import Expectation


def rates_summary(result: Expectation) -> dict:
    """The ``d2oflux rates --json`` object: detector, exposure, fluence per flavour, channel totals."""
    return {
        "detector": result.detector.name,
        "exposure": {"pot": result.exposure.pot, "years": result.exposure.years},
        "flux_per_flavour_cm2": dict(result.fluence_per_cm2),
        "channels": result.totals(),
    }


def rates_table(summary: dict) -> str:
    """A readable table of :func:`rates_summary`."""
    exp = summary["exposure"]
    lines = [
        f"detector {summary['detector']}: {exp['years']:.4g} SNS-years, {exp['pot']:.4g} POT",
        "fluence per flavour [nu/cm^2]: "
        + ", ".join(f"{k} {v:.4g}" for k, v in summary["flux_per_flavour_cm2"].items()),
        "",
        f"{'channel':<26}{'interactions':>14}{'detected':>14}",
        "-" * 54,
    ]
    for name, c in summary["channels"].items():
        lines.append(f"{name:<26}{c['interactions']:>14.4g}{c['detected']:>14.4g}")
    lines.append("detected = after efficiency, smearing and the analysis window (energy x time since POT)")
    return "\n".join(lines)
