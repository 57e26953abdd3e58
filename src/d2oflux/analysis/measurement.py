"""Fit measured events: the flux normalisation with MINOS errors, nuisance pulls and the fit quality."""

from __future__ import annotations

from scipy import stats

from .events import bin_event_file, with_observations
from .fitter import fit_minuit
from .likelihood import NumpyModel, poisson_deviance
from .model import FREE_PARAMETERS, POI, FluxModel
from .saved import SavedModel


def fit_events(model: FluxModel | SavedModel, path) -> dict:
    """Fit the events in ``path`` with ``model``; return a JSON-ready result.

    Keys: ``flux_norm`` (value, hesse error, minos down/up), ``nu_per_proton`` (value, errors),
    ``flux_at_detector_cm2`` per flavour, ``pulls`` of the constrained nuisances ((fit - 0)/1 with the
    post-fit error), ``free_parameters``, ``fit_quality`` (Poisson deviance to the saturated model, degrees of
    freedom, p-value), ``events`` (used and ignored counts), ``valid`` and ``problems`` (why the fit is not to
    be trusted: minimiser failure, a parameter at a bound, a covariance that is not positive definite).
    """
    observations, info = bin_event_file(model, path)
    ws = with_observations(model.workspace, observations)
    nm = NumpyModel.from_workspace(ws)
    res = fit_minuit(nm, nm.observed)
    i = nm.poi_index
    mu, err = float(res.values[i]), float(res.errors[i])
    down, up = res.poi_minos
    r0 = model.exposure.nu_per_proton
    lam = nm.expected(res.values)[0]
    n = nm.observed
    dev = poisson_deviance(lam, n)
    n_free = sum(1 for p in nm.parameters if p in FREE_PARAMETERS)
    ndf = int(n.size - n_free)
    pulls = {
        p: {"pull": float(res.values[k]), "error": float(res.errors[k])}
        for k, p in enumerate(nm.parameters)
        if nm.constrained[k]
    }
    free = {
        p: {"value": float(res.values[k]), "error": float(res.errors[k])}
        for k, p in enumerate(nm.parameters)
        if not nm.constrained[k] and p != POI
    }
    return {
        "detector": model.detector_name,
        "exposure": {"pot": model.exposure.pot, "years": model.exposure.years},
        "valid": res.valid,
        "problems": list(res.problems),
        "flux_norm": {"value": mu, "error": err, "minos_down": down, "minos_up": up},
        "nu_per_proton": {
            "value": mu * r0,
            "error": err * r0,
            "minos_down": down * r0,
            "minos_up": up * r0,
            "nominal": r0,
        },
        "flux_at_detector_cm2": {f: {"value": mu * v, "error": err * v} for f, v in model.fluence_per_cm2.items()},
        "pulls": pulls,
        "free_parameters": free,
        "fit_quality": {"deviance": float(dev), "ndf": ndf, "p_value": float(stats.chi2.sf(dev, ndf))},
        "events": info,
    }


def fit_table(result: dict) -> str:
    """A readable summary of :func:`fit_events`."""
    f = result["flux_norm"]
    r = result["nu_per_proton"]
    q = result["fit_quality"]
    lines = [
        f"detector {result['detector']}: {result['exposure']['years']:.4g} SNS-years; events used "
        f"{result['events']['used_on']} on-beam, {result['events']['used_off']} off-beam, "
        f"{result['events']['ignored']} outside the window",
        f"flux normalisation  {f['value']:.4f}  -{f['minos_down']:.4f} +{f['minos_up']:.4f}  "
        f"(MINOS; HESSE +-{f['error']:.4f})",
        f"neutrinos/proton/flavour  {r['value']:.5f}  -{r['minos_down']:.5f} +{r['minos_up']:.5f}  "
        f"(nominal {r['nominal']})",
    ]
    for flav, v in result["flux_at_detector_cm2"].items():
        lines.append(f"fluence {flav:<11} {v['value']:.4e} +- {v['error']:.2e} nu/cm^2")
    lines.append("nuisance pulls (fit value / prior width 1, with post-fit error):")
    for p, v in result["pulls"].items():
        lines.append(f"  {p:<22} {v['pull']:+.3f} +- {v['error']:.3f}")
    for p, v in result["free_parameters"].items():
        lines.append(f"  {p:<22} {v['value']:.4f} +- {v['error']:.4f} (free)")
    lines.append(f"fit quality: deviance {q['deviance']:.1f} for {q['ndf']} degrees of freedom, p = {q['p_value']:.3f}")
    if not result["valid"]:
        lines.append("FIT INVALID: " + "; ".join(result["problems"]))
    return "\n".join(lines)
